"""The big screen's data: one snapshot per refresh, read from the pre-computed aggregates
(grid_stats, daily_stats) and from bounded, indexed ranges of recent tickets (today, the last
24 hours, the newest few, the overdue ones) — never a scan over all tickets.

Everything here is scoped by the viewer's `StatScope` (permission "aggregates"). The wall shows no
personal data: the feed carries time, category, grid, channel, status and an address masked to
the estate (data.masking.mask_address); never a reporter's name or phone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import Integer, cast, func, select, true
from sqlalchemy.orm import Session

from data.access import Viewer
from data.aggregates import windows
from data.clock import day_start, local_day, utcnow, zone
from data.masking import mask_address
from data.models import WORKING_STATUSES, DailyStat, GridStat, JobStatus, Ticket
from data.read.directory import categories, directory, main_category
from data.read.geometry import GridGeometry, codes_in_scope, grid_geometry
from data.read.scope import StatScope, stat_scope

# Jobs that rewrite grid_stats; the newest successful one is the data's "as of" time.
AGGREGATE_JOBS = ("refresh_aggregates", "refresh_windows", "refresh_windows_midnight")
FEED_SIZE = 6
OVERDUE_POINTS_MAX = 1500
RANKING_SIZE = 5
RANKING_MIN_VOLUME = 5  # a rate from fewer "should close" orders is not ranked
METRICS = ("open_now", "overdue_now", "on_time_7d", "per_1000")


@dataclass(frozen=True)
class Ratio:
    num: int
    den: int

    @property
    def value(self) -> float | None:
        return self.num / self.den if self.den else None


NO_RATIO = Ratio(0, 0)


@dataclass
class Kpis:
    reported_today: int = 0
    dispatched_today: int = 0
    closed_today: int = 0
    open_now: int = 0
    overdue_now: int = 0
    escalated_now: int = 0
    awaiting_acceptance: int = 0  # open reports not yet accepted (待受理)
    reported_yesterday_same_time: int = 0
    closed_yesterday_same_time: int = 0
    on_time_7d: Ratio = Ratio(0, 0)
    on_time_prev_7d: Ratio = Ratio(0, 0)
    satisfaction_30d: Ratio = Ratio(0, 0)
    satisfaction_prev_30d: Ratio = Ratio(0, 0)


@dataclass
class GridValues:
    """Per-grid numbers aligned with `codes` (the geometry's order, scoped)."""

    codes: list[str]
    names: list[str]
    open_now: list[int]
    overdue_now: list[int]
    on_time_7d: list[float | None]  # None: nothing was due in the 7 days
    should_close_7d: list[int]
    per_1000: list[float | None]  # reports in 30 days per 1,000 residents; None: no population

    def metric(self, name: str) -> list:
        return getattr(self, name)


@dataclass(frozen=True)
class RankRow:
    code: str
    name: str
    rate: float
    volume: int


@dataclass(frozen=True)
class FeedItem:
    id: int
    at: datetime
    category: str
    grid: str
    source: str
    status: str
    address: str | None


@dataclass
class ScreenSnapshot:
    read_at: datetime
    as_of: datetime | None
    district: str
    kpis: Kpis
    grids: GridValues
    trend_days: list[date]
    trend_reported: list[int]
    trend_closed: list[int]
    hourly_today: list[int]
    hourly_yesterday: list[int]
    categories: list[tuple[str, int]]  # 大类, reports in 7 days (largest first)
    sources: list[tuple[str, int]]  # source key, reports in 7 days
    ranking_best: list[RankRow]
    ranking_worst: list[RankRow]
    feed: list[FeedItem]
    heat: list[int]  # reports in the last 24 h per heat-lattice cell (geometry.lattice order)
    overdue_points: dict = field(default_factory=dict)  # {"lon": [...], "lat": [...], "hours": [...]}
    geometry_version: str = ""


def read_screen(
    session: Session, viewer: Viewer, *, now: datetime | None = None, tz: str = "Asia/Shanghai"
) -> ScreenSnapshot:
    """Everything the big screen shows, for this viewer, at `now`."""
    now = now or utcnow()
    scope = stat_scope(session, viewer)
    geometry = grid_geometry(session)
    codes = codes_in_scope(geometry, scope)
    tree = directory(session)
    district = tree.district()
    kpis, grids = _grid_stats(session, scope, geometry, codes, tree)
    _counts_from_tickets(session, scope, kpis, now, tz)
    trend_days, reported, closed = trend(session, scope, now, tz, days=30)
    today, yesterday = hourly(session, scope, now, tz)
    return ScreenSnapshot(
        read_at=now,
        as_of=data_as_of(session),
        district=district.name if district else "",
        kpis=kpis,
        grids=grids,
        trend_days=trend_days,
        trend_reported=reported,
        trend_closed=closed,
        hourly_today=today,
        hourly_yesterday=yesterday,
        categories=category_breakdown(session, scope, now, tz, days=7),
        sources=source_breakdown(session, scope, now, tz, days=7),
        ranking_best=ranking(grids, best=True),
        ranking_worst=ranking(grids, best=False),
        feed=feed(session, scope, tz=tz),
        heat=heat(session, scope, geometry, now),
        overdue_points=overdue_points(session, scope, now),
        geometry_version=geometry.version,
    )


def data_as_of(session: Session) -> datetime | None:
    """When the aggregates were last brought up to date: the newest successful refresh job, else
    the newest grid_stats row (a district generated by the CLI with no scheduler yet)."""
    finished = session.scalar(
        select(func.max(JobStatus.last_finished_at)).where(
            JobStatus.job_id.in_(AGGREGATE_JOBS), JobStatus.last_ok.is_(True)
        )
    )
    refreshed = session.scalar(select(func.max(GridStat.refreshed_at)))
    stamps = [s for s in (finished, refreshed) if s is not None]
    return max(stamps) if stamps else None


def _grid_stats(session, scope: StatScope, geometry: GridGeometry, codes: list[str], tree) -> tuple[Kpis, GridValues]:
    k = Kpis()
    sums = dict.fromkeys(
        (
            "should_close_7d",
            "closed_on_time_7d",
            "should_close_prev_7d",
            "closed_on_time_prev_7d",
            "rated_30d",
            "satisfied_30d",
            "rated_prev_30d",
            "satisfied_prev_30d",
        ),
        0,
    )
    position = {code: i for i, code in enumerate(codes)}
    n = len(codes)
    open_now, overdue, should, on_time = [0] * n, [0] * n, [0] * n, [0] * n
    reported_30d = [0] * n
    stmt = select(
        GridStat.grid_id,
        GridStat.open_now,
        GridStat.overdue_now,
        GridStat.escalated_now,
        GridStat.reported_today,
        GridStat.dispatched_today,
        GridStat.closed_today,
        GridStat.reported_30d,
        *(getattr(GridStat, c) for c in sums),
    ).where(scope.clause(GridStat.grid_id))
    for row in session.execute(stmt):
        k.open_now += row.open_now
        k.overdue_now += row.overdue_now
        k.escalated_now += row.escalated_now
        k.reported_today += row.reported_today
        k.dispatched_today += row.dispatched_today
        k.closed_today += row.closed_today
        for c in sums:
            sums[c] += getattr(row, c)
        info = tree.get(row.grid_id)
        i = position.get(info.code) if info is not None else None
        if i is not None:
            open_now[i], overdue[i] = row.open_now, row.overdue_now
            should[i], on_time[i] = row.should_close_7d, row.closed_on_time_7d
            reported_30d[i] = row.reported_30d
    k.on_time_7d = Ratio(sums["closed_on_time_7d"], sums["should_close_7d"])
    k.on_time_prev_7d = Ratio(sums["closed_on_time_prev_7d"], sums["should_close_prev_7d"])
    k.satisfaction_30d = Ratio(sums["satisfied_30d"], sums["rated_30d"])
    k.satisfaction_prev_30d = Ratio(sums["satisfied_prev_30d"], sums["rated_prev_30d"])
    infos = [tree.by_code.get(c) for c in codes]
    population = [info.population if info else 0 for info in infos]
    grids = GridValues(
        codes=list(codes),
        names=[info.name if info else c for info, c in zip(infos, codes, strict=True)],
        open_now=open_now,
        overdue_now=overdue,
        on_time_7d=[(t / s if s else None) for t, s in zip(on_time, should, strict=True)],
        should_close_7d=should,
        per_1000=[(r * 1000 / p if p else None) for r, p in zip(reported_30d, population, strict=True)],
    )
    return k, grids


def _ticket_scope(scope: StatScope):
    return true() if scope.whole_district else scope.clause(Ticket.grid_id)


def _counts_from_tickets(session, scope: StatScope, k: Kpis, now: datetime, tz: str) -> None:
    """Reports and closures from yesterday's start to this time yesterday (two indexed range counts),
    and the reports waiting to be accepted (an indexed equality count)."""
    start = day_start(local_day(now, tz) - timedelta(days=1), tz)
    same_time = now - timedelta(days=1)
    where = _ticket_scope(scope)
    k.reported_yesterday_same_time = (
        session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(where, Ticket.created_at >= start, Ticket.created_at < same_time)
        )
        or 0
    )
    k.closed_yesterday_same_time = (
        session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(where, Ticket.closed_at >= start, Ticket.closed_at < same_time)
        )
        or 0
    )
    k.awaiting_acceptance = (
        session.scalar(select(func.count()).select_from(Ticket).where(where, Ticket.status == "reported")) or 0
    )


