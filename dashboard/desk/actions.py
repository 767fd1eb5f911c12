"""The action panel of one ticket (on /desk and /ticket/<id>): the actions data.workflow allows this
viewer now, each applied through the intake like every other way in (data.intake.act / rate: the
workflow writes the ticket and its event in one retried transaction). Actions without input
(accept, dispatch to the grid's team, verify and close, resume, reopen) run on one click —
一键派发; the others open a small form first. A refusal (WorkflowError, AccessDenied) is shown in
plain words and changes nothing."""

from __future__ import annotations

import logging

from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from pydantic import ValidationError

from dashboard.common.context import db, reader, settings
from dashboard.common.inputs import as_int, as_number, as_str
from dashboard.common.inputs import ticket_id as as_ticket_id
from dashboard.labels import ZH, action_label, rating_label, t
from dashboard.viewer import current_viewer
from data import intake, workflow
from data.access import AccessDenied, Viewer
from data.errors import DomainError
from data.models import RATINGS
from data.read.desk import assignee_options, parse_assignee
from data.read.scope import effective
from data.read.ticket_records import TicketRecord, ticket_record

log = logging.getLogger(__name__)

BUTTON = "desk-action"
PANEL, TICKET, PENDING, CHANGED = "desk-panel", "desk-ticket", "desk-pending", "desk-changed"
NOTE, ASSIGNEE, DUPLICATE, RATING, LON, LAT, CONFIRM, MESSAGE = (
    "desk-note",
    "desk-assignee",
    "desk-duplicate",
    "desk-rating",
    "desk-lon",
    "desk-lat",
    "desk-confirm",
    "desk-message",
)

# What each action asks for before it runs; an action not listed runs on one click.
NEEDS: dict[str, tuple[str, ...]] = {
    "reject": ("note",),
    "mark_duplicate": ("duplicate_of", "note"),
    "reassign": ("assignee", "note"),
    "send_back": ("note",),
    "suspend": ("note",),
    "escalate": ("note",),
    "comment": ("note",),
    "rate": ("rating", "note"),
    "relocate": ("lon", "lat", "note"),
}
# Field actions done with a photo on the phone pages (/my), not at the desk.
NOT_AT_DESK = ("handle",)
PRIMARY = ("accept", "dispatch", "verify_close")
DANGER = ("reject", "escalate", "send_back")


def actions_for(viewer: Viewer, ticket) -> list[str]:
    return [a for a in workflow.allowed_actions(viewer, ticket) if a not in NOT_AT_DESK]


def _field(label: str, control, name: str, needed: tuple[str, ...]) -> html.Label:
    return html.Label([label, control], className="" if name in needed else "is-hidden")


def panel(
    viewer: Viewer,
    view: TicketRecord | None,
    options: list[dict],
    *,
    pending: str | None = None,
    message: tuple[str, str] | None = None,
) -> list:
    """The buttons, the form (fields of the pending action shown, the others hidden but present so
    the callback can read them) and the last outcome."""
    if view is None:
        return [html.P(t("desk.pick"), className="muted")]
    actions = actions_for(viewer, view) if viewer.can("ticket_actions") else []
    buttons = [
        html.Button(
            action_label(a),
            id={"type": BUTTON, "action": a},
            n_clicks=0,
            className="action-button" + (" primary" if a in PRIMARY else " danger" if a in DANGER else ""),
        )
        for a in actions
    ]
    needed = NEEDS.get(pending, ()) if pending else ()
    if pending == "dispatch":  # an automatic dispatch failed: choose the assignee
        needed = ("assignee",)
    form = html.Div(
        [
            _field(
                t("desk.assignee_required") if pending in ("reassign", "dispatch") else t("desk.assignee"),
                dcc.Dropdown(id=ASSIGNEE, options=options, placeholder="—", className="filter-dropdown wide"),
                "assignee",
                needed,
            ),
            _field(
                t("desk.duplicate_of"),
                dcc.Input(id=DUPLICATE, type="number", min=1, debounce=False),
                "duplicate_of",
                needed,
            ),
            _field(
                t("desk.rating"),
                dcc.Dropdown(
                    id=RATING, options=[{"label": rating_label(k), "value": k} for k in RATINGS], searchable=False
                ),
                "rating",
                needed,
            ),
            _field(t("desk.lon"), dcc.Input(id=LON, type="number", step="any"), "lon", needed),
            _field(t("desk.lat"), dcc.Input(id=LAT, type="number", step="any"), "lat", needed),
            _field(t("desk.note"), dcc.Textarea(id=NOTE, maxLength=500), "note", needed),
            html.Button(
                t("desk.confirm", action=action_label(pending)) if pending else "",
                id=CONFIRM,
                n_clicks=0,
                className="action-button primary",
            ),
        ],
        className="action-form" if pending else "action-form is-hidden",
    )
    outcome = html.Div(
        message[1] if message else "",
        id=MESSAGE,
        role="status",
        className=f"action-message {message[0]}" if message else "action-message",
    )
    return [
        html.H3(t("desk.actions"), className="card-title"),
        html.Div(buttons, className="actions") if buttons else html.P(t("desk.no_actions"), className="muted"),
        form,
        outcome,
    ]


def load(viewer: Viewer, ticket_id: int | None):
    """(view, assignee options) for a ticket, or (None, []) when there is none to show."""
    if not ticket_id:
        return None, []
    with reader() as session:
        view = ticket_record(session, viewer, int(ticket_id))
        options = (
            assignee_options(session, viewer, view.grid.id if view.grid else None)
            if viewer.can("ticket_actions")
            else []
        )
    return view, [{"value": o["value"], "label": assignee_label(o)} for o in options]


