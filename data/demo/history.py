"""A year of ticket history for the demo district, written in bulk.

Tickets are replayed step by step through the same transition table as data.workflow
(`check_transition` validates every step), with deadlines from data.deadlines, so the history is
one the live system could have produced: daily and weekly rhythm, hot spots, about half of the
property companies' orders answered in time and the rest after community supervision, some
rework, overdue orders escalated to the street, ratings and a few reopened orders. Steps later
than `now` have not happened yet, so recent tickets are open in every state; escalations due in
the last two hours are left for the first deadline sweep to find, as if the scheduler had been
off for a while. When, where and what is reported is data.demo.rhythm's model, which the live
simulator draws from too.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from data import deadlines
from data.clock import utcnow
from data.demo.district import DemoWorld
from data.demo.reference import DESCRIPTIONS
from data.demo.rhythm import PER_GRID_PER_DAY, kinds
from data.demo.rhythm import creation_times as _creation_times
from data.demo.rhythm import locations as _locations
from data.locate import GridLocator
from data.models import Escalation, Rating, Ticket, TicketEvent
from data.workflow import check_transition

SWEEP_LAG = timedelta(hours=2)


@dataclass
class Bulk:
    tickets: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    escalations: list[dict] = field(default_factory=list)
    ratings: list[dict] = field(default_factory=list)


def generate_history(
    session: Session,
    world: DemoWorld,
    locator: GridLocator,
    rng: np.random.Generator,
    *,
    days: int,
    per_grid_per_day: float = PER_GRID_PER_DAY,
    now: datetime | None = None,
    photos: list[str],
    people: list[tuple[str, str]],
    progress=lambda done, total: None,
) -> dict:
    now = now or utcnow()
    created = _creation_times(rng, now, days, per_grid_per_day * len(world.grid_ids))
    n = len(created)
    lon, lat = _locations(rng, world, n)
    idx, match = locator.place_many(lon, lat)

    cats, cat_choice, source_names, sources = kinds(rng, world.categories, n)
    calendar = deadlines.WorkCalendar(days=_holidays(session))

    bulk = Bulk()
    last_of_category: dict[int, int] = {}
    for i in range(n):
        category = cats[cat_choice[i]]
        place = locator.placement_at(int(idx[i]), str(match[i]))
        source = source_names[sources[i]]
        name, phone = people[int(rng.integers(len(people)))] if source in ("resident", "hotline") else (None, None)
        ticket = _replay(
            i + 1,
            rng,
            created[i],
            now,
            category,
            place,
            world,
            calendar,
            photos,
            duplicate_of=last_of_category.get(category.id),
            bulk=bulk,
        )
        texts = DESCRIPTIONS.get(category.name, (category.name,))
        ticket.update(
            source=source,
            external_id=None,
            public_token=secrets.token_urlsafe(12),
            category_id=category.id,
            priority=1 if category.response_hours <= 2 else 2,
            description=texts[int(rng.integers(len(texts)))],
            address=None,
            reporter_name=name,
            reporter_phone=phone,
            lon=float(lon[i]),
            lat=float(lat[i]),
            location_match=place.match,
            grid_id=place.grid_id,
            community_id=place.community_id,
            street_id=place.street_id,
            boundary_id=place.boundary_id,
            created_at=created[i],
        )
        bulk.tickets.append(ticket)
        last_of_category[category.id] = i + 1
        if i % 5000 == 0:
            progress(i, n)
    progress(n, n)
    _write(session, bulk)
    return {
        "tickets": n,
        "events": len(bulk.events),
        "escalations": len(bulk.escalations),
        "ratings": len(bulk.ratings),
    }


def _holidays(session: Session) -> dict:
    from sqlalchemy import select

    from data.models import Holiday

    return {h.day: h.is_workday for h in session.scalars(select(Holiday))}


def _hours(h: float) -> timedelta:
    return timedelta(seconds=float(h) * 3600)


def _replay(tid, rng, created, now, category, place, world, calendar, photos, *, duplicate_of, bulk) -> dict:
    """One ticket's life up to `now`; returns the ticket row's workflow fields."""
    t = dict(
        id=tid,
        status="reported",
        assignee_staff_id=None,
        assignee_org_id=None,
        escalation_level=0,
        overdue=False,
        rework_count=0,
        duplicate_of_id=None,
        rating=None,
        photos=[],
        accepted_at=None,
        dispatched_at=None,
        responded_at=None,
        handled_at=None,
        closed_at=None,
        rated_at=None,
        response_due_at=None,
        handle_due_at=None,
        updated_at=created,
    )
    dispatcher = world.dispatcher_ids[tid % len(world.dispatcher_ids)]
    events = bulk.events

    def step(action, at, actor_role, *, actor=None, note=None, ev_photos=(), data=None, to=None) -> bool:
        if at > now:
            return False
        transition = check_transition(t["status"], action)
        to_status = to or transition.target or t["status"]
        events.append(
            dict(
                ticket_id=tid,
                at=at,
                action=action,
                from_status=t["status"],
                to_status=to_status,
                actor_role=actor_role,
                actor_staff_id=actor,
                actor_name=None,
                note=note,
                photos=list(ev_photos),
                data=data or {},
                grid_id=place.grid_id,
                previous_grid_id=None,
            )
        )
        t["status"] = to_status
        t["updated_at"] = at
        return True

    events.append(
        dict(
            ticket_id=tid,
            at=created,
            action="report",
            from_status=None,
            to_status="reported",
            actor_role="resident",
            actor_staff_id=None,
            actor_name=None,
            note=None,
            photos=[],
            data={},
            grid_id=place.grid_id,
            previous_grid_id=None,
        )
    )
    at = created + timedelta(minutes=float(rng.uniform(4, 75)))
    roll = rng.random()
    if roll < 0.03:
        step("reject", at, "dispatcher", actor=dispatcher, note="不属于受理范围")
        return t
    if roll < 0.06 and duplicate_of:
        if step("mark_duplicate", at, "dispatcher", actor=dispatcher, data={"duplicate_of": duplicate_of}):
            t["duplicate_of_id"] = duplicate_of
        return t
    if not step("accept", at, "dispatcher", actor=dispatcher):
        return t
    t["accepted_at"] = at

    if place.grid_id is None:
        return t  # outside every grid: waits in the unassigned queue for a manual dispatch
    is_property = category.property_matter and world.property_of.get(place.grid_id)
    staff = None if is_property else world.worker_of[place.grid_id]
    org = world.property_of[place.grid_id] if is_property else None
    at += timedelta(minutes=float(rng.uniform(1, 20)))
    if not _dispatch(t, step, at, staff, org, category, calendar, auto=True):
        return t

    rounds = 0
    while True:
        rounds += 1
        # Response (接单): property companies answer in time about half the time; the rest answer
        # after the community's supervision (督办). Grid workers are mostly prompt.
        in_time = rng.random() < (0.5 if is_property else 0.88)
        due = t["response_due_at"]
        if in_time:
            at = t["dispatched_at"] + (due - t["dispatched_at"]) * float(rng.uniform(0.05, 0.9))
        else:
            at = due + _hours(rng.uniform(0.3, 8))
            if due <= now - SWEEP_LAG:
                _escalate(t, step, bulk, due, 1, "response_timeout")
        if not step("respond", at, "property" if is_property else "grid_worker", actor=staff):
            return t
        t["responded_at"] = at

        # Handling: mostly well inside the limit, some late (overdue → the street).
        handle_due = t["handle_due_at"]
        late = rng.random() < 0.08
        span = (handle_due - t["dispatched_at"]).total_seconds()
        if late:
            at = handle_due + _hours(rng.uniform(1, 48))
        else:
            at = max(
                at + timedelta(minutes=20), t["dispatched_at"] + timedelta(seconds=span * float(rng.uniform(0.1, 0.85)))
            )
        if handle_due <= now - SWEEP_LAG and at > handle_due:
            t["overdue"] = True
            # The sweep would have fired at the deadline; events stay in time order per ticket.
            _escalate(t, step, bulk, max(handle_due, t["responded_at"]), 2, "handling_overdue")
        for attempt in range(3):
            photo = photos[int(rng.integers(len(photos)))]
            if not step(
                "handle",
                at,
                "property" if is_property else "grid_worker",
                actor=staff,
                note="已处理完毕",
                ev_photos=[photo],
            ):
                return t
            t["handled_at"] = at
            t["photos"] = [*t["photos"], photo]
            at += _hours(rng.uniform(0.3, 6))
            if attempt == 0 and rng.random() < 0.07:
                if not step("send_back", at, "dispatcher", actor=dispatcher, note="现场核查未处理到位"):
                    return t
                t["rework_count"] += 1
                t["handled_at"] = None
                at += _hours(rng.uniform(1, 20))
                continue
            break
        if not step("verify_close", at, "dispatcher", actor=dispatcher, data={"on_time": at <= t["handle_due_at"]}):
            return t
        t["closed_at"] = at

        if rng.random() > 0.7:
            return t
        at += _hours(rng.uniform(1, 48))
        r = rng.random()
        value = "satisfied" if r < 0.8 or rounds > 1 else ("basic" if r < 0.94 else "unsatisfied")
        if not step("rate", at, "resident", data={"rating": value}):
            return t
        t["rating"], t["rated_at"] = value, at
        bulk.ratings.append(dict(ticket_id=tid, at=at, value=value, comment=None))
        if value != "unsatisfied" or rng.random() > 0.3:
            return t
        at += _hours(rng.uniform(0.5, 6))
        if not step("reopen", at, "resident", to="dispatched"):
            return t
        t["closed_at"] = t["handled_at"] = t["responded_at"] = None
        _deadlines(t, at, category, calendar)
        t["dispatched_at"] = at


def _dispatch(t, step, at, staff, org, category, calendar, *, auto) -> bool:
    data = {"assignee_staff_id": staff, "assignee_org_id": org, "auto": auto}
    if not step("dispatch", at, "system", data=data):
        return False
    t["assignee_staff_id"], t["assignee_org_id"] = staff, org
    t["dispatched_at"] = at
    _deadlines(t, at, category, calendar)
    return True


def _deadlines(t, at, category, calendar) -> None:
    t["response_due_at"] = deadlines.due_at(
        at, category.response_hours, working_hours=category.working_hours, calendar=calendar
    )
    t["handle_due_at"] = deadlines.due_at(
        at, category.handling_hours, working_hours=category.working_hours, calendar=calendar
    )


def _escalate(t, step, bulk, at, level, reason) -> None:
    if t["escalation_level"] >= level:
        return
    note = f"{'响应' if level == 1 else '处置'}超时，自动督办至{'社区' if level == 1 else '街道'}"
    if step("escalate", at, "system", note=note, data={"level": level, "reason": reason}):
        t["escalation_level"] = level
        bulk.escalations.append(
            dict(ticket_id=t["id"], level=level, reason=reason, at=at, event_index=len(bulk.events) - 1)
        )


def _write(session: Session, bulk: Bulk) -> None:
    order = sorted(range(len(bulk.events)), key=lambda k: bulk.events[k]["at"])
    event_id = {}
    for new_id, k in enumerate(order, start=1):
        bulk.events[k]["id"] = new_id
        event_id[k] = new_id
    for e in bulk.escalations:
        e["event_id"] = event_id[e.pop("event_index")]
    chunk = 20000
    for table, rows in (
        (Ticket.__table__, bulk.tickets),
        (TicketEvent.__table__, [bulk.events[k] for k in order]),
        (Escalation.__table__, bulk.escalations),
        (Rating.__table__, bulk.ratings),
    ):
        for i in range(0, len(rows), chunk):
            session.execute(insert(table), rows[i : i + chunk])
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        for table in ("tickets", "ticket_events", "escalations", "ratings"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
                )
            )
