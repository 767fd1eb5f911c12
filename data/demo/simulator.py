"""Keeps the demo district alive in serve mode, at the pace of its own history (issue #13).

Each tick (the scheduler's `simulate` job, every GCC_SIMULATE_SECONDS):
- new reports: a Poisson number with the expected count of data.demo.rhythm for the tick's
  length at the local hour and weekday (times GCC_SIMULATE_SPEED), placed, categorised and
  channelled by the same model as the history, at times spread over the tick;
- open orders: each has its next step and when it is due by the history's timings
  (data.demo.rhythm.next_step, stable from tick to tick); the steps due by now are taken, oldest
  first (at most MAX_STEPS_PER_TICK). A step that fell due while the simulator was not running
  (before the history's end, or during a pause of the scheduler) waits its delay again from the
  moment the simulator resumed, so a start does not fire a burst of steps at once.
Everything goes through data.workflow like real users, so every step is an event the aggregates
see. The clock (`now`) and the tick length are arguments, so a test runs a simulated day without
sleeping.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select

from data import workflow
from data.access import Viewer
from data.clock import utcnow
from data.db import Database
from data.demo import rhythm
from data.demo.photos import demo_photos
from data.demo.reference import DESCRIPTIONS
from data.locate import locator
from data.models import AppState, Category, Region, Staff, Ticket
from data.settings import Settings

MAX_STEPS_PER_TICK = 25
LAST_TICK, RESUMED = "demo.simulator.last_tick", "demo.simulator.resumed_at"
ADVANCING = ("reported", "accepted", "dispatched", "in_progress", "handled")
RATING_WINDOW = timedelta(hours=rhythm.RATE_HOURS[1])
_areas: dict[tuple, rhythm.Area] = {}  # per grid-boundary set; derived, read-only
_areas_lock = threading.Lock()


def step(
    db: Database,
    settings: Settings,
    rng: np.random.Generator | None = None,
    *,
    now: datetime | None = None,
    seconds: float | None = None,
) -> dict:
    """One tick ending at `now` (default: the clock) and lasting `seconds` (default: the job's
    interval). Returns what it did."""
    rng = rng if rng is not None else np.random.default_rng()
    now = now or utcnow()
    seconds = float(settings.gcc_simulate_seconds if seconds is None else seconds)
    speed = settings.gcc_simulate_speed
    with db.session() as session:
        loc = locator(session)
        if loc.index is None:
            return {"created": 0, "advanced": 0}
        resumed = _resumed_at(session, now, seconds)
        expected = (
            rhythm.expected_reports(now - timedelta(seconds=seconds), now, len(loc.codes), settings.gcc_timezone)
            * speed
        )
        count = int(rng.poisson(expected))
        if count:
            _report(session, loc, rng, count, now, seconds)
    advanced = _advance_due(db, settings, now, now - timedelta(seconds=seconds), speed, resumed)
    return {"created": count, "expected": round(float(expected), 3), "advanced": advanced}


def _resumed_at(session, now: datetime, seconds: float) -> datetime:
    """When the simulator (re)started: this tick's start if the last tick is more than a few
    intervals ago (or there was none), else the time remembered then."""
    last = session.get(AppState, LAST_TICK)
    resumed = session.get(AppState, RESUMED)
    gap = now - datetime.fromisoformat(last.value) if last is not None else None
    if gap is None or gap > timedelta(seconds=3 * seconds) or gap < timedelta(0) or resumed is None:
        value = (now - timedelta(seconds=seconds)).isoformat()
        if resumed is None:
            session.add(AppState(key=RESUMED, value=value))
        else:
            resumed.value = value
    if last is None:
        session.add(AppState(key=LAST_TICK, value=now.isoformat()))
    else:
        last.value = now.isoformat()
    session.flush()
    return datetime.fromisoformat(session.get(AppState, RESUMED).value)


def _area(loc) -> rhythm.Area:
    key = tuple(int(b) for b in loc.boundary_ids)
    with _areas_lock:
        area = _areas.get(key)
    if area is None:
        area = rhythm.area_of(loc.index.polygons, loc.codes)
        with _areas_lock:
            _areas.clear()
            _areas[key] = area
    return area


def _report(session, loc, rng, count: int, now: datetime, seconds: float) -> None:
    lon, lat = rhythm.sample_points(rng, _area(loc), count)
    subs = list(session.scalars(select(Category).where(Category.parent_id.is_not(None)).order_by(Category.code)))
    cats, cat_choice, source_names, sources = rhythm.kinds(rng, subs, count)
    offsets = np.sort(rng.uniform(0, seconds, size=count))[::-1]
    index, match = loc.place_many(lon, lat)
    for i in range(count):
        category = cats[cat_choice[i]]
        texts = DESCRIPTIONS.get(category.name, (category.name,))
        workflow.create(
            session,
            Viewer(role="resident", name="居民"),
            workflow.Submission(
                source=source_names[sources[i]],
                category_id=category.id,
                description=texts[int(rng.integers(len(texts)))],
                lon=round(float(lon[i]), 7),
                lat=round(float(lat[i]), 7),
                placement=loc.placement_at(int(index[i]), str(match[i])),
                priority=1 if category.response_hours <= 2 else 2,
                at=now - timedelta(seconds=float(offsets[i])),
            ),
        )


def _advance_due(
    db: Database, settings: Settings, now: datetime, since: datetime, speed: float, resumed: datetime
) -> int:
    """Take the steps due by `now`, oldest first, each at its due time but not before this tick
    began (`since`: a backlog is not written into the past); with a speed above 1 every delay
    is shorter."""
    with db.reader() as session:
        rows = session.execute(
            select(
                Ticket.id,
                Ticket.status,
                Ticket.rework_count,
                Ticket.created_at,
                Ticket.accepted_at,
                Ticket.dispatched_at,
                Ticket.responded_at,
                Ticket.handled_at,
                Ticket.closed_at,
                Ticket.response_due_at,
                Ticket.handle_due_at,
                Ticket.updated_at,
                Ticket.assignee_org_id,
                Ticket.grid_id,
            ).where(
                Ticket.status.in_(ADVANCING)
                | ((Ticket.status == "closed") & (Ticket.closed_at > now - RATING_WINDOW / speed))
            )
        ).all()
    due = []
    for r in rows:
        order = rhythm.OrderState(
            r.id, r.status, r.rework_count, r.created_at, r.accepted_at, r.dispatched_at, r.responded_at,
            r.handled_at, r.closed_at, r.response_due_at, r.handle_due_at, r.updated_at,
            by_property=r.assignee_org_id is not None, has_grid=r.grid_id is not None,
        )  # fmt: skip
        found = rhythm.next_step(order)
        if found is None:
            continue
        action, at, extra = found
        anchor = r.updated_at
        at = anchor + (at - anchor) / speed if at > anchor else at
        if at < resumed and anchor < resumed:  # fell due while nobody ran the district: wait again
            at = resumed + (at - anchor)
        if at <= now:
            due.append((at, r.id, r.status, action, extra))
    due.sort()
    advanced = 0
    for at, ticket_id, status, action, extra in due[:MAX_STEPS_PER_TICK]:
        try:
            with db.session() as session:
                if _take(session, settings, ticket_id, status, action, extra, min(max(at, since), now)):
                    advanced += 1
        except (workflow.WorkflowError, workflow.AccessDenied):
            continue  # e.g. a grid without a team: the order waits for a person, as it would
    return advanced


def _take(session, settings, ticket_id: int, status: str, action: str, extra: dict, at: datetime) -> bool:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.status != status:
        return False  # a person (or another scheduler) moved it meanwhile
    desk = Viewer.system("调度员")
    if action in ("respond", "handle"):
        photos = demo_photos(settings)[:1] if action == "handle" else None
        given = workflow.ActionInput(action, note="已到现场处理", photos=photos, at=at)
        workflow.apply(session, _assignee_viewer(session, ticket), ticket_id, given)
    elif action == "rate":
        resident = Viewer(role="resident", ticket_token=ticket.public_token)
        workflow.apply(session, resident, ticket_id, workflow.ActionInput("rate", rating=extra["rating"], at=at))
    elif action == "mark_duplicate":
        original = session.scalar(
            select(func.max(Ticket.id)).where(Ticket.category_id == ticket.category_id, Ticket.id < ticket_id)
        )
        if original is None:
            workflow.apply(session, desk, ticket_id, workflow.ActionInput("accept", at=at))
        else:
            workflow.apply(
                session, desk, ticket_id, workflow.ActionInput("mark_duplicate", duplicate_of=original, at=at)
            )
    else:
        workflow.apply(session, desk, ticket_id, workflow.ActionInput(action, note=extra.get("note"), at=at))
    return True


def _assignee_viewer(session, ticket: Ticket) -> Viewer:
    if ticket.assignee_staff_id:
        staff = session.get(Staff, ticket.assignee_staff_id)
        return Viewer(
            role=staff.role if staff.role in ("grid_worker", "property") else "grid_worker",
            staff_id=staff.id,
            organisation_id=staff.organisation_id,
            name=staff.name,
        )
    return Viewer(role="property", organisation_id=ticket.assignee_org_id, name="物业")


def demo_is_loaded(db: Database) -> bool:
    with db.reader() as session:
        return bool(session.scalar(select(func.count(Region.id))))
