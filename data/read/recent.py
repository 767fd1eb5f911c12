"""The live screen's time series, read incrementally so a refresh costs the same at 150 or 10,000
grids (measured in bench/bench_screen.py):

- days: daily_stats rows of past days do not change once the day is over (a ticket counts on its
  creation day and its closing day), so the past 29 days are read once and cached until midnight
  (and for at most 15 minutes, which picks up an import of old tickets); only today's rows are
  read on each refresh;
- hours: the last 24 hours of reports (heat) and today/yesterday by hour are sums of one bucket
  per clock hour (a count and a count per heat cell). A finished hour is read once and cached;
  each refresh reads only the current hour and the partial hour at the far end of the window.
  A cheap indexed count over the cached range detects tickets added to past hours (an import)
  and drops the stale buckets.

Caches hold derived numbers only, keyed by database, scope and boundary version; a cold cache
costs one slower refresh, never a wrong one.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from data.clock import UTC, day_start, local_day, zone
from data.models import DailyStat, Ticket
from data.read.cache import Memo
from data.read.geometry import GridGeometry
from data.read.scope import StatScope

HOUR = timedelta(hours=1)
TODAY_TTL_S = 60
# Today's category and channel counts may lag this much; today's reported and closed totals on the
# trend come from grid_stats (exact at every refresh), see data.read.screen.
_days: Memo[DayTotals] = Memo(max_entries=64, ttl=900)
_today: Memo[DayTotals] = Memo(max_entries=64, ttl=TODAY_TTL_S)
_hours: Memo[HourBucket] = Memo(max_entries=8192, ttl=3 * 3600)


def cache_key(session: Session, scope: StatScope) -> str:
    url = session.get_bind().url.render_as_string(hide_password=True)
    grids = "all" if scope.whole_district else ",".join(map(str, sorted(scope.grid_ids)))
    return hashlib.sha1(f"{url}|{grids}".encode()).hexdigest()[:16]


def ticket_scope(scope: StatScope):
    return true() if scope.whole_district else scope.clause(Ticket.grid_id)


# ----------------------------------------------------------------------------------------------
# Days.


@dataclass
class DayTotals:
    reported: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    closed: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    by_category: dict[date, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    by_source: dict[date, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))


def _day_totals(session: Session, scope: StatScope, first: date, last: date) -> DayTotals:
    """daily_stats summed per day, per (day, category) and per (day, source) for [first, last]."""
    out = DayTotals()
    stmt = (
        select(
            DailyStat.day,
            DailyStat.category_id,
            DailyStat.source,
            func.sum(DailyStat.reported),
            func.sum(DailyStat.closed),
        )
        .where(DailyStat.day >= first, DailyStat.day <= last, scope.clause(DailyStat.grid_id))
        .group_by(DailyStat.day, DailyStat.category_id, DailyStat.source)
    )
    for day, category_id, source, reported, closed in session.execute(stmt):
        reported, closed = int(reported or 0), int(closed or 0)
        out.reported[day] += reported
        out.closed[day] += closed
        out.by_category[day][category_id] += reported
        out.by_source[day][source] += reported
    return out


def days(session: Session, scope: StatScope, now: datetime, tz: str, *, back: int = 30) -> tuple[list[date], DayTotals]:
    """The last `back` local days (today included) and their totals: past days cached until the
    day changes (or 15 minutes), today's for TODAY_TTL_S seconds."""
    today = local_day(now, tz)
    first = today - timedelta(days=back - 1)
    key = (cache_key(session, scope), today, first)
    past = _days.get_or_build(key, lambda: _day_totals(session, scope, first, today - timedelta(days=1)))
    current = _today.get_or_build(key, lambda: _day_totals(session, scope, today, today))
    merged = DayTotals()
    for source in (past, current):
        for day, n in source.reported.items():
            merged.reported[day] += n
        for day, n in source.closed.items():
            merged.closed[day] += n
        for day, counts in source.by_category.items():
            merged.by_category[day] = counts
        for day, counts in source.by_source.items():
            merged.by_source[day] = counts
    return [first + timedelta(days=i) for i in range(back)], merged


def summed(per_day: dict, day_list: list[date]) -> dict:
    out: dict = defaultdict(int)
    for day in day_list:
        for k, n in per_day.get(day, {}).items():
            out[k] += n
    return out


