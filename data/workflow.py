"""The closed loop (GB/T 30428): an explicit state machine over tickets.

report → accept (立案) | reject (作废) | duplicate → dispatch → respond (接单) → handle (处理反馈,
with photo) → verify and close (核查结案) | send back (返工) → rate (满意/基本满意/不满意) → reopen
(unsatisfied). Also suspend (挂账) / resume, manual escalation (督办), reassign and relocate.

Every change goes through `apply` (or `create_ticket`), which checks the action, the ticket's
state, the viewer's role and scope, then writes the ticket and one append-only event in the same
transaction. A refused action raises `WorkflowError` before anything is written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from data import actions, audit
from data.access import AccessDenied, Viewer, load_ticket
from data.clock import utcnow
from data.errors import WorkflowError
from data.models import (
    ESCALATION_LEVELS,
    OPEN_STATUSES,
    Category,
    Ticket,
    TicketEvent,
)
from data.placement import UNPLACED, Placement

STATUS_LABELS = {
    "reported": "待受理",
    "accepted": "已立案",
    "rejected": "已作废",
    "duplicate": "重复件",
    "dispatched": "已派遣",
    "in_progress": "处理中",
    "handled": "待核查",
    "closed": "已结案",
    "rated": "已评价",
    "suspended": "挂账",
}

DESK = ("dispatcher", "supervisor", "admin", "system")
FIELD = ("grid_worker", "grid_head", "property", "department", "system", "admin")


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: tuple[str, ...]
    target: str | None  # None: the status does not change
    roles: tuple[str, ...]
    assignee_only: bool = False  # field roles may act only on orders assigned to them


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("accept", "受理立案", ("reported",), "accepted", DESK),
        Transition("reject", "作废", ("reported",), "rejected", DESK),
        Transition("mark_duplicate", "标记重复", ("reported", "accepted"), "duplicate", DESK),
        Transition("dispatch", "派遣", ("accepted",), "dispatched", DESK),
        Transition("reassign", "改派", ("dispatched", "in_progress"), "dispatched", DESK),
        Transition("respond", "接单", ("dispatched",), "in_progress", FIELD, assignee_only=True),
        Transition("handle", "处理反馈", ("in_progress",), "handled", FIELD, assignee_only=True),
        Transition("verify_close", "核查结案", ("handled",), "closed", DESK),
        Transition("send_back", "返工", ("handled",), "in_progress", DESK),
        Transition("rate", "评价", ("closed",), "rated", ("resident", "dispatcher", "admin", "system")),
        Transition("reopen", "重新办理", ("rated",), "dispatched", ("resident", "dispatcher", "admin", "system")),
        Transition("suspend", "挂账", ("accepted", "dispatched", "in_progress"), "suspended", DESK),
        Transition("resume", "恢复办理", ("suspended",), None, DESK),
        Transition("escalate", "督办", ("accepted", "dispatched", "in_progress", "suspended"), None, DESK),
        Transition(
            "relocate",
            "更正位置",
            ("reported", "accepted", "dispatched", "in_progress", "suspended"),
            None,
            DESK,
        ),
        # A grid redrawn under an open ticket (python app.py import-grids): only the system moves it.
        Transition("regrid", "网格调整", OPEN_STATUSES, None, ("system",)),
        Transition(
            "comment",
            "备注",
            ("reported", "accepted", "dispatched", "in_progress", "handled", "suspended", "closed", "rated"),
            None,
            DESK + FIELD,
            assignee_only=True,
        ),
    )
}


def check_transition(status: str, action: str) -> Transition:
    """The transition for `action` from `status`, or WorkflowError."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise WorkflowError("unknown_action", f"unknown action {action!r}")
    if status not in transition.sources:
        raise WorkflowError(
            "invalid_state",
            f"cannot {action} a ticket that is {status} ({STATUS_LABELS.get(status, status)})",
            kind="conflict",
        )
    return transition


def allowed_actions(viewer: Viewer, ticket: Ticket) -> list[str]:
    """Actions this viewer may perform on this ticket now (for buttons; `apply` checks again)."""
    out = []
    for t in TRANSITIONS.values():
        if ticket.status in t.sources and _may(viewer, t, ticket):
            if t.action == "reopen" and ticket.rating != "unsatisfied":
                continue
            if t.action == "escalate" and ticket.escalation_level >= max(ESCALATION_LEVELS):
                continue
            out.append(t.action)
    return out


