"""/district — the whole district as a drill-down page (the breadcrumb's root)."""

import dash

from dashboard import drill
from dashboard.common.page import render
from dashboard.labels import t

dash.register_page(__name__, path="/district", title=lambda **_: t("app.title"), name="district")


def layout(**query):
    return render(drill.layout, "district", None, **query)
