"""The desk's alerts queue (/alerts): open (or closed) alerts in the viewer's area on the left, the
chosen one on the right with its evidence link and the state changes this viewer may make
(acknowledge; resolve or dismiss with a reason; merge a cluster into one parent order). Every
change goes through data.alerts.store (scoped, permitted, audited)."""

from __future__ import annotations

import logging

import dash_ag_grid as dag
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from dashboard.common.chrome import card, shell
from dashboard.common.context import db, reader, settings
from dashboard.common.fmt import local
from dashboard.common.inputs import as_dict, as_int, as_str
from dashboard.common.queue_grid import queue_grid
from dashboard.labels import t
from dashboard.viewer import current_viewer
from data.access import AccessDenied, Viewer
from data.alerts import store
from data.alerts.models import OPEN_ALERT_STATES
from data.alerts.read import AlertFilter, AlertRecord, alert_records
from data.errors import DomainError

log = logging.getLogger(__name__)

LIST, TABLE, DETAIL, CHOSEN, REASON, MESSAGE, CHANGED = (
    "alerts-list",
    "alerts-table",
    "alerts-detail",
    "alerts-chosen",
    "alerts-reason",
    "alerts-message",
    "alerts-changed",
)
BUTTON = "alerts-action"
LISTS = {"open": OPEN_ALERT_STATES, "closed": ("resolved", "dismissed")}


def rows(viewer: Viewer, which: str) -> list[AlertRecord]:
    with reader() as session:
        return alert_records(session, viewer, AlertFilter(states=LISTS[which], order="newest", limit=500))


def grid_rows(items: list[AlertRecord], tz: str) -> list[dict]:
    return [
        {
            "id": a.id,
            "kind": t(f"alerts.kind.{a.kind}"),
            "category": a.category or "",
            "area": a.area_name or a.device_id or "",
            "count": a.evidence_count,
            "score": round(a.score, 1),
            "last_seen": local(a.last_seen, tz, "%m-%d %H:%M"),
            "state": t(f"alerts.state.{a.state}"),
        }
        for a in items
    ]


def table(items: list[AlertRecord], tz: str) -> dag.AgGrid:
    columns = [
        {"field": "id", "headerName": "#", "width": 80},
        {"field": "kind", "headerName": t("alerts.kind"), "width": 90},
        {"field": "category", "headerName": t("table.category"), "width": 130},
        {"field": "area", "headerName": t("alerts.area"), "flex": 1, "minWidth": 150},
        {"field": "count", "headerName": t("alerts.evidence", n=""), "width": 80},
        {"field": "score", "headerName": t("alerts.score"), "width": 90},
        {"field": "last_seen", "headerName": t("alerts.last_seen"), "width": 120, "cellDataType": "text"},
        {"field": "state", "headerName": t("table.status"), "width": 100},
    ]
    return queue_grid(TABLE, columns, grid_rows(items, tz))


def detail(a: AlertRecord | None, tz: str) -> list:
    if a is None:
        return [html.P(t("alerts.choose"), className="panel-empty")]
    facts = [
        (t("alerts.kind"), t(f"alerts.kind.{a.kind}")),
        (t("table.category"), a.category or "—"),
        (t("alerts.area"), a.area_name or "—"),
        (t("alerts.evidence", n=""), str(a.evidence_count)),
        (t("alerts.score"), f"{a.score:g}"),
        (t("alerts.last_seen"), local(a.last_seen, tz)),
        (t("table.status"), t(f"alerts.state.{a.state}")),
    ]
    if a.device_id:
        facts.insert(3, ("IoT", a.device_id))
    if a.reason:
        facts.append((t("alerts.reason"), a.reason))
    if a.parent_ticket_id:
        facts.append(("#", str(a.parent_ticket_id)))
    out = [
        html.H2(f"{t('alerts.title')} {a.id}", className="card-title"),
        html.Table(html.Tbody([html.Tr([html.Th(k), html.Td(v)]) for k, v in facts]), className="kv-table"),
    ]
    if a.drill_url:
        out.append(dcc.Link(t("alerts.evidence_link"), href=a.drill_url, className="small"))
    if a.actions:
        out.append(dcc.Textarea(id=REASON, className="alerts-reason", placeholder=t("alerts.reason")))
        out.append(
            html.Div(
                [
                    html.Button(
                        t(f"alerts.action.{action}"),
                        id={"type": BUTTON, "action": action},
                        n_clicks=0,
                        className="gcc-button small" + (" danger" if action == "dismiss" else ""),
                    )
                    for action in a.actions
                ],
                className="alerts-actions",
            )
        )
    else:
        out.append(dcc.Textarea(id=REASON, hidden=True))
    return out


