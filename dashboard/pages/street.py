"""/street/<code> — drill-down into one street.

Query: ?period=7d|30d|90d|365d &category=<大类 code> &status=open|overdue|closed|void
"""

import dash

from dashboard import drill
from dashboard.common.page import render
from dashboard.labels import t

dash.register_page(__name__, path_template="/street/<code>", title=lambda **_: t("app.title"), name="street")


def layout(code=None, **query):
    return render(drill.layout, "street", code, **query)
