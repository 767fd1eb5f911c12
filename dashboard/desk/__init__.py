"""The dispatcher's desk (/desk, /desk/<ticket_id>): queues on the left (new, to dispatch, overdue,
escalated, no grid), the chosen ticket and its actions on the right. Queues read tickets through
data.read.desk (scoped by the viewer); actions go through data.workflow (dashboard.desk.actions)."""

from __future__ import annotations

import logging

import dash_ag_grid as dag
from dash import Input, Output, State, dcc, html, no_update

from dashboard.common.access import refusal_panel
from dashboard.common.chrome import card, shell
from dashboard.common.context import reader, settings
from dashboard.common.fmt import local
from dashboard.common.inputs import as_dict, as_str
from dashboard.common.inputs import ticket_id as as_ticket_id
from dashboard.common.queue_grid import queue_grid
from dashboard.desk import actions
from dashboard.labels import source_label, status_label, t
from dashboard.viewer import current_viewer
from data.access import AccessDenied, Viewer
from data.read.desk import QUEUES, queue_counts, queue_rows

log = logging.getLogger(__name__)

QUEUE, TABLE, REFRESH, OPEN = "desk-queue", "desk-table", "desk-refresh", "desk-open"


def queue_options(counts: dict[str, int]) -> list[dict]:
    return [{"label": f"{t(f'desk.queue.{q}')} {counts.get(q, 0)}", "value": q} for q in QUEUES]


def rows_for_grid(rows: list[dict], tz: str) -> list[dict]:
    return [
        {
            "id": r["id"],
            "link": f"[#{r['id']}](/ticket/{r['id']})",
            "created": local(r["created_at"], tz, "%m-%d %H:%M"),
            "category": r["category"],
            "status": status_label(r["status"]),
            "grid": r["grid"],
            "source": source_label(r["source"]),
            "due": local(r["handle_due_at"], tz, "%m-%d %H:%M"),
            "escalation": t(f"escalation.{r['escalation_level']}") if r["escalation_level"] else "",
        }
        for r in rows
    ]


def queue_table(rows: list[dict], tz: str) -> dag.AgGrid:
    columns = [
        {"field": "link", "headerName": t("table.id"), "cellRenderer": "markdown", "width": 100},
        {"field": "created", "headerName": t("table.created"), "width": 120, "cellDataType": "text"},
        {"field": "category", "headerName": t("table.category"), "width": 120},
        {"field": "status", "headerName": t("table.status"), "width": 90},
        {"field": "grid", "headerName": t("table.grid"), "flex": 1, "minWidth": 150},
        {"field": "source", "headerName": t("table.source"), "width": 110},
        {"field": "due", "headerName": t("table.due"), "width": 120, "cellDataType": "text"},
        {"field": "escalation", "headerName": t("table.escalation"), "width": 96},
    ]
    return queue_grid(TABLE, columns, rows_for_grid(rows, tz))


def layout(viewer: Viewer, ticket_id: str | None = None, queue: str | None = None, **_query):
    viewer.require("desk")
    viewer.require("tickets")
    tz = settings().gcc_timezone
    queue = queue if queue in QUEUES else "new"
    chosen = as_ticket_id(ticket_id)
    with reader() as session:
        counts = queue_counts(session, viewer)
        rows = queue_rows(session, viewer, queue)
    view, options = actions.load(viewer, chosen) if chosen else (None, [])
    body = [
        html.Div(
            [
                html.H1(t("desk.title")),
                html.Button(t("desk.refresh"), id=REFRESH, n_clicks=0, className="gcc-button small"),
            ],
            className="page-title",
        ),
        html.Div(
            [
                card(
                    t("desk.title"),
                    [
                        dcc.RadioItems(
                            id=QUEUE, options=queue_options(counts), value=queue, className="queue-tabs", inline=True
                        ),
                        queue_table(rows, tz),
                    ],
                    class_name="desk-queues",
                ),
                html.Section(
                    [
                        html.Div(detail(view), id=OPEN, className="desk-detail"),
                        html.Div(actions.panel(viewer, view, options), id=actions.PANEL),
                    ],
                    className="card desk-side",
                ),
            ],
            className="desk-grid",
        ),
        dcc.Store(id=actions.TICKET, data=chosen),
        dcc.Store(id=actions.PENDING, data=None),
        dcc.Store(id=actions.CHANGED, data=0),
    ]
    return shell(viewer, body, page_class="desk")


