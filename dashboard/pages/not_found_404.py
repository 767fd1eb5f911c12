"""What the pages router shows for a path that is no page (Dash picks a module of this name).
The HTTP answer for such a path is a real 404 (dashboard.common.not_found); this is its body."""

import dash
from dash import html

from dashboard.common.access import not_found_panel
from dashboard.labels import t

dash.register_page(__name__, title=lambda **_: t("app.title"), name="not_found_404")


def layout(**_query):
    return html.Div(not_found_panel(), className="page page-not-found")
