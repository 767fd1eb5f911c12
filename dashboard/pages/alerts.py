"""/alerts — the desk's early-warning queue (issue #11). Query: ?which=open|closed"""

import dash

from dashboard.alerts import queue
from dashboard.common.page import render
from dashboard.labels import t

dash.register_page(__name__, path="/alerts", title=lambda **_: t("alerts.queue.title"), name="alerts")


def layout(**query):
    return render(queue.layout, **query)
