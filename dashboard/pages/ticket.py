"""/ticket/<ticket_id> — one ticket: photos, location, deadlines, history, actions."""

import dash

from dashboard import ticketview
from dashboard.common.page import render
from dashboard.labels import t

dash.register_page(__name__, path_template="/ticket/<ticket_id>", title=lambda **_: t("app.title"), name="ticket")


def layout(ticket_id=None, **query):
    return render(ticketview.layout, ticket_id, **query)