def trend(session: Session, scope: StatScope, now: datetime, tz: str, *, days: int = 30):
    """Reported and closed per local day for the last `days` days (today included), from daily_stats."""
    today = local_day(now, tz)
    first = today - timedelta(days=days - 1)
    stmt = (
        select(DailyStat.day, func.sum(DailyStat.reported), func.sum(DailyStat.closed))
        .where(DailyStat.day >= first, DailyStat.day <= today, scope.clause(DailyStat.grid_id))
        .group_by(DailyStat.day)
    )
    got = {d: (int(r or 0), int(c or 0)) for d, r, c in session.execute(stmt)}
    day_list = [first + timedelta(days=i) for i in range(days)]
    return day_list, [got.get(d, (0, 0))[0] for d in day_list], [got.get(d, (0, 0))[1] for d in day_list]


def category_breakdown(session: Session, scope: StatScope, now: datetime, tz: str, *, days: int = 7):
    """Reports per 大类 over the last `days` days, largest first."""
    first = local_day(now, tz) - timedelta(days=days - 1)
    stmt = (
        select(DailyStat.category_id, func.sum(DailyStat.reported))
        .where(DailyStat.day >= first, scope.clause(DailyStat.grid_id))
        .group_by(DailyStat.category_id)
    )
    cats = categories(session)
    totals: dict[str, int] = {}
    for category_id, n in session.execute(stmt):
        main = main_category(cats, category_id)
        name = main.name if main else str(category_id)
        totals[name] = totals.get(name, 0) + int(n or 0)
    return sorted(((k, v) for k, v in totals.items() if v), key=lambda kv: (-kv[1], kv[0]))


