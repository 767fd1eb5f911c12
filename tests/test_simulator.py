"""The demo simulator keeps the wall believable (issue #13): run for a simulated day after a
generated history (the clock and the tick length injected: no sleeping), its reports per day,
per hour and per grid, its closures and the wall's figures stay within the history's own range."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import numpy as np
import pytest
from faker import Faker
from sqlalchemy import select

import data.locate
from data import aggregates
from data.access import Viewer
from data.clock import UTC, zone
from data.demo import rhythm, simulator
from data.demo.district import write_district
from data.demo.history import generate_history
from data.locate import GridLocator
from data.models import Ticket
from data.read.screen import read_screen
from data.settings import load_settings
from geo.tiling import make_district

T0 = datetime(2026, 11, 2, 16, 0, tzinfo=UTC)  # Tuesday 3 November 2026, 00:00 in Shanghai
TICK = 600  # seconds: a simulated day is 144 ticks
DAYS = 45
SHANGHAI = zone("Asia/Shanghai")
BLOCKS = ((0, 7), (7, 10), (10, 13), (13, 16), (16, 19), (19, 24))  # local hours, for the chi-square
CHI2_DF5_999 = 20.52  # the 99.9 % point of chi-square with 5 degrees of freedom


@pytest.fixture(autouse=True)
def fresh_locator():
    data.locate._cache.clear()


@pytest.fixture
def demo(db):
    """A 48-grid district with 45 days of history up to T0."""
    faker = Faker("zh_CN")
    faker.seed_instance(3)
    rng = np.random.default_rng(3)
    with db.session() as session:
        world = write_district(session, make_district(seed=3, n_streets=2, n_communities=8, n_grids=48), rng, faker)
        generate_history(session, world, GridLocator.from_session(session), rng, days=DAYS, now=T0,
                         photos=["demo/site-1.jpg"], people=[("张三", "13800138000")])  # fmt: skip
    with db.session() as session:
        aggregates.refresh(session, "full", now=T0)
    return world


def local(at: datetime) -> datetime:
    return at.astimezone(SHANGHAI)


def rows(db, column, start, end):
    with db.reader() as s:
        return s.execute(select(column, Ticket.grid_id).where(column >= start, column < end)).all()


@pytest.mark.slow  # a whole simulated day through the workflow: about a minute
def test_a_simulated_day_stays_within_the_history(db, demo, tmp_path):
    settings = load_settings(gcc_instance_dir=tmp_path / "instance", gcc_simulate=False)
    history_start = T0 - timedelta(days=30)
    created = rows(db, Ticket.created_at, history_start, T0)
    closed = rows(db, Ticket.closed_at, history_start, T0)
    days = Counter(local(at).date() for at, _ in created)
    closed_days = Counter(local(at).date() for at, _ in closed)
    day_hours = Counter((local(at).date(), local(at).hour) for at, _ in created)
    hour_share = np.bincount([local(at).hour for at, _ in created], minlength=24) / len(created)
    grid_days = Counter((local(at).date(), g) for at, g in created)
    per_grid = Counter(g for _, g in created)
    hot = {g for g, _ in per_grid.most_common(8)}
    with db.session() as s:
        at_start = read_screen(s, Viewer.kiosk(), now=T0)

    rng = np.random.default_rng(11)
    done = [
        simulator.step(db, settings, rng, now=T0 + timedelta(seconds=TICK * k), seconds=TICK) for k in range(1, 145)
    ]
    end = T0 + timedelta(days=1)

    sim = rows(db, Ticket.created_at, T0, end)
    n = len(sim)
    assert n == sum(d["created"] for d in done)
    # The day's volume: within the history's daily range (the wall showed 50-75 times it).
    assert min(days.values()) <= n <= max(days.values()), (n, min(days.values()), max(days.values()))
    expected = sum(d["expected"] for d in done)
    assert abs(n - expected) < 4 * expected**0.5
    # Its hours: the history's profile (chi-square over blocks of hours), no hour above the busiest.
    hours = np.bincount([local(at).hour for at, _ in sim], minlength=24)
    observed = np.array([hours[a:b].sum() for a, b in BLOCKS])
    share = np.array([hour_share[a:b].sum() for a, b in BLOCKS])
    chi2 = float((((observed - n * share) ** 2) / (n * share)).sum())
    assert chi2 < CHI2_DF5_999, (observed.tolist(), (n * share).round(1).tolist())
    assert hours.max() <= 1.5 * max(day_hours.values())  # (one hour's count is Poisson noise; the issue saw 4x)
    assert hours[:6].sum() < hours[8:12].sum()  # nights stay quiet
    # Its places: the history's hot grids get their share, no grid gets more than its busiest day.
    sim_grids = Counter(g for _, g in sim)
    hot_share_history = sum(per_grid[g] for g in hot) / len(created)
    hot_share_sim = sum(sim_grids[g] for g in hot) / n
    assert abs(hot_share_sim - hot_share_history) < 0.12, (hot_share_sim, hot_share_history)
    assert max(sim_grids.values()) <= max(grid_days.values())
    # Orders move at the history's pace: closures of the day within the history's daily range.
    sim_closed = len(rows(db, Ticket.closed_at, T0, end))
    assert min(closed_days.values()) <= sim_closed <= max(closed_days.values()), (sim_closed, closed_days)

    # The wall after the day: today's figures in the history's range, open orders steady.
    last = end - timedelta(seconds=1)
    with db.session() as s:
        aggregates.refresh(s, "windows", now=last)
        aggregates.refresh(s, "incremental", now=last)
    with db.session() as s:
        wall = read_screen(s, Viewer.kiosk(), now=last)
    assert wall.kpis.reported_today == n and sum(wall.hourly_today) == n
    assert min(days.values()) <= wall.kpis.reported_today <= max(days.values())
    assert min(closed_days.values()) <= wall.kpis.closed_today <= max(closed_days.values())
    assert 0.6 * at_start.kpis.open_now <= wall.kpis.open_now <= 1.4 * at_start.kpis.open_now
    assert max(wall.grids.open_now) <= 2 * max(at_start.grids.open_now)


def test_the_rate_follows_the_hour_and_the_speed_setting(db, demo, tmp_path):
    settings = load_settings(gcc_instance_dir=tmp_path / "instance", gcc_simulate=False)
    fast = load_settings(gcc_instance_dir=tmp_path / "instance", gcc_simulate=False, gcc_simulate_speed=60)
    night, morning = T0 + timedelta(hours=3, minutes=30), T0 + timedelta(hours=10, minutes=30)
    n_grids = len(demo.grid_ids)
    per_day = rhythm.day_volume(local(T0), back=0, days=1, per_day=rhythm.PER_GRID_PER_DAY * n_grids)
    one_hour = rhythm.expected_reports(morning - timedelta(hours=1), morning, n_grids)
    assert one_hour == pytest.approx(per_day * (rhythm.HOUR_SHARE[9] + rhythm.HOUR_SHARE[10]) / 2)
    assert rhythm.expected_reports(night - timedelta(hours=1), night, n_grids) < one_hour / 10
    rng = np.random.default_rng(1)
    slow = simulator.step(db, settings, rng, now=morning, seconds=5)
    quick = simulator.step(db, fast, rng, now=morning + timedelta(seconds=5), seconds=5)
    assert quick["expected"] == pytest.approx(60 * slow["expected"], rel=1e-3)
    assert slow["expected"] == pytest.approx(one_hour * 5 / 3600, rel=0.05)