def _may(viewer: Viewer, t: Transition, ticket: Ticket) -> bool:
    if viewer.role not in t.roles:
        return False
    if t.assignee_only and viewer.role in ("grid_worker", "grid_head", "property", "department"):
        return (viewer.staff_id is not None and viewer.staff_id == ticket.assignee_staff_id) or (
            viewer.organisation_id is not None and viewer.organisation_id == ticket.assignee_org_id
        )
    if viewer.role == "resident":
        return viewer.ticket_token is not None and viewer.ticket_token == ticket.public_token
    return True


# ----------------------------------------------------------------------------------------------
# Creating tickets.


def create_ticket(
    session: Session,
    viewer: Viewer,
    *,
    source: str,
    category_id: int,
    description: str = "",
    lon: float | None = None,
    lat: float | None = None,
    placement: Placement = UNPLACED,
    address: str | None = None,
    priority: int = 2,
    photos: list | None = None,
    reporter_name: str | None = None,
    reporter_phone: str | None = None,
    external_id: str | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Record a new report (status `reported`) and its first event."""
    at = at or utcnow()
    category = session.get(Category, category_id)
    if category is None or category.parent_id is None:
        raise WorkflowError("unknown_category", f"category {category_id} is not a sub-category (小类)")
    ticket = Ticket(
        source=source,
        external_id=external_id,
        public_token=secrets.token_urlsafe(12),
        category_id=category.id,
        priority=priority,
        description=description,
        address=address,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
        photos=list(photos or []),
        lon=lon,
        lat=lat,
        location_match=placement.match,
        grid_id=placement.grid_id,
        community_id=placement.community_id,
        street_id=placement.street_id,
        boundary_id=placement.boundary_id,
        status="reported",
        created_at=at,
        updated_at=at,
    )
    session.add(ticket)
    session.flush()
    _record(session, ticket, viewer, "report", None, "reported", at, photos=list(photos or []))
    return ticket


# ----------------------------------------------------------------------------------------------
# Applying actions.


def apply(
    session: Session,
    viewer: Viewer,
    ticket_id: int,
    action: str,
    *,
    note: str | None = None,
    photos: list | None = None,
    assignee_staff_id: int | None = None,
    assignee_org_id: int | None = None,
    duplicate_of: int | None = None,
    rating: str | None = None,
    placement: Placement | None = None,
    lon: float | None = None,
    lat: float | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    """Perform `action` on a ticket as `viewer`. Raises WorkflowError or AccessDenied; on either,
    nothing has been written."""
    at = at or utcnow()
    ticket = load_ticket(session, viewer, ticket_id, for_update=True)
    transition = check_transition(ticket.status, action)
    if not _may(viewer, transition, ticket):
        raise AccessDenied(f"role {viewer.role} may not {action} this ticket")
    handler = actions.HANDLERS[action]
    data = (
        handler(
            session,
            ticket,
            at=at,
            note=note,
            photos=list(photos or []),
            assignee_staff_id=assignee_staff_id,
            assignee_org_id=assignee_org_id,
            duplicate_of=duplicate_of,
            rating=rating,
            placement=placement,
            lon=lon,
            lat=lat,
            viewer=viewer,
        )
        or {}
    )
    from_status = ticket.status
    to_status = data.pop("_to", transition.target) or from_status
    ticket.status = to_status
    ticket.updated_at = at
    event = _record(
        session,
        ticket,
        viewer,
        action,
        from_status,
        to_status,
        at,
        note=note,
        photos=list(photos or []),
        data=data,
        previous_grid_id=data.get("previous_grid_id"),
    )
    return event


def _record(
    session: Session,
    ticket: Ticket,
    viewer: Viewer,
    action: str,
    from_status: str | None,
    to_status: str | None,
    at: datetime,
    *,
    note: str | None = None,
    photos: list | None = None,
    data: dict | None = None,
    previous_grid_id: int | None = None,
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket.id,
        at=at,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor_role=viewer.role,
        actor_staff_id=viewer.staff_id,
        actor_name=viewer.name or None,
        note=note,
        photos=photos or [],
        data=data or {},
        grid_id=ticket.grid_id,
        previous_grid_id=previous_grid_id,
    )
    session.add(event)
    session.flush()
    audit.record_ticket_event(session, viewer, event)  # same transaction: no change goes unaudited
    return event


assert set(actions.HANDLERS) == set(TRANSITIONS)
