"""/desk/<ticket_id> — the desk with one ticket open."""

import dash

from dashboard import desk
from dashboard.common.page import render
from dashboard.labels import t

dash.register_page(__name__, path_template="/desk/<ticket_id>", title=lambda **_: t("desk.title"), name="desk_ticket")


def layout(ticket_id=None, **query):
    return render(desk.layout, ticket_id, **query)
