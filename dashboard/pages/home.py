"""/ — the wall screen for a kiosk, otherwise a start page with the places this viewer may go."""

import dash

from dashboard import home
from dashboard.common.page import render
from dashboard.labels import t

dash.register_page(__name__, path="/", title=lambda **_: t("app.title"), name="home")


def layout(**query):
    return render(home.layout, **query)