def layout(viewer: Viewer, which: str | None = None, **_query):
    viewer.require("desk")
    tz = settings().gcc_timezone
    which = which if which in LISTS else "open"
    items = rows(viewer, which)
    body = [
        html.Div([html.H1(t("alerts.queue.title"))], className="page-title"),
        html.Div(
            [
                card(
                    t("alerts.queue.title"),
                    [
                        dcc.RadioItems(
                            id=LIST,
                            options=[{"label": t(f"alerts.queue.{k}"), "value": k} for k in LISTS],
                            value=which,
                            className="queue-tabs",
                            inline=True,
                        ),
                        table(items, tz),
                    ],
                ),
                html.Section(
                    [html.Div(detail(None, tz), id=DETAIL), html.Div(id=MESSAGE, className="alerts-message")],
                    className="card desk-side",
                ),
            ],
            className="alerts-desk-grid",
        ),
        dcc.Store(id=CHOSEN, data=None),
        dcc.Store(id=CHANGED, data=0),
    ]
    return shell(viewer, body, page_class="desk alerts-desk")


def _one(viewer: Viewer, alert_id: int) -> AlertRecord | None:
    with reader() as session:
        found = alert_records(session, viewer, AlertFilter(ids=(alert_id,), limit=1))
    return found[0] if found else None


def refresh_list(which, _changed):
    viewer = current_viewer()
    which = as_str(which, "open", choices=tuple(LISTS))
    try:
        return grid_rows(rows(viewer, which), settings().gcc_timezone)
    except Exception:
        log.exception("alerts queue refresh failed")
        return no_update


def choose(selected):
    first = selected[0] if isinstance(selected, list) and selected else None
    alert_id = as_int(as_dict(first).get("id"), None, lo=1)
    if alert_id is None:
        return no_update, no_update, no_update
    try:
        found = _one(current_viewer(), alert_id)
    except Exception:
        log.exception("alerts: opening %s failed", alert_id)
        return no_update, no_update, html.P(t("error.unavailable"), className="action-message error")
    return (found.id if found else None), detail(found, settings().gcc_timezone), ""


def act(_clicks, alert_id, reason, changed):
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(_clicks or []):
        return no_update, no_update, no_update
    action = as_str(trigger.get("action"), "", choices=("acknowledge", "resolve", "dismiss", "merge"))
    alert_id = as_int(alert_id, None, lo=1)
    if not action or alert_id is None:
        return no_update, no_update, no_update
    viewer = current_viewer()
    try:
        with db().session() as session:
            store.change_state(session, viewer, alert_id, action, as_str(reason, "", max_len=2000) or None)
    except (DomainError, AccessDenied) as exc:
        return no_update, html.P(str(exc), className="action-message error"), no_update
    except Exception:
        log.exception("alerts: %s on %s failed", action, alert_id)
        return no_update, html.P(t("error.unavailable"), className="action-message error"), no_update
    found = _one(viewer, alert_id)
    tz = settings().gcc_timezone
    message = html.P(
        t("alerts.done", state=t(f"alerts.state.{found.state}")) if found else "", className="action-message"
    )
    return detail(found, tz), message, (as_int(changed, 0) or 0) + 1


def register_callbacks(app) -> None:
    app.callback(Output(TABLE, "rowData"), Input(LIST, "value"), Input(CHANGED, "data"), prevent_initial_call=True)(
        refresh_list
    )
    app.callback(
        Output(CHOSEN, "data"),
        Output(DETAIL, "children"),
        Output(MESSAGE, "children"),
        Input(TABLE, "selectedRows"),
        prevent_initial_call=True,
    )(choose)
    app.callback(
        Output(DETAIL, "children", allow_duplicate=True),
        Output(MESSAGE, "children", allow_duplicate=True),
        Output(CHANGED, "data"),
        Input({"type": BUTTON, "action": ALL}, "n_clicks"),
        State(CHOSEN, "data"),
        State(REASON, "value"),
        State(CHANGED, "data"),
        prevent_initial_call=True,
    )(act)