# ----------------------------------------------------------------------------------------------
# Hours.


@dataclass(frozen=True)
class HourBucket:
    total: int  # reports created in the hour
    cells: np.ndarray  # of which in each heat-lattice cell


def _bucket(session: Session, scope: StatScope, geometry: GridGeometry, start: datetime, end: datetime) -> HourBucket:
    rows = session.execute(
        select(Ticket.lon, Ticket.lat).where(ticket_scope(scope), Ticket.created_at >= start, Ticket.created_at < end)
    ).all()
    lattice = geometry.lattice
    size = len(lattice.lon) if lattice else 0
    if not rows or lattice is None:
        return HourBucket(len(rows), np.zeros(size, dtype=np.int64))
    xy = np.array([(r[0], r[1]) for r in rows if r[0] is not None and r[1] is not None], dtype=float).reshape(-1, 2)
    ix = np.floor((xy[:, 0] - lattice.lon0) / lattice.cell).astype(np.int64)
    iy = np.floor((xy[:, 1] - lattice.lat0) / lattice.cell).astype(np.int64)
    pos = lattice.positions(ix, iy)
    cells = np.bincount(pos[pos >= 0], minlength=size).astype(np.int64)
    return HourBucket(len(rows), cells)


def _floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def whole_hour_zone(tz: str, *instants: datetime) -> bool:
    """Local hours line up with UTC hours (Asia/Shanghai: yes; India: no)."""
    return all(at.astimezone(zone(tz)).utcoffset().total_seconds() % 3600 == 0 for at in instants)


@dataclass
class Recent:
    heat: list[int]  # per heat-lattice cell, the last 24 hours
    today: list[int]  # per local hour
    yesterday: list[int]


def recent(session: Session, scope: StatScope, geometry: GridGeometry, now: datetime, tz: str) -> Recent:
    """Heat of the last 24 hours and reports by local hour today and yesterday, from hour buckets."""
    today = local_day(now, tz)
    start_yesterday = day_start(today - timedelta(days=1), tz)
    window_start = now - timedelta(hours=24)
    current = _floor_hour(now)
    first_full = min(_floor_hour(start_yesterday), _floor_hour(window_start) + HOUR)
    key = (cache_key(session, scope), geometry.version)
    hours = []
    h = first_full
    while h < current:
        hours.append(h)
        h += HOUR
    buckets = {h: _hours.get((key, h)) for h in hours}
    cached_hours = [h for h, b in buckets.items() if b is not None]
    if cached_hours:
        # Tickets added to a finished hour (an import of old reports) make the cached range stale.
        lo, hi = min(cached_hours), max(cached_hours) + HOUR
        counted = (
            session.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(ticket_scope(scope), Ticket.created_at >= lo, Ticket.created_at < hi)
            )
            or 0
        )
        in_range = sum(buckets[h].total for h in cached_hours)
        if counted != in_range or len(cached_hours) != (hi - lo) / HOUR:
            buckets = dict.fromkeys(hours)
    for h in hours:
        if buckets[h] is None:
            buckets[h] = _bucket(session, scope, geometry, h, h + HOUR)
            _hours.put((key, h), buckets[h])
    live = _bucket(session, scope, geometry, current, now + timedelta(microseconds=1))
    edge_end = _floor_hour(window_start) + HOUR
    edge = _bucket(session, scope, geometry, window_start, min(edge_end, current))
    size = len(geometry.lattice.lon) if geometry.lattice else 0
    heat = np.zeros(size, dtype=np.int64) + live.cells + (edge.cells if edge_end <= current else 0)
    for h, b in buckets.items():
        if h >= edge_end:
            heat += b.cells
    by_hour = {**{h: b.total for h, b in buckets.items()}, current: live.total}
    start_today = day_start(today, tz)
    today_counts = [by_hour.get(start_today + i * HOUR, 0) for i in range(24)]
    yesterday_counts = [by_hour.get(start_yesterday + i * HOUR, 0) for i in range(24)]
    return Recent(heat.tolist(), today_counts, yesterday_counts)


def clear() -> None:
    """Forget every cached value of data.read (after the database was reset under a running process)."""
    from data.read.cache import clear_all

    clear_all()