def source_breakdown(session: Session, scope: StatScope, now: datetime, tz: str, *, days: int = 7):
    first = local_day(now, tz) - timedelta(days=days - 1)
    stmt = (
        select(DailyStat.source, func.sum(DailyStat.reported))
        .where(DailyStat.day >= first, scope.clause(DailyStat.grid_id))
        .group_by(DailyStat.source)
    )
    rows = [(s, int(n or 0)) for s, n in session.execute(stmt) if n]
    return sorted(rows, key=lambda kv: (-kv[1], kv[0]))


def local_hour(session: Session, column, tz: str, at: datetime):
    """SQL for the local hour (0-23) of a UTC timestamp column, with the zone's offset at `at`."""
    offset = int(at.astimezone(zone(tz)).utcoffset().total_seconds() // 60)
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%H", column, f"{offset:+d} minutes"), Integer)
    from sqlalchemy import text

    return cast(func.extract("hour", column + text(f"interval '{offset} minutes'")), Integer)


def hourly(session: Session, scope: StatScope, now: datetime, tz: str) -> tuple[list[int], list[int]]:
    """Reports per local hour today (hours to come are 0) and yesterday, from the created_at index."""
    today = local_day(now, tz)
    start_yesterday = day_start(today - timedelta(days=1), tz)
    start_today = day_start(today, tz)
    hour = local_hour(session, Ticket.created_at, tz, now)
    is_today = Ticket.created_at >= start_today
    stmt = (
        select(is_today, hour, func.count())
        .where(_ticket_scope(scope), Ticket.created_at >= start_yesterday, Ticket.created_at <= now)
        .group_by(is_today, hour)
    )
    out = {True: [0] * 24, False: [0] * 24}
    for today_flag, h, n in session.execute(stmt):
        if h is not None and 0 <= int(h) < 24:
            out[bool(today_flag)][int(h)] += int(n)
    return out[True], out[False]


def ranking(grids: GridValues, *, best: bool, size: int = RANKING_SIZE, min_volume: int = RANKING_MIN_VOLUME):
    """Grids by on-time closure rate (7 days), each with its volume; only grids with at least
    `min_volume` orders due, so a 100 % from two orders does not top the list."""
    rows = [
        RankRow(code, name, rate, volume)
        for code, name, rate, volume in zip(
            grids.codes, grids.names, grids.on_time_7d, grids.should_close_7d, strict=True
        )
        if rate is not None and volume >= min_volume
    ]
    rows.sort(key=lambda r: ((-r.rate if best else r.rate), -r.volume, r.code))
    return rows[:size]


def feed(session: Session, scope: StatScope, *, tz: str, size: int = FEED_SIZE) -> list[FeedItem]:
    """The newest reports, without any reporter identity."""
    cats = categories(session)
    tree = directory(session)
    stmt = (
        select(
            Ticket.id,
            Ticket.created_at,
            Ticket.category_id,
            Ticket.grid_id,
            Ticket.community_id,
            Ticket.source,
            Ticket.status,
            Ticket.address,
        )
        .where(_ticket_scope(scope))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(size)
    )
    out = []
    for r in session.execute(stmt):
        cat = cats.get(r.category_id)
        place = tree.get(r.grid_id) or tree.get(r.community_id)
        out.append(
            FeedItem(
                id=r.id,
                at=r.created_at,
                category=cat.name if cat else "",
                grid=place.name if place else "",
                source=r.source,
                status=r.status,
                address=mask_address(r.address),
            )
        )
    return out


def heat(session: Session, scope: StatScope, geometry: GridGeometry, now: datetime) -> list[int]:
    """Reports of the last 24 hours counted per heat-lattice cell (binned in SQL, so the browser
    never gets raw points and the payload does not grow with the number of reports)."""
    lattice = geometry.lattice
    if lattice is None:
        return []
    counts = np.zeros(len(lattice.lon), dtype=np.int64)
    if session.get_bind().dialect.name == "sqlite":
        ix = cast((Ticket.lon - lattice.lon0) / lattice.cell, Integer)  # lon >= lon0: truncation is floor
        iy = cast((Ticket.lat - lattice.lat0) / lattice.cell, Integer)
    else:
        ix = cast(func.floor((Ticket.lon - lattice.lon0) / lattice.cell), Integer)
        iy = cast(func.floor((Ticket.lat - lattice.lat0) / lattice.cell), Integer)
    stmt = (
        select(ix, iy, func.count())
        .where(
            _ticket_scope(scope),
            Ticket.created_at >= now - timedelta(hours=24),
            Ticket.created_at <= now,
            Ticket.lon >= lattice.lon0,
            Ticket.lat >= lattice.lat0,
        )
        .group_by(ix, iy)
    )
    rows = session.execute(stmt).all()
    if rows:
        arr = np.array(rows, dtype=np.int64)
        pos = lattice.positions(arr[:, 0], arr[:, 1])
        ok = pos >= 0
        np.add.at(counts, pos[ok], arr[ok, 2])
    return counts.tolist()


def overdue_points(session: Session, scope: StatScope, now: datetime, *, limit: int = OVERDUE_POINTS_MAX) -> dict:
    """Open orders past their handling deadline (most overdue first, at most `limit`), for the map."""
    stmt = (
        select(Ticket.id, Ticket.lon, Ticket.lat, Ticket.handle_due_at)
        .where(
            _ticket_scope(scope),
            Ticket.status.in_(WORKING_STATUSES),
            Ticket.handle_due_at < now,
            Ticket.lon.is_not(None),
        )
        .order_by(Ticket.handle_due_at)
        .limit(limit)
    )
    rows = session.execute(stmt).all()
    return {
        "id": [r.id for r in rows],
        "lon": [round(r.lon, 5) for r in rows],
        "lat": [round(r.lat, 5) for r in rows],
        "hours": [round((now - r.handle_due_at).total_seconds() / 3600, 1) for r in rows],
    }


__all__ = ["METRICS", "ScreenSnapshot", "read_screen", "windows"]
