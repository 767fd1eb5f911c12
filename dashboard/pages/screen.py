"""/screen — the big screen. Query: ?rotate=N (seconds) cycles metric and focus; ?metric=... picks
the map's first metric (open_now, overdue_now, on_time_7d, per_1000)."""

import dash

from dashboard import screen
from dashboard.common.page import render
from dashboard.labels import t

dash.register_page(__name__, path="/screen", title=lambda **_: t("app.title"), name="screen")


def layout(**query):
    return render(screen.layout, **query)
