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

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import audit, deadlines
from data.access import AccessDenied, Viewer, load_ticket
from data.clock import utcnow
from data.models import (
    ESCALATION_LEVELS,
    OPEN_STATUSES,
    RATINGS,
    Category,
    Escalation,
    GridTeam,
    Holiday,
    Rating,
    Region,
    Staff,
    Ticket,
    TicketEvent,
)

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


class WorkflowError(Exception):
    """An action refused: `code` is machine-readable, the message says why in plain words."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def check_transition(status: str, action: str) -> Transition:
    """The transition for `action` from `status`, or WorkflowError."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise WorkflowError("unknown_action", f"unknown action {action!r}")
    if status not in transition.sources:
        raise WorkflowError(
            "invalid_state",
            f"cannot {action} a ticket that is {status} ({STATUS_LABELS.get(status, status)})",
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


@dataclass(frozen=True)
class Placement:
    """Where a point falls: see data.locate."""

    grid_id: int | None
    community_id: int | None
    street_id: int | None
    boundary_id: int | None
    match: str


UNPLACED = Placement(None, None, None, None, "unassigned")


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
    handler = _HANDLERS[action]
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


def _need(value, code: str, message: str):
    if value is None or value == "" or value == []:
        raise WorkflowError(code, message)
    return value


def _accept(session, ticket, *, at, **_):
    ticket.accepted_at = at


def _reject(session, ticket, *, note, **_):
    _need(note, "reason_required", "rejecting (作废) needs a reason")


def _mark_duplicate(session, ticket, *, duplicate_of, **_):
    _need(duplicate_of, "duplicate_of_required", "marking a duplicate needs the original ticket id")
    if duplicate_of == ticket.id or session.get(Ticket, duplicate_of) is None:
        raise WorkflowError("bad_duplicate_of", f"ticket {duplicate_of} cannot be the original of {ticket.id}")
    ticket.duplicate_of_id = duplicate_of
    return {"duplicate_of": duplicate_of}


def _dispatch(session, ticket, *, at, assignee_staff_id, assignee_org_id, **_):
    staff_id, org_id = _choose_assignee(session, ticket, assignee_staff_id, assignee_org_id)
    ticket.assignee_staff_id, ticket.assignee_org_id = staff_id, org_id
    ticket.dispatched_at = at
    ticket.responded_at = None
    _set_deadlines(session, ticket, at, response=True, handling=True)
    auto = assignee_staff_id is None and assignee_org_id is None
    return {"assignee_staff_id": staff_id, "assignee_org_id": org_id, "auto": auto}


def _reassign(session, ticket, *, at, assignee_staff_id, assignee_org_id, **_):
    if assignee_staff_id is None and assignee_org_id is None:
        raise WorkflowError("assignee_required", "reassigning (改派) needs a new assignee")
    staff_id, org_id = _choose_assignee(session, ticket, assignee_staff_id, assignee_org_id)
    previous = {"from_staff_id": ticket.assignee_staff_id, "from_org_id": ticket.assignee_org_id}
    ticket.assignee_staff_id, ticket.assignee_org_id = staff_id, org_id
    ticket.responded_at = None
    _set_deadlines(session, ticket, at, response=True, handling=False)
    return {"assignee_staff_id": staff_id, "assignee_org_id": org_id, **previous}


def _respond(session, ticket, *, at, **_):
    ticket.responded_at = at


def _handle(session, ticket, *, at, note, photos, **_):
    _need(photos, "photo_required", "the result (处理反馈) needs at least one photo")
    ticket.handled_at = at
    ticket.photos = list(ticket.photos or []) + list(photos)


def _verify_close(session, ticket, *, at, **_):
    ticket.closed_at = at
    return {"on_time": ticket.handle_due_at is None or at <= ticket.handle_due_at}


def _send_back(session, ticket, *, note, **_):
    _need(note, "reason_required", "sending back for rework (返工) needs a reason")
    ticket.rework_count += 1
    ticket.handled_at = None
    return {"rework": ticket.rework_count}


def _rate(session, ticket, *, at, rating, note, **_):
    if rating not in RATINGS:
        raise WorkflowError("bad_rating", f"rating must be one of {', '.join(RATINGS)}")
    ticket.rating = rating
    ticket.rated_at = at
    session.add(Rating(ticket_id=ticket.id, at=at, value=rating, comment=note))
    return {"rating": rating}


def _reopen(session, ticket, *, at, **_):
    if ticket.rating != "unsatisfied":
        raise WorkflowError("not_unsatisfied", "only a ticket rated 不满意 can be reopened")
    ticket.closed_at = None
    ticket.handled_at = None
    ticket.dispatched_at = at
    ticket.responded_at = None
    _set_deadlines(session, ticket, at, response=True, handling=True)
    return {}


def _suspend(session, ticket, *, at, note, **_):
    _need(note, "reason_required", "suspending (挂账) needs a reason")
    return {"resume_to": ticket.status, "suspended_at": at.isoformat()}


def _resume(session, ticket, *, at, **_):
    last = session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == "suspend")
        .order_by(TicketEvent.id.desc())
        .limit(1)
    ).first()
    resume_to = (last.data or {}).get("resume_to", "accepted") if last else "accepted"
    if last is not None and ticket.handle_due_at is not None:
        # The clock stops while a ticket is suspended: the deadline moves by the time it lay.
        ticket.handle_due_at = ticket.handle_due_at + (at - last.at)
        ticket.overdue = False
    return {"_to": resume_to}


