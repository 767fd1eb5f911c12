"""What each workflow action does to a ticket: one effect per action of the transition table.

An effect reads the action's own inputs from the `ActionInput`, raises WorkflowError before
anything is written when they are wrong, sets the ticket's fields and returns the event's data
(`_to` overrides the target status, `_note` supplies the event's note). data.workflow.step has
already checked the state and the role; `ctx` (data.workflow.context) is the only way an effect
looks anything up, so the live system and the bulk writers run the same code.
"""

from __future__ import annotations

from datetime import datetime

from data import quality
from data.errors import WorkflowError
from data.models import ESCALATION_LEVELS, RATINGS
from data.workflow import dispatch
from data.workflow.inputs import ActionInput

# Automatic escalations (the deadline sweep). Their event carries the reason and the level in its
# data and no note of its own: the dashboard words it (dashboard.labels.event_note).
AUTOMATIC_REASONS = ("response_timeout", "handling_overdue")


def _need(value, code: str, message: str):
    if value is None or value == "" or value == () or value == []:
        raise WorkflowError(code, message)
    return value


def _accept(ctx, ticket, inp: ActionInput):
    ticket.accepted_at = inp.at


def _reject(ctx, ticket, inp: ActionInput):
    _need(inp.note, "reason_required", "rejecting (作废) needs a reason")


def _mark_duplicate(ctx, ticket, inp: ActionInput):
    original = _need(inp.duplicate_of, "duplicate_of_required", "marking a duplicate needs the original ticket id")
    if original == ticket.id or not ctx.ticket_exists(original):
        raise WorkflowError("bad_duplicate_of", f"ticket {original} cannot be the original of {ticket.id}")
    ticket.duplicate_of_id = original
    return {"duplicate_of": original}


def _dispatch(ctx, ticket, inp: ActionInput):
    staff_id, org_id = dispatch.choose_assignee(ctx, ticket, inp.assignee_staff_id, inp.assignee_org_id)
    ticket.assignee_staff_id, ticket.assignee_org_id = staff_id, org_id
    ticket.dispatched_at = inp.at
    ticket.responded_at = None
    dispatch.set_deadlines(ctx, ticket, inp.at, response=True, handling=True)
    auto = inp.assignee_staff_id is None and inp.assignee_org_id is None
    return {"assignee_staff_id": staff_id, "assignee_org_id": org_id, "auto": auto}


def _reassign(ctx, ticket, inp: ActionInput):
    if inp.assignee_staff_id is None and inp.assignee_org_id is None:
        raise WorkflowError("assignee_required", "reassigning (改派) needs a new assignee")
    staff_id, org_id = dispatch.choose_assignee(ctx, ticket, inp.assignee_staff_id, inp.assignee_org_id)
    previous = {"from_staff_id": ticket.assignee_staff_id, "from_org_id": ticket.assignee_org_id}
    ticket.assignee_staff_id, ticket.assignee_org_id = staff_id, org_id
    ticket.responded_at = None
    dispatch.set_deadlines(ctx, ticket, inp.at, response=True, handling=False)
    return {"assignee_staff_id": staff_id, "assignee_org_id": org_id, **previous}


def _respond(ctx, ticket, inp: ActionInput):
    ticket.responded_at = inp.at


def _handle(ctx, ticket, inp: ActionInput):
    _need(inp.photos, "photo_required", "the result (处理反馈) needs at least one photo")
    ticket.handled_at = inp.at
    ticket.photos = list(ticket.photos or []) + list(inp.photos)


def _verify_close(ctx, ticket, inp: ActionInput):
    ticket.closed_at = inp.at
    return {"on_time": ticket.handle_due_at is None or inp.at <= ticket.handle_due_at}


def _send_back(ctx, ticket, inp: ActionInput):
    _need(inp.note, "reason_required", "sending back for rework (返工) needs a reason")
    ticket.rework_count += 1
    ticket.handled_at = None
    return {"rework": ticket.rework_count}


def _rate(ctx, ticket, inp: ActionInput):
    if inp.rating not in RATINGS:
        raise WorkflowError("bad_rating", f"rating must be one of {', '.join(RATINGS)}")
    ticket.rating = inp.rating
    ticket.rated_at = inp.at
    ctx.rated(ticket.id, inp.rating, inp.note, inp.at)
    return {"rating": inp.rating}


def _reopen(ctx, ticket, inp: ActionInput):
    if ticket.rating != "unsatisfied":
        raise WorkflowError("not_unsatisfied", "only a ticket rated 不满意 can be reopened", kind="conflict")
    ticket.closed_at = None
    ticket.handled_at = None
    ticket.dispatched_at = inp.at
    ticket.responded_at = None
    dispatch.set_deadlines(ctx, ticket, inp.at, response=True, handling=True)
    return {}


def _suspend(ctx, ticket, inp: ActionInput):
    _need(inp.note, "reason_required", "suspending (挂账) needs a reason")
    return {"resume_to": ticket.status, "suspended_at": inp.at.isoformat()}


