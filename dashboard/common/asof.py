"""Historical views of the pages (`?as_of=<ISO datetime>`, `?week=2026-W47`; issue #10): the moment
a page's query names, the banner that says the page is historical, and the guard that answers a
bad moment with 400 and a notice before any page is drawn.

A historical page reads data.read.history instead of the live read layer and has no refresh
interval. Links between pages keep the moment (`keep`), so a click on a grid of last week's wall
opens last week's grid.
"""

from __future__ import annotations

import html as html_text
import logging
from urllib.parse import urlsplit

from dash import dcc, html
from flask import Flask, request

from dashboard.labels import current_locale, t
from data.history import BadMoment, Moment, moment_from_query

log = logging.getLogger(__name__)

BANNER, STORE = "gcc-history-banner", "gcc-history-moment"
PARAMS = ("as_of", "week")
# Page paths that take a moment (the Dash pages of the wall and the drill-down).
PAGE_PREFIXES = ("/screen", "/district", "/street/", "/community/", "/grid/")


def moment_of(query: dict, tz: str) -> Moment | None:
    """The moment of a page's query, None for the live page; BadMoment for a bad value."""
    return moment_from_query({k: query.get(k) for k in PARAMS}, tz)


def to_store(moment: Moment | None) -> dict | None:
    """What a page keeps in its `STORE` for its callbacks (which see no query string)."""
    if moment is None:
        return None
    return {"week": moment.week} if moment.week else {"as_of": moment.at.isoformat()}


def from_store(data, tz: str) -> Moment | None:
    """The moment a callback got back from the page's STORE (checked again: it came from a browser)."""
    if not isinstance(data, dict):
        return None
    try:
        return moment_of({k: data.get(k) for k in PARAMS if isinstance(data.get(k), str)}, tz)
    except BadMoment:
        return None


def keep(href: str, moment: Moment | None) -> str:
    """`href` with the moment's query added, so a link stays in the same moment."""
    if moment is None:
        return href
    return href + ("&" if "?" in href else "?") + moment.query()


def banner(moment: Moment, tz: str, live_href: str) -> html.Div:
    return html.Div(
        [
            html.Strong(t("history.banner", moment=moment.label(tz, current_locale())), className="history-title"),
            html.Span(t("history.note"), className="history-note"),
            dcc.Link(t("history.live"), href=live_href, className="history-live"),
        ],
        id=BANNER,
        className="history-banner",
        role="status",
        **{"data-moment": moment.at.isoformat(), "data-week": moment.week or ""},
    )


def reason_text(exc: BadMoment) -> str:
    """The refusal in the page's language: 历史视图参数无效：week=2026-W99：该年没有这一周."""
    return t("history.bad", detail=t(f"history.bad_{exc.reason}", value=exc.value))


def notice(exc: BadMoment, live_href: str) -> html.Div:
    """The page body for a bad moment reached by client-side navigation (no HTTP status there)."""
    return html.Div(
        [
            html.P(reason_text(exc), className="page-notice"),
            dcc.Link(t("history.live"), href=live_href),
        ],
        id=BANNER,
        className="page page-error history-bad",
    )


def install(server: Flask) -> None:
    """A bad `as_of`/`week` on a page's URL: 400 with a short notice, before Dash draws anything.
    Runs after the access guard (a stranger learns nothing from the status)."""

    @server.before_request
    def _check_moment():
        if request.method not in ("GET", "HEAD") or not any(request.args.get(p) is not None for p in PARAMS):
            return None
        if not request.path.startswith(PAGE_PREFIXES):
            return None
        tz = server.extensions["gcc_settings"].gcc_timezone
        try:
            moment_of({p: request.args.get(p) for p in PARAMS}, tz)
        except BadMoment as exc:
            live = urlsplit(request.path).path
            body = (
                '<!doctype html><html lang="zh"><meta charset="utf-8"><title>400</title>'
                f'<body><p id="{BANNER}">{html_text.escape(reason_text(exc))}</p>'
                f'<p><a href="{html_text.escape(live)}">{html_text.escape(t("history.live"))}</a></p></body></html>'
            )
            return body, 400, {"Content-Type": "text/html; charset=utf-8"}
        return None
