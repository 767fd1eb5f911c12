"""A real 404 for what is no page (issue #9): Dash serves its page shell for every path and lets
the browser show "not found", with status 200. After the guard has let a page request through,
this sets the status to 404 when the path matches no page, or names a region (/grid/<code>,
/community/<code>, /street/<code>) that does not exist, is of another level or is outside the
viewer's area. The body stays the usual page shell, which shows the not-found panel
(dashboard/pages/not_found_404.py) or the page's own not-found message."""

from __future__ import annotations

import dash
from dash import _pages
from flask import request

from dashboard.common.context import reader
from dashboard.viewer import current_viewer
from data.access import AccessDenied
from data.read.scope import visible_region

PAGE_RULES = ("/", "/<path:path>")  # Dash's page shell
REGION_PAGES = {"/grid/<code>": "grid", "/community/<code>": "community", "/street/<code>": "street"}


def install(app: dash.Dash) -> None:
    @app.server.after_request
    def _real_404(response):
        if (
            response.status_code == 200
            and request.method in ("GET", "HEAD")
            and request.url_rule is not None
            and request.url_rule.rule in PAGE_RULES
            and not found(app, request.path)
        ):
            response.status_code = 404
        return response


def found(app: dash.Dash, pathname: str) -> bool:
    """Is there a page at this path for the current viewer?"""
    page, variables = _pages._path_to_page(app.strip_relative_path(pathname) or "")
    if not page or page.get("module", "").endswith("not_found_404"):
        return False
    level = REGION_PAGES.get(page.get("path_template") or "")
    if level is None:
        return True
    code = (variables or {}).get("code") or ""
    try:
        with reader() as session:
            return visible_region(session, current_viewer(), code[:64]).level == level
    except AccessDenied:
        return False