def _resume(ctx, ticket, inp: ActionInput):
    last = ctx.last_suspension(ticket.id)
    resume_to = last[1].get("resume_to", "accepted") if last else "accepted"
    if last is not None and ticket.handle_due_at is not None:
        # The clock stops while a ticket is suspended: the deadline moves by the time it lay.
        ticket.handle_due_at = ticket.handle_due_at + (inp.at - last[0])
        ticket.overdue = False
    return {"_to": resume_to}


def _escalate(ctx, ticket, inp: ActionInput):
    """督办: by a person (manual, one level up, with a reason), or by the deadline sweep
    (`data` gives the level and an automatic reason; the note says what ran out)."""
    reason = inp.data.get("reason", "manual")
    level = int(inp.data.get("level") or ticket.escalation_level + 1)
    if level > max(ESCALATION_LEVELS):
        raise WorkflowError("max_escalation", "the ticket is already escalated to the street", kind="conflict")
    if level <= ticket.escalation_level:
        raise WorkflowError("already_escalated", f"the ticket is already escalated to level {level}", kind="conflict")
    if reason == "manual":
        note = _need(inp.note, "reason_required", "a manual escalation (督办) needs a reason")
    elif reason in AUTOMATIC_REASONS:
        note = inp.note
    else:
        raise WorkflowError("bad_reason", f"unknown escalation reason {reason!r}")
    ticket.escalation_level = level
    ctx.escalated(ticket.id, level, reason, inp.at)
    return {"level": level, "to": ESCALATION_LEVELS[level], "reason": reason, "_note": note}


def _relocate(ctx, ticket, inp: ActionInput):
    if inp.placement is None or inp.lon is None or inp.lat is None:
        raise WorkflowError("location_required", "relocating needs the new point and its placement")
    return reroute(ctx, ticket, inp.placement, lon=inp.lon, lat=inp.lat)


def reroute(ctx, ticket, placement, *, lon=None, lat=None) -> dict:
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
        staff_id, org_id = dispatch.auto_assignee(ctx, ticket)
        if staff_id or org_id:
            data.update(from_staff_id=ticket.assignee_staff_id, from_org_id=ticket.assignee_org_id)
            ticket.assignee_staff_id, ticket.assignee_org_id = staff_id, org_id
            data.update(assignee_staff_id=staff_id, assignee_org_id=org_id)
    _location_flags(ticket)
    return data


def _location_flags(ticket) -> None:
    """An imported ticket's location flags follow where it now is (data.quality)."""
    if getattr(ticket, "system", None) is not None:
        ticket.data_quality = quality.with_location(ticket.data_quality, lon=ticket.lon, grid_id=ticket.grid_id)


def _regrid(ctx, ticket, inp: ActionInput):
    if inp.placement is None:
        raise WorkflowError("placement_required", "re-routing after a grid change needs the new placement")
    return reroute(ctx, ticket, inp.placement)


# The columns another system controls for the tickets it exported (issue #13): a re-import sets
# them through `sync`. The importer (data.importers.ticket_writer) works out their values.
SYNC_COLUMNS = frozenset(
    {
        "status",
        "source_status",
        "source_record",
        "data_quality",
        "accepted_at",
        "dispatched_at",
        "handled_at",
        "closed_at",
        "handle_due_at",
        "overdue",
        "assignee_staff_id",
        "assignee_org_id",
    }
)


def _sync(ctx, ticket, inp: ActionInput):
    """The ticket's own system says something new of it (python app.py import-tickets on a newer
    export): set the columns it controls (`data["fields"]`) and move it to its new point. The
    event keeps every changed value as [before, after]."""
    data = inp.data or {}
    fields = dict(data.get("fields") or {})
    if not fields and inp.placement is None:
        raise WorkflowError("nothing_to_sync", "a sync needs the fields its system changed")
    unknown = set(fields) - SYNC_COLUMNS
    if unknown:
        raise WorkflowError("bad_sync", f"a sync cannot set {', '.join(sorted(unknown))}")
    out: dict = {k: data[k] for k in ("file", "line") if k in data}
    changed = {}
    for name, value in fields.items():
        before = getattr(ticket, name)
        if before != value and name != "source_record":
            changed[name] = [_plain(before), _plain(value)]
        if name != "status":  # step moves the status (`_to`), after reading where it was
            setattr(ticket, name, value)
    if inp.placement is not None and (inp.lon, inp.lat) != (ticket.lon, ticket.lat):
        changed["location"] = [[ticket.lon, ticket.lat], [inp.lon, inp.lat]]
        out.update(reroute(ctx, ticket, inp.placement, lon=inp.lon, lat=inp.lat))
        ticket.lon, ticket.lat = inp.lon, inp.lat  # also when the source has no point any more
        _location_flags(ticket)
    return {**out, "changed": changed, "_to": fields.get("status")}


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _comment(ctx, ticket, inp: ActionInput):
    alarm = inp.data.get("repeat_alarm")  # an IoT device alarmed again (data.intake.iot): codes, no words
    if alarm:
        return {"repeat_alarm": dict(alarm)}
    _need(inp.note, "note_required", "a comment needs text")


EFFECTS = {
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
    "sync": _sync,
    "comment": _comment,
}