def detail(view) -> list:
    """A short summary of the chosen ticket, with a link to its full page."""
    if view is None:
        return []
    tz = settings().gcc_timezone
    rows = [
        (t("ticket.category"), view.category_path),
        (t("table.status"), status_label(view.status)),
        (t("ticket.grid"), view.grid.name if view.grid else (view.community.name if view.community else "—")),
        (t("ticket.source"), source_label(view.source)),
        (t("table.created"), local(view.created_at, tz)),
        (t("ticket.handle_due"), local(view.handle_due_at, tz) or t("ticket.none")),
        (t("ticket.assignee"), view.assignee or "—"),
        (t("ticket.address"), view.reporter.address or "—"),
    ]
    return [
        html.H2(
            [
                t("ticket.title", id=view.id),
                " ",
                dcc.Link(t("desk.open_ticket"), href=f"/ticket/{view.id}", className="small"),
            ],
            className="card-title",
        ),
        html.P(view.description, className="description"),
        html.Table(html.Tbody([html.Tr([html.Th(k), html.Td(v)]) for k, v in rows]), className="kv-table"),
    ]


def refresh_queue(queue, _changed, _clicks):
    viewer = current_viewer()
    queue = as_str(queue, "new", choices=QUEUES)
    try:
        with reader() as session:
            counts = queue_counts(session, viewer)
            rows = queue_rows(session, viewer, queue)
    except AccessDenied:
        return no_update, no_update
    except Exception:
        log.exception("desk queue refresh failed")
        return no_update, no_update
    return rows_for_grid(rows, settings().gcc_timezone), queue_options(counts)


def choose(selected):
    viewer = current_viewer()
    first = selected[0] if isinstance(selected, list) and selected else None
    ticket_id = as_ticket_id(as_dict(first).get("id"))
    if ticket_id is None:
        return no_update, no_update, no_update, no_update
    try:
        view, options = actions.load(viewer, ticket_id)
    except AccessDenied:
        return None, [refusal_panel(viewer)], [], None
    except Exception:
        log.exception("desk: opening ticket %s failed", ticket_id)
        return no_update, [html.P(t("error.unavailable"), className="action-message error")], no_update, no_update
    return ticket_id, detail(view), actions.panel(viewer, view, options), None


def after_action(_changed, ticket_id):
    """An action changed the ticket: show its new state."""
    ticket_id = as_ticket_id(ticket_id)
    if ticket_id is None:
        return no_update
    try:
        view, _ = actions.load(current_viewer(), ticket_id)
    except AccessDenied:
        return []
    except Exception:
        log.exception("desk detail refresh failed")
        return no_update
    return detail(view)


def register_callbacks(app) -> None:
    actions.register_callbacks(app)
    app.callback(
        Output(TABLE, "rowData"),
        Output(QUEUE, "options"),
        Input(QUEUE, "value"),
        Input(actions.CHANGED, "data"),
        Input(REFRESH, "n_clicks"),
        prevent_initial_call=True,
    )(refresh_queue)
    app.callback(
        Output(actions.TICKET, "data"),
        Output(OPEN, "children"),
        Output(actions.PANEL, "children"),
        Output(actions.PENDING, "data", allow_duplicate=True),
        Input(TABLE, "selectedRows"),
        prevent_initial_call=True,
    )(choose)
    app.callback(
        Output(OPEN, "children", allow_duplicate=True),
        Input(actions.CHANGED, "data"),
        State(actions.TICKET, "data"),
        prevent_initial_call=True,
    )(after_action)
