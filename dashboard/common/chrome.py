"""The frame of the desk, drill-down and ticket pages: a slim top bar (no chrome on the wall) with
the places this viewer may go, a breadcrumb, and the page body."""

from __future__ import annotations

from dash import dcc, html

from dashboard.labels import role_label, t
from data.access import Viewer
from data.read.directory import RegionInfo

LEVEL_PATH = {
    "district": "/district",
    "street": "/street/{code}",
    "community": "/community/{code}",
    "grid": "/grid/{code}",
}


def region_href(region: RegionInfo) -> str:
    return LEVEL_PATH[region.level].format(code=region.code)


def topbar(viewer: Viewer) -> html.Nav:
    links = []
    if viewer.can("aggregates"):
        links.append(dcc.Link(t("home.screen"), href="/screen", className="nav-link"))
    if viewer.can("drilldown"):
        links.append(dcc.Link(t("level.district"), href="/district", className="nav-link"))
    if viewer.can("desk"):
        links.append(dcc.Link(t("home.desk"), href="/desk", className="nav-link"))
    if viewer.can("users"):
        links.append(dcc.Link(t("home.users"), href="/users", className="nav-link"))
    if viewer.can("audit"):
        links.append(dcc.Link(t("home.audit"), href="/audit", className="nav-link"))
    if viewer.can("export") and viewer.region_id is None and viewer.organisation_id is None:
        links.append(dcc.Link(t("reports.nav"), href="/reports", className="nav-link"))
    who = viewer.name or role_label(viewer.role)
    return html.Nav(
        [
            dcc.Link(t("app.title"), href="/", className="nav-brand"),
            html.Div(links, className="nav-links"),
            html.Div(
                [html.Span(who, className="nav-who"), html.A(t("home.logout"), href="/logout", className="nav-link")],
                className="nav-user",
            ),
        ],
        className="topbar",
    )


def breadcrumb(chain: list[RegionInfo], tail: str | None = None, *, query: str = "") -> html.Nav:
    """`query`: appended to each link (a historical view keeps its moment, issue #10)."""
    items: list = []
    for i, region in enumerate(chain):
        last = i == len(chain) - 1 and tail is None
        label = region.name
        link = dcc.Link(label, href=region_href(region) + query) if not last else None
        items.append(html.Span(label, className="crumb-current") if last else link)
        if not last:
            items.append(html.Span("›", className="crumb-sep"))
    if tail:
        items.append(html.Span(tail, className="crumb-current"))
    return html.Nav(items, className="breadcrumb", **{"aria-label": "breadcrumb"})


def shell(viewer: Viewer, body: list, *, page_class: str = "") -> html.Div:
    return html.Div([topbar(viewer), html.Main(body, className="page-main")], className=f"page {page_class}".strip())


def card(title: str, children, *, class_name: str = "") -> html.Section:
    return html.Section(
        [html.H2(title, className="card-title"), html.Div(children, className="card-body")],
        className=f"card {class_name}".strip(),
    )
