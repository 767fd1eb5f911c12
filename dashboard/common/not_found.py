"""A real 404 for what is no page (issue #9): Dash serves its page shell for every path and lets
the browser show "not found", with status 200. After the guard has let a page request through,
this sets the status to 404 when the path matches no page, names a region (/grid/<code>,
/community/<code>, /street/<code>) that does not exist, is of another level or is outside the
viewer's area, or a ticket (/ticket/<id>, /desk/<id>) that does not exist or is not the viewer's.
The body stays the usual page shell, which shows the not-found panel
(dashboard/pages/not_found_404.py) or the page's own not-found message."""

from __future__ import annotations

import dash
from dash import _pages
from flask import redirect, request

from dashboard.common.context import reader
from dashboard.common.inputs import parse_id
from dashboard.viewer import current_viewer
from data.access import AccessDenied
from data.read.scope import visible_region
from data.read.ticket_records import ticket_record

PAGE_RULES = ("/", "/<path:path>")  # Dash's page shell
REGION_PAGES = {"/grid/<code>": "grid", "/community/<code>": "community", "/street/<code>": "street"}
TICKET_PAGES = ("/ticket/<ticket_id>", "/desk/<ticket_id>")


def install(app: dash.Dash) -> None:
    favicon = app.get_relative_path("/_favicon.ico")

    @app.server.after_request
    def _real_404(response):
        if (
            response.status_code == 200
            and request.method in ("GET", "HEAD")
            and request.url_rule is not None
            and request.url_rule.rule in PAGE_RULES
        ):
            if request.path == "/favicon.ico":  # browsers ask for it on pages without an icon link
                return redirect(favicon, 301)
            if not found(app, request.path):
                response.status_code = 404
        return response


def found(app: dash.Dash, pathname: str) -> bool:
    """Is there a page at this path for the current viewer?"""
    page, variables = _pages._path_to_page(app.strip_relative_path(pathname) or "")
    if not page or page.get("module", "").endswith("not_found_404"):
        return False
    template = page.get("path_template") or ""
    variables = variables or {}
    try:
        if template in REGION_PAGES:
            with reader() as session:
                region = visible_region(session, current_viewer(), (variables.get("code") or "")[:64])
                return region.level == REGION_PAGES[template]
        if template in TICKET_PAGES:
            number = parse_id(variables.get("ticket_id") or "")
            if number is None:
                return False
            with reader() as session:
                ticket_record(session, current_viewer(), number, detail=False)
    except AccessDenied:  # NotVisible included: no such thing, or not in the viewer's area
        return False
    return True
