"""What each workflow action does to a ticket: one handler per action of data.workflow.TRANSITIONS.

A handler checks the action's own inputs (raising WorkflowError before anything is written),
sets the ticket's fields and returns the event's data; data.workflow.apply has already checked
the state, the role and the scope, and writes the event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import dispatch
from data.errors import WorkflowError
from data.models import ESCALATION_LEVELS, RATINGS, Escalation, Rating, Ticket, TicketEvent
from data.placement import Placement


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
    staff_id, org_id = dispatch.choose_assignee(session, ticket, assignee_staff_id, assignee_org_id)
    ticket.assignee_staff_id, ticket.assignee_org_id = staff_id, org_id
    ticket.dispatched_at = at
    ticket.responded_at = None
    dispatch.set_deadlines(session, ticket, at, response=True, handling=True)
    auto = assignee_staff_id is None and assignee_org_id is None
    return {"assignee_staff_id": staff_id, "assignee_org_id": org_id, "auto": auto}


def _reassign(session, ticket, *, at, assignee_staff_id, assignee_org_id, **_):
    if assignee_staff_id is None and assignee_org_id is None:
        raise WorkflowError("assignee_required", "reassigning (改派) needs a new assignee")
    staff_id, org_id = dispatch.choose_assignee(session, ticket, assignee_staff_id, assignee_org_id)
    previous = {"from_staff_id": ticket.assignee_staff_id, "from_org_id": ticket.assignee_org_id}
    ticket.assignee_staff_id, ticket.assignee_org_id = staff_id, org_id
    ticket.responded_at = None
    dispatch.set_deadlines(session, ticket, at, response=True, handling=False)
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
        raise WorkflowError("not_unsatisfied", "only a ticket rated 不满意 can be reopened", kind="conflict")
    ticket.closed_at = None
    ticket.handled_at = None
    ticket.dispatched_at = at
    ticket.responded_at = None
    dispatch.set_deadlines(session, ticket, at, response=True, handling=True)
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
        raise WorkflowError("max_escalation", "the ticket is already escalated to the street", kind="conflict")
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
        staff_id, org_id = dispatch.auto_assignee(session, ticket)
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


HANDLERS = {
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
