"""Everything the pages need on the app: the page container, the callbacks of every page part and
the cached GeoJSON route. `install(app)` is called once by dashboard.server.create_app."""

from __future__ import annotations

import dash
from dash import html

from dashboard import desk, drill, screen, ticketview
from dashboard.common import asof, geojson


def install(app: dash.Dash) -> None:
    app.server.register_blueprint(geojson.blueprint)
    asof.install(app.server)  # ?as_of= / ?week=: a bad moment is a 400 (issue #10)
    app.layout = html.Div(dash.page_container, className="gcc-root")
    screen.register_callbacks(app)
    drill.register_callbacks(app)
    desk.register_callbacks(app)
    ticketview.register_callbacks(app)
