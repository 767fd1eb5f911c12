"""A year of ticket history for the demo district, written in bulk.

Each ticket's life is decided here (when it is accepted, how fast its assignee answers, whether it
is sent back, rated, reopened) but every step is taken by the product's own transition code:
data.workflow.step checks the state and the role and runs the action's effect (dispatch to the
grid's team, deadlines from data.deadlines, escalation rows, ratings) on an in-memory ticket,
through a data.workflow.MemoryContext. So the history is one the live system could have produced,
and it cannot drift from the workflow: daily and weekly rhythm, hot spots, about half of the
property companies' orders answered in time and the rest after community supervision, some
rework, overdue orders escalated to the street, ratings and a few reopened orders. Steps later
than `now` have not happened yet, so recent tickets are open in every state; escalations due in
the last two hours are left for the first deadline sweep to find, as if the scheduler had been
off for a while. When, where and what is reported is data.demo.rhythm's model, which the live
simulator draws from too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from data import deadlines, workflow
from data.access import Viewer
from data.clock import utcnow
from data.demo import rhythm
from data.demo.district import DemoWorld
from data.demo.reference import DESCRIPTIONS
from data.demo.rhythm import PER_GRID_PER_DAY, kinds
from data.demo.rhythm import creation_times as _creation_times
from data.demo.rhythm import locations as _locations
from data.locate import GridLocator
from data.models import Escalation, Rating, Ticket, TicketEvent
from data.workflow import ActionInput

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

    bulk = Bulk()
    life = Life(world, bulk, deadlines.WorkCalendar(days=_holidays(session)), photos, now, rng)
    last_of_category: dict[int, int] = {}
    for i in range(n):
        category = cats[cat_choice[i]]
        place = locator.placement_at(int(idx[i]), str(match[i]))
        source = source_names[sources[i]]
        name, phone = people[int(rng.integers(len(people)))] if source in ("resident", "hotline") else (None, None)
        texts = DESCRIPTIONS.get(category.name, (category.name,))
        submission = workflow.Submission(
            source=source,
            category_id=category.id,
            description=texts[int(rng.integers(len(texts)))],
            lon=float(lon[i]),
            lat=float(lat[i]),
            placement=place,
            priority=1 if category.response_hours <= 2 else 2,
            reporter_name=name,
            reporter_phone=phone,
        )
        life.live(i + 1, submission, created[i], duplicate_of=last_of_category.get(category.id))
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


class Life:
    """Lives tickets through data.workflow.step, collecting their rows in `bulk`."""

    def __init__(self, world: DemoWorld, bulk: Bulk, calendar, photos: list[str], now: datetime, rng):
        self.world, self.bulk, self.photos, self.now, self.rng = world, bulk, photos, now, rng
        self.ctx = workflow.MemoryContext(
            categories={c.id: c for c in world.categories},
            teams={g: workflow.Team(world.worker_of.get(g), world.property_of.get(g)) for g in world.grid_ids},
            calendar=calendar,
        )
        self.system = Viewer.system()
        self.dispatchers = [Viewer(role="dispatcher", staff_id=d) for d in world.dispatcher_ids]

    def live(self, tid: int, submission: workflow.Submission, created: datetime, *, duplicate_of: int | None) -> None:
        """One ticket's life up to `now`: its row and events go into the bulk lists."""
        ticket = SimpleNamespace(id=tid, **workflow.ticket_fields(submission, created))
        self.ticket, self.category = ticket, self.ctx.category(submission.category_id)
        self.dispatcher = self.dispatchers[tid % len(self.dispatchers)]
        self.bulk.events.append(
            workflow.event_fields(ticket, Viewer(role="resident"), "report", None, "reported", created)
        )
        self.ctx.known.add(tid)
        self._life(created, duplicate_of)
        self.bulk.tickets.append(vars(ticket))

    def step(self, viewer: Viewer, action: str, at: datetime, **fields) -> bool:
        """Take one step if its time has come (else the ticket stays where it is now)."""
        if at > self.now:
            return False
        self.bulk.events.append(workflow.step(self.ctx, viewer, self.ticket, ActionInput(action, at=at, **fields)))
        for kind, row in self.ctx.take_pending():
            rows = self.bulk.escalations if kind == "escalation" else self.bulk.ratings
            rows.append({**row, "event_index": len(self.bulk.events) - 1} if kind == "escalation" else row)
        return True

    def _life(self, created: datetime, duplicate_of: int | None) -> None:
        t, rng = self.ticket, self.rng
        at = created + timedelta(minutes=float(rng.uniform(*rhythm.ACCEPT_MINUTES)))
        roll = rng.random()
        if roll < rhythm.REJECT_SHARE:
            self.step(self.dispatcher, "reject", at, note="不属于受理范围")
            return
        if roll < rhythm.REJECT_SHARE + rhythm.DUPLICATE_SHARE and duplicate_of:
            self.step(self.dispatcher, "mark_duplicate", at, duplicate_of=duplicate_of)
            return
        if not self.step(self.dispatcher, "accept", at) or t.grid_id is None:
            return  # (outside every grid: waits in the unassigned queue for a manual dispatch)
        at += timedelta(minutes=float(rng.uniform(*rhythm.DISPATCH_MINUTES)))
        if not self.step(self.system, "dispatch", at):
            return
        rounds = 0
        while True:
            rounds += 1
            assignee = (
                Viewer(role="property", organisation_id=t.assignee_org_id)
                if t.assignee_org_id
                else Viewer(role="grid_worker", staff_id=t.assignee_staff_id)
            )
            # Response (接单): property companies answer in time about half the time; the rest answer
            # after the community's supervision (督办). Grid workers are mostly prompt.
            in_time = rng.random() < rhythm.RESPOND_IN_TIME["property" if t.assignee_org_id else "grid_worker"]
            due = t.response_due_at
            if in_time:
                at = t.dispatched_at + (due - t.dispatched_at) * float(rng.uniform(*rhythm.RESPOND_IN_TIME_SPAN))
            else:
                at = due + _hours(rng.uniform(*rhythm.RESPOND_LATE_HOURS))
                if due <= self.now - SWEEP_LAG:
                    self._escalate(due, 1, "response_timeout")
            if not self.step(assignee, "respond", at):
                return

            # Handling: mostly well inside the limit, some late (overdue → the street).
            handle_due = t.handle_due_at
            span = (handle_due - t.dispatched_at).total_seconds()
            if rng.random() < rhythm.HANDLE_LATE_SHARE:
                at = handle_due + _hours(rng.uniform(*rhythm.HANDLE_LATE_HOURS))
            else:
                at = max(
                    at + timedelta(minutes=20),
                    t.dispatched_at + timedelta(seconds=span * float(rng.uniform(*rhythm.HANDLE_SPAN))),
                )
            if handle_due <= self.now - SWEEP_LAG and at > handle_due:
                t.overdue = True  # the sweep's flag, then its escalation at the deadline
                self._escalate(max(handle_due, t.responded_at), 2, "handling_overdue")
            for attempt in range(3):
                photo = self.photos[int(rng.integers(len(self.photos)))]
                if not self.step(assignee, "handle", at, note="已处理完毕", photos=(photo,)):
                    return
                at += _hours(rng.uniform(*rhythm.VERIFY_HOURS))
                if attempt == 0 and rng.random() < rhythm.SEND_BACK_SHARE:
                    if not self.step(self.dispatcher, "send_back", at, note="现场核查未处理到位"):
                        return
                    at += _hours(rng.uniform(*rhythm.REWORK_HOURS))
                    continue
                break
            if not self.step(self.dispatcher, "verify_close", at):
                return

            if rng.random() >= rhythm.RATED_SHARE:
                return
            at += _hours(rng.uniform(*rhythm.RATE_HOURS))
            r = rng.random()
            # rhythm.RATINGS (80 / 14 / 6), and a reopened order is rated satisfied the second time.
            value = "satisfied" if r < 0.8 or rounds > 1 else ("basic" if r < 0.94 else "unsatisfied")
            resident = Viewer(role="resident", ticket_token=t.public_token)
            if not self.step(resident, "rate", at, rating=value):
                return
            if value != "unsatisfied" or rng.random() > 0.3:
                return
            at += _hours(rng.uniform(0.5, 6))
            if not self.step(resident, "reopen", at):
                return

    def _escalate(self, at: datetime, level: int, reason: str) -> None:
        if self.ticket.escalation_level < level:
            self.step(self.system, "escalate", at, data={"level": level, "reason": reason})


def _hours(h: float) -> timedelta:
    return timedelta(seconds=float(h) * 3600)


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
