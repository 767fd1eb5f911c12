"""/audit — the audit log, newest first, filtered by days, action and user (admins; issue #9).

Query: ?from=YYYY-MM-DD &to=YYYY-MM-DD &action=<data.audit.ACTIONS key> &user=<username>
"""

import dash
from dash import Input, Output

from dashboard.admin import audit
from dashboard.common.context import settings
from dashboard.common.page import render
from dashboard.labels import t
from dashboard.viewer import current_viewer
from data.access import AccessDenied
from data.clock import local_day, utcnow

dash.register_page(__name__, path="/audit", title=lambda **_: t("audit.title"), name="audit")


def layout(**query):
    return render(audit.layout, **query)


@dash.callback(
    Output(audit.TABLE, "children"),
    Output(audit.COUNT, "children"),
    Input(audit.FROM, "value"),
    Input(audit.TO, "value"),
    Input(audit.ACTION, "value"),
    Input(audit.USER, "value"),
    prevent_initial_call=True,
)
def filter_log(first, last, action, user):
    viewer = current_viewer()
    tz = settings().gcc_timezone
    values = {"from": first, "to": last, "action": action, "user": user}
    filters, ok = audit.parse_filters(values, local_day(utcnow(), tz))
    try:
        rows = audit.read(viewer, filters)
    except AccessDenied:
        return [], t("access.denied")
    return audit.audit_table(rows, tz), audit.count_text(rows, ok)
