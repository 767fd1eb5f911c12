"""The closed loop (GB/T 30428): an explicit state machine over tickets, and the one way to change
a ticket.

report → accept (立案) | reject (作废) | duplicate → dispatch → respond (接单) → handle (处理反馈,
with photo) → verify and close (核查结案) | send back (返工) → rate (满意/基本满意/不满意) → reopen
(unsatisfied). Also suspend (挂账) / resume, escalation (督办), reassign, relocate and regrid.

- `create(session, viewer, Submission)` records a new report and its first event.
- `apply(session, viewer, ticket_id, ActionInput)` checks the action, the ticket's state, the
  viewer's role and scope, runs the action's effect (data.workflow.effects), then writes the ticket
  and one append-only event (and its audit row) in the caller's transaction. A refused action
  raises WorkflowError or AccessDenied before anything is written.
- `step(ctx, viewer, ticket, ActionInput)` is the same check and effect on any ticket-like object
  without a session: bulk writers (the demo history) produce their rows with it, so every way in —
  API, phone, desk, importer, simulator, sweep, demo — runs the same transition code.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from data import audit
from data.access import AccessDenied, Viewer, load_ticket
from data.clock import utcnow
from data.errors import WorkflowError
from data.models import Category, Escalation, Rating, Ticket, TicketEvent
from data.workflow.context import Context, MemoryContext, SessionContext, Team
from data.workflow.effects import EFFECTS
from data.workflow.inputs import ActionInput, Submission
from data.workflow.transitions import (
    DESK,
    FIELD,
    STATUS_LABELS,
    TRANSITIONS,
    Transition,
    allowed_actions,
    check_transition,
    may,
)

__all__ = [
    "DESK",
    "FIELD",
    "STATUS_LABELS",
    "TRANSITIONS",
    "AccessDenied",
    "ActionInput",
    "Context",
    "MemoryContext",
    "SessionContext",
    "Submission",
    "Team",
    "Transition",
    "WorkflowError",
    "allowed_actions",
    "apply",
    "apply_to",
    "check_transition",
    "create",
    "event_fields",
    "step",
    "ticket_fields",
]


def ticket_fields(sub: Submission, at: datetime) -> dict:
    """Every column of a new ticket (status `reported`) from a submission, except its id."""
    place = sub.placement
    return dict(
        source=sub.source,
        external_id=sub.external_id,
        public_token=secrets.token_urlsafe(12),
        category_id=sub.category_id,
        priority=sub.priority,
        description=sub.description,
        address=sub.address,
        reporter_name=sub.reporter_name,
        reporter_phone=sub.reporter_phone,
        photos=list(sub.photos),
        lon=sub.lon,
        lat=sub.lat,
        location_match=place.match,
        grid_id=place.grid_id,
        community_id=place.community_id,
        street_id=place.street_id,
        boundary_id=place.boundary_id,
        status="reported",
        assignee_staff_id=None,
        assignee_org_id=None,
        escalation_level=0,
        overdue=False,
        rework_count=0,
        duplicate_of_id=None,
        rating=None,
        created_at=at,
        accepted_at=None,
        dispatched_at=None,
        responded_at=None,
        handled_at=None,
        closed_at=None,
        rated_at=None,
        updated_at=at,
        response_due_at=None,
        handle_due_at=None,
        system=None,  # made here (imports set the system they came from)
        source_status=None,
        source_record=None,
        data_quality=[],
    )


def event_fields(
    ticket,
    viewer: Viewer,
    action: str,
    from_status: str | None,
    to_status: str | None,
    at: datetime,
    *,
    note: str | None = None,
    photos=(),
    data: dict | None = None,
) -> dict:
    """One append-only history row (data.models.TicketEvent) for a change of `ticket`."""
    data = data or {}
    return dict(
        ticket_id=ticket.id,
        at=at,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor_role=viewer.role,
        actor_staff_id=viewer.staff_id,
        actor_name=viewer.name or None,
        note=note,
        photos=list(photos),
        data=data,
        grid_id=ticket.grid_id,
        previous_grid_id=data.get("previous_grid_id"),
    )


def step(ctx: Context, viewer: Viewer, ticket, inp: ActionInput) -> dict:
    """Check and perform one action on a ticket-like object (an ORM Ticket or a bulk writer's
    draft with the same attributes); returns the event's fields. `inp.at` must be set."""
    transition = check_transition(ticket.status, inp.action)
    if not may(viewer, transition, ticket):
        raise AccessDenied(f"role {viewer.role} may not {inp.action} this ticket")
    data = dict(EFFECTS[inp.action](ctx, ticket, inp) or {})
    note = data.pop("_note", inp.note)
    from_status = ticket.status
    to_status = data.pop("_to", None) or transition.target or from_status
    ticket.status = to_status
    ticket.updated_at = inp.at
    event = event_fields(
        ticket, viewer, inp.action, from_status, to_status, inp.at, note=note, photos=inp.photos, data=data
    )
    ctx.recorded(event)
    return event


# ----------------------------------------------------------------------------------------------
# The live writers: a session, one ticket at a time.


def create(session: Session, viewer: Viewer, sub: Submission) -> Ticket:
    """Record a new report (status `reported`) and its first event."""
    at = sub.at or utcnow()
    category = session.get(Category, sub.category_id)
    if category is None or category.parent_id is None:
        raise WorkflowError("unknown_category", f"category {sub.category_id} is not a sub-category (小类)")
    ticket = Ticket(**ticket_fields(sub, at))
    session.add(ticket)
    session.flush()
    _write_event(session, viewer, event_fields(ticket, viewer, "report", None, "reported", at, photos=sub.photos))
    return ticket


def apply(session: Session, viewer: Viewer, ticket_id: int, inp: ActionInput) -> TicketEvent:
    """Perform `inp` on a ticket as `viewer`. Raises WorkflowError or AccessDenied; on either,
    nothing has been written."""
    ticket = load_ticket(session, viewer, ticket_id, for_update=True)
    return apply_to(session, viewer, ticket, inp)


def apply_to(session: Session, viewer: Viewer, ticket: Ticket, inp: ActionInput) -> TicketEvent:
    """`apply` on a ticket the caller has already loaded (locked, FOR UPDATE) in this session."""
    ctx = SessionContext(session)
    event = _write_event(session, viewer, step(ctx, viewer, ticket, inp.timed()))
    for kind, row in ctx.take_pending():
        session.add(Escalation(**row, event_id=event.id) if kind == "escalation" else Rating(**row))
    session.flush()
    return event


def _write_event(session: Session, viewer: Viewer, fields: dict) -> TicketEvent:
    event = TicketEvent(**fields)
    session.add(event)
    session.flush()
    audit.record_ticket_event(session, viewer, event)  # same transaction: no change goes unaudited
    return event


assert set(EFFECTS) == set(TRANSITIONS)