def assignee_label(option: dict) -> str:
    """data.read.desk's assignee option in words: 李彬（长征社区第01网格网格员）."""
    key = f"desk.assignee.{option['kind']}"
    return t(key, name=option["name"], area=option["area"]) if key in ZH else option["name"]


def error_text(exc: Exception) -> str:
    if isinstance(exc, AccessDenied):
        return t("wf.denied")
    if isinstance(exc, DomainError):
        key = f"wf.{exc.code}"
        try:
            return t(key)
        except KeyError:
            return t("wf.failed", message=str(exc))
    return t("wf.failed", message=str(exc))


class InputProblem(Exception):
    pass


def _number(value, field: str, kind=float):
    if value in (None, ""):
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InputProblem(t("desk.bad_number", field=field)) from None


def perform(
    viewer: Viewer,
    ticket_id: int,
    action: str,
    *,
    note=None,
    assignee=None,
    duplicate_of=None,
    rating=None,
    lon=None,
    lat=None,
) -> None:
    """Apply one action through the intake. Raises WorkflowError, AccessDenied or InputProblem."""
    try:
        staff_id, org_id = parse_assignee(assignee)
    except ValueError:
        raise InputProblem(t("wf.bad_assignee")) from None
    duplicate = _number(duplicate_of, t("desk.duplicate_of"), int)
    lon_v, lat_v = _number(lon, t("desk.lon")), _number(lat, t("desk.lat"))
    note = (note or "").strip() or None
    with reader() as session:
        caller = intake.Caller(effective(session, viewer), scope=f"desk:{viewer.user_id or viewer.staff_id}")
    try:
        if action == "rate":
            given = intake.RatingIn(rating=rating, comment=note)
            intake.rate(db(), settings(), caller, int(ticket_id), given)
            return
        given = intake.Action(
            action=action,
            note=note,
            assignee_staff_id=staff_id,
            assignee_org_id=org_id,
            duplicate_of=duplicate,
            lon=lon_v if action == "relocate" else None,
            lat=lat_v if action == "relocate" else None,
        )
    except ValidationError as exc:
        raise InputProblem("; ".join(e["msg"] for e in exc.errors(include_url=False))) from None
    intake.act(db(), settings(), caller, int(ticket_id), given)


def act(clicks, confirm, pending, ticket_id, changed, form):
    """The action buttons and the form's confirm (`form`: the fields of the pending action)."""
    viewer = current_viewer()
    form = form if isinstance(form, dict) else {}
    note, assignee, duplicate_of, rating, lon, lat = (
        form.get(k) for k in ("note", "assignee", "duplicate_of", "rating", "lon", "lat")
    )
    ticket_id = as_ticket_id(ticket_id)
    pending = as_str(pending, None, choices=tuple(workflow.TRANSITIONS))
    changed = as_int(changed, 0, lo=0)
    note, assignee, rating = as_str(note), as_str(assignee, max_len=40), as_str(rating, max_len=20)
    duplicate_of, lon, lat = as_number(duplicate_of), as_number(lon), as_number(lat)
    trigger = ctx.triggered_id
    if not ticket_id or trigger is None or not (ctx.triggered and ctx.triggered[0].get("value")):
        return no_update, no_update, no_update
    if isinstance(trigger, dict):
        action = as_str(trigger.get("action"), None, choices=tuple(workflow.TRANSITIONS))
        if action in NEEDS:
            view, options = _safe_load(viewer, ticket_id)
            return panel(viewer, view, options, pending=action), action, no_update
    else:
        action = pending
    if not action:
        return no_update, no_update, no_update
    message: tuple[str, str]
    keep_pending = None
    try:
        perform(
            viewer,
            ticket_id,
            action,
            note=note,
            assignee=assignee if (pending == action) else None,
            duplicate_of=duplicate_of,
            rating=rating,
            lon=lon,
            lat=lat,
        )
        message = ("ok", t("desk.done", action=action_label(action), id=ticket_id))
        changed = changed + 1
    except (DomainError, InputProblem) as exc:
        message = ("error", str(exc) if isinstance(exc, InputProblem) else error_text(exc))
        keep_pending = (
            action
            if (action in NEEDS or (action == "dispatch" and getattr(exc, "code", "") == "no_assignee"))
            else None
        )
        changed = no_update
    except Exception:
        log.exception("desk action %s on ticket %s failed", action, ticket_id)
        message = ("error", t("error.unavailable"))
        changed = no_update
    view, options = _safe_load(viewer, ticket_id)
    return panel(viewer, view, options, pending=keep_pending, message=message), keep_pending, changed


def _safe_load(viewer, ticket_id):
    try:
        return load(viewer, ticket_id)
    except AccessDenied:
        return None, []


def register_callbacks(app) -> None:
    app.callback(
        Output(PANEL, "children", allow_duplicate=True),
        Output(PENDING, "data"),
        Output(CHANGED, "data"),
        inputs=dict(
            clicks=Input({"type": BUTTON, "action": ALL}, "n_clicks"),
            confirm=Input(CONFIRM, "n_clicks"),
        ),
        state=dict(
            pending=State(PENDING, "data"),
            ticket_id=State(TICKET, "data"),
            changed=State(CHANGED, "data"),
            form=dict(
                note=State(NOTE, "value"),
                assignee=State(ASSIGNEE, "value"),
                duplicate_of=State(DUPLICATE, "value"),
                rating=State(RATING, "value"),
                lon=State(LON, "value"),
                lat=State(LAT, "value"),
            ),
        ),
        prevent_initial_call=True,
    )(act)
