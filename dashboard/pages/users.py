"""/users — accounts: list, add, disable / enable, reset a password (admins; issue #9)."""

import dash
from dash import Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from dashboard.admin import users
from dashboard.common.page import render
from dashboard.labels import t
from dashboard.viewer import current_viewer

dash.register_page(__name__, path="/users", title=lambda **_: t("users.title"), name="users")


def layout(**query):
    return render(users.layout, **query)


@dash.callback(
    output=[
        Output(users.MESSAGE, "children"),
        Output(users.MESSAGE, "className"),
        Output(users.TABLE, "children"),
        Output(users.TARGET, "options"),
        Output(users.PASSWORD, "value"),
        Output(users.NEW_PASSWORD, "value"),
    ],
    inputs={
        "add": Input(users.ADD, "n_clicks"),
        "disable": Input(users.DISABLE, "n_clicks"),
        "enable": Input(users.ENABLE, "n_clicks"),
        "reset": Input(users.RESET, "n_clicks"),
    },
    state={
        "username": State(users.USERNAME, "value"),
        "display_name": State(users.DISPLAY, "value"),
        "role": State(users.ROLE, "value"),
        "region": State(users.REGION, "value"),
        "organisation": State(users.ORGANISATION, "value"),
        "password": State(users.PASSWORD, "value"),
        "target": State(users.TARGET, "value"),
        "new_password": State(users.NEW_PASSWORD, "value"),
    },
    prevent_initial_call=True,
)
def change_account(**values):
    """One change per click, named by the button that was pressed."""
    button = ctx.triggered_id if isinstance(ctx.triggered_id, str) else None
    if button not in users.BUTTONS:
        raise PreventUpdate
    viewer = current_viewer()
    message, ok = users.apply(viewer, button, values)
    table, options = users.refreshed(viewer)
    tone = "page-notice" if ok else "page-notice tone-bad"
    return message, tone, table, options, "", ""
