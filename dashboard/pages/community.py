"""/community/<code> — drill-down into one community.

Query: ?period=7d|30d|90d|365d &category=<大类 code> &status=open|overdue|closed|void
"""

import dash

from dashboard import drill
from dashboard.common.page import render
from dashboard.labels import t

dash.register_page(__name__, path_template="/community/<code>", title=lambda **_: t("app.title"), name="community")


def layout(code=None, **query):
    return render(drill.layout, "community", code, **query)
