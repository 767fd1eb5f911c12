"""The start page: a kiosk gets the wall; staff get tiles for the screen, the desk and their area."""

from __future__ import annotations

from dash import dcc, html

from dashboard import screen
from dashboard.common.access import refusal_panel
from dashboard.common.context import reader
from dashboard.labels import role_label, t
from data.access import Viewer
from data.read.directory import directory


def layout(viewer: Viewer, **query):
    if viewer.role == "kiosk":
        return screen.layout(viewer, **query)
    if not viewer.is_authenticated or viewer.role == "resident":
        return html.Div(refusal_panel(viewer), className="page")
    tiles = []
    if viewer.can("aggregates"):
        tiles.append(dcc.Link([html.Strong(t("home.screen")), html.Span("/screen")], href="/screen", className="tile"))
    if viewer.can("desk"):
        tiles.append(dcc.Link([html.Strong(t("home.desk")), html.Span("/desk")], href="/desk", className="tile"))
    if viewer.can("drilldown"):
        href = "/district"
        if viewer.region_id is not None:
            with reader() as session:
                region = directory(session).get(viewer.region_id)
            if region is not None and region.level != "district":
                href = f"/{region.level}/{region.code}"
        tiles.append(dcc.Link([html.Strong(t("home.region")), html.Span(href)], href=href, className="tile"))
    for permission, href in (("users", "/users"), ("audit", "/audit")):
        if viewer.can(permission):
            label = t(f"home.{permission}")
            tiles.append(dcc.Link([html.Strong(label), html.Span(href)], href=href, className="tile"))
    return html.Div(
        [
            html.H1(t("home.title")),
            html.P(viewer.name or role_label(viewer.role), className="home-who"),
            html.Div(tiles, className="tiles"),
            html.A(t("home.logout"), href="/logout", className="home-logout"),
        ],
        className="page home",
    )
