"""The incremental aggregate refresh gives exactly what a full rebuild gives."""

import random
from datetime import timedelta

from sqlalchemy import select

from data import aggregates, escalation, workflow
from data.access import Viewer
from data.clock import utcnow
from data.locate import locator
from data.models import DailyStat, GridStat, Ticket
from tests.helpers import DESK, assignee_viewer, grid_point, new_ticket


def snapshot(session):
    grid = {
        r.grid_id: tuple(getattr(r, c.name) for c in GridStat.__table__.columns if c.name != "refreshed_at")
        for r in session.scalars(select(GridStat))
    }
    daily = {
        (r.day, r.grid_id, r.category_id, r.source): (r.reported, r.closed)
        for r in session.scalars(select(DailyStat))
        if r.reported or r.closed
    }
    return grid, daily


def random_step(s, rng, district, now):
    """One random workflow change at a random time within the last 40 days (or now)."""
    ids = s.scalars(select(Ticket.id)).all()
    roll = rng.random()
    if roll < 0.35 or not ids:
        at = now - timedelta(hours=rng.uniform(0, 24 * 40))
        source = rng.choice(["resident", "hotline", "patrol"])
        new_ticket(s, rng.choice(district.grid_ids), rng.choice(["漏水", "暴露垃圾", "路灯损坏"]), at=at, source=source)
        return
    t = s.get(Ticket, rng.choice(ids))
    at = max(t.updated_at, now - timedelta(hours=rng.uniform(0, 72)))
    at = min(at + timedelta(minutes=5), now)
    if roll < 0.45 and t.status in ("reported", "accepted", "dispatched", "in_progress"):
        lon, lat = grid_point(s, rng.choice(district.grid_ids))
        workflow.apply(
            s,
            DESK,
            t.id,
            workflow.ActionInput("relocate", lon=lon, lat=lat, placement=locator(s).place(lon, lat), at=at),
        )
        return
    step = {
        "reported": lambda: workflow.apply(
            s, DESK, t.id, workflow.ActionInput(rng.choice(["accept", "accept", "reject"]), note="x", at=at)
        ),
        "accepted": lambda: workflow.apply(s, DESK, t.id, workflow.ActionInput("dispatch", at=at)),
        "dispatched": lambda: workflow.apply(s, assignee_viewer(s, t), t.id, workflow.ActionInput("respond", at=at)),
        "in_progress": lambda: workflow.apply(
            s, assignee_viewer(s, t), t.id, workflow.ActionInput("handle", photos=["p"], at=at)
        ),
        "handled": lambda: workflow.apply(
            s,
            DESK,
            t.id,
            workflow.ActionInput(rng.choice(["verify_close", "verify_close", "send_back"]), note="x", at=at),
        ),
        "closed": lambda: workflow.apply(
            s, DESK, t.id, workflow.ActionInput("rate", rating=rng.choice(["satisfied", "unsatisfied"]), at=at)
        ),
        "rated": lambda: (
            t.rating == "unsatisfied" and workflow.apply(s, DESK, t.id, workflow.ActionInput("reopen", at=at))
        ),
    }.get(t.status)
    if step:
        try:
            step()
        except workflow.WorkflowError:
            pass  # e.g. no assignee for a grid without a team: a refused step writes nothing


def test_incremental_equals_full_after_random_changes(db, district):
    rng = random.Random(5)
    now = utcnow()
    with db.session() as s:
        for _ in range(150):
            random_step(s, rng, district, now)
    with db.session() as s:
        aggregates.refresh(s, "full", now=now)
    for _round in range(3):
        with db.session() as s:
            for _ in range(60):
                random_step(s, rng, district, now)
            escalation.sweep(s, now=now)
        with db.session() as s:
            summary = aggregates.refresh(s, "incremental", now=now)
            assert summary["grids"] > 0
        with db.reader() as s:
            incremental = snapshot(s)
        with db.session() as s:
            aggregates.refresh(s, "full", now=now)
        with db.reader() as s:
            full = snapshot(s)
        assert incremental == full
        with db.reader() as s:
            assert sum(reported for reported, _ in full[1].values()) == len(s.scalars(select(Ticket.id)).all())


def test_incremental_with_nothing_new_does_nothing(db, district):
    with db.session() as s:
        new_ticket(s, district.grid_ids[0])
        aggregates.refresh(s, "full")
    with db.session() as s:
        assert aggregates.refresh(s, "incremental")["grids"] == 0


def test_grid_stats_reflect_today(db, district):
    now = utcnow()
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0], at=now - timedelta(minutes=5))
        workflow.apply(s, Viewer.system(), t.id, workflow.ActionInput("accept", at=now - timedelta(minutes=4)))
        aggregates.refresh(s, "full", now=now)
    with db.reader() as s:
        row = s.get(GridStat, district.grid_ids[0])
        assert (row.reported_today, row.open_now, row.reported_24h) == (1, 1, 1)