def _escalate(session, ticket, *, at, note, viewer, **_):
    level = ticket.escalation_level + 1
    if level > max(ESCALATION_LEVELS):
        raise WorkflowError("max_escalation", "the ticket is already escalated to the street")
    _need(note, "reason_required", "a manual escalation (督办) needs a reason")
    ticket.escalation_level = level
    session.add(Escalation(ticket_id=ticket.id, level=level, reason="manual", at=at))
    return {"level": level, "to": ESCALATION_LEVELS[level], "reason": "manual"}


def _relocate(session, ticket, *, at, placement, lon, lat, **_):
    if placement is None or lon is None or lat is None:
        raise WorkflowError("location_required", "relocating needs the new point and its placement")
    return reroute(session, ticket, placement, lon=lon, lat=lat, at=at)


def reroute(session: Session, ticket: Ticket, placement: Placement, *, lon=None, lat=None, at: datetime) -> dict:
    """Move a ticket to the grid at its (new) location; an order already dispatched goes to the
    new grid's team. Returns the event data (previous grid and assignee)."""
    data = {
        "previous_grid_id": ticket.grid_id,
        "previous_lon": ticket.lon,
        "previous_lat": ticket.lat,
        "grid_id": placement.grid_id,
        "match": placement.match,
    }
    if lon is not None:
        ticket.lon, ticket.lat = lon, lat
    moved = placement.grid_id != ticket.grid_id
    ticket.grid_id = placement.grid_id
    ticket.community_id = placement.community_id
    ticket.street_id = placement.street_id
    ticket.boundary_id = placement.boundary_id
    ticket.location_match = placement.match
    if moved and ticket.status in ("dispatched", "in_progress"):
        staff_id, org_id = auto_assignee(session, ticket)
        if staff_id or org_id:
            data.update(from_staff_id=ticket.assignee_staff_id, from_org_id=ticket.assignee_org_id)
            ticket.assignee_staff_id, ticket.assignee_org_id = staff_id, org_id
            data.update(assignee_staff_id=staff_id, assignee_org_id=org_id)
    return data


def _regrid(session, ticket, *, at, placement, **_):
    if placement is None:
        raise WorkflowError("placement_required", "re-routing after a grid change needs the new placement")
    return reroute(session, ticket, placement, at=at)


def _comment(session, ticket, *, note, **_):
    _need(note, "note_required", "a comment needs text")


_HANDLERS = {
    "accept": _accept,
    "reject": _reject,
    "mark_duplicate": _mark_duplicate,
    "dispatch": _dispatch,
    "reassign": _reassign,
    "respond": _respond,
    "handle": _handle,
    "verify_close": _verify_close,
    "send_back": _send_back,
    "rate": _rate,
    "reopen": _reopen,
    "suspend": _suspend,
    "resume": _resume,
    "escalate": _escalate,
    "relocate": _relocate,
    "regrid": _regrid,
    "comment": _comment,
}
assert set(_HANDLERS) == set(TRANSITIONS)


# ----------------------------------------------------------------------------------------------
# Dispatch rules and deadlines.


def auto_assignee(session: Session, ticket: Ticket) -> tuple[int | None, int | None]:
    """The grid's property company for a property matter (when the grid has one), else the grid
    worker. (None, None) when the ticket has no grid or the grid has no team."""
    if ticket.grid_id is None:
        return None, None
    team = session.get(GridTeam, ticket.grid_id)
    if team is None:
        return None, None
    category = ticket.category or session.get(Category, ticket.category_id)
    if category.property_matter and team.property_company_id:
        return None, team.property_company_id
    return team.grid_worker_id, None


def _choose_assignee(session, ticket, staff_id, org_id) -> tuple[int | None, int | None]:
    if staff_id is None and org_id is None:
        staff_id, org_id = auto_assignee(session, ticket)
        if staff_id is None and org_id is None:
            raise WorkflowError(
                "no_assignee",
                "no automatic assignee: the ticket has no grid or the grid has no team; choose one",
            )
        return staff_id, org_id
    if staff_id is not None:
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.active:
            raise WorkflowError("bad_assignee", f"staff {staff_id} does not exist or is inactive")
        return staff_id, staff.organisation_id if org_id is None else org_id
    from data.models import Organisation

    if session.get(Organisation, org_id) is None:
        raise WorkflowError("bad_assignee", f"organisation {org_id} does not exist")
    return None, org_id


def work_calendar(session: Session, tz: str = "Asia/Shanghai") -> deadlines.WorkCalendar:
    days = {h.day: h.is_workday for h in session.scalars(select(Holiday))}
    return deadlines.WorkCalendar(days=days, tz=tz)


def _set_deadlines(session, ticket, at, *, response: bool, handling: bool) -> None:
    category = ticket.category or session.get(Category, ticket.category_id)
    calendar = work_calendar(session) if category.working_hours else deadlines.WorkCalendar()
    if response:
        ticket.response_due_at = deadlines.due_at(
            at, category.response_hours, working_hours=category.working_hours, calendar=calendar
        )
    if handling:
        ticket.handle_due_at = deadlines.due_at(
            at, category.handling_hours, working_hours=category.working_hours, calendar=calendar
        )
        ticket.overdue = False


def region_chain(session: Session, region_id: int | None) -> list[Region]:
    """The region and its ancestors, district first."""
    chain = []
    while region_id is not None:
        region = session.get(Region, region_id)
        if region is None:
            break
        chain.append(region)
        region_id = region.parent_id
    return list(reversed(chain))
