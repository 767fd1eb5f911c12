"""/desk — the dispatcher's queues and actions. Query: ?queue=new|unassigned|overdue|escalated|unlocated"""

import dash

from dashboard import desk
from dashboard.common.page import render
from dashboard.labels import t

dash.register_page(__name__, path="/desk", title=lambda **_: t("desk.title"), name="desk")


def layout(**query):
    return render(desk.layout, **query)
