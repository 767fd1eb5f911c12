"""The big screen's data: one snapshot per refresh, read from the pre-computed aggregates
(grid_stats, daily_stats) and from bounded, indexed ranges of recent tickets (today, the last
24 hours, the newest few, the overdue ones) — never a scan over all tickets.

Everything here is scoped by the viewer's `StatScope` (permission "aggregates"). The wall shows no
personal data: the feed carries time, category, grid, channel, status and an address masked to
the estate (data.masking.mask_address); never a reporter's name or phone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import Integer, cast, func, select, true
from sqlalchemy.orm import Session

from data.access import Viewer
from data.aggregates import windows
from data.clock import day_start, local_day, utcnow, zone
from data.indicators import status_at
from data.masking import mask_address
from data.models import WORKING_STATUSES, GridStat, JobStatus, Ticket
from data.read import recent
from data.read.cache import Memo
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
    day_list, totals = recent.days(session, scope, now, tz, back=30)
    week = day_list[-7:]
    if geometry.lattice is not None and recent.whole_hour_zone(tz, now, now - timedelta(days=2)):
        latest = recent.recent(session, scope, geometry, now, tz)
        heat_counts, today, yesterday = latest.heat, latest.today, latest.yesterday
    else:  # a zone whose hours do not start on UTC hours: read directly
        today, yesterday = hourly(session, scope, now, tz)
        heat_counts = heat(session, scope, geometry, now)
    return ScreenSnapshot(
        read_at=now,
        as_of=data_as_of(session),
        district=district.name if district else "",
        kpis=kpis,
        grids=grids,
        trend_days=day_list,
        # Today's point from grid_stats, refreshed every aggregate run; past days from daily_stats.
        trend_reported=[totals.reported.get(d, 0) for d in day_list[:-1]] + [kpis.reported_today],
        trend_closed=[totals.closed.get(d, 0) for d in day_list[:-1]] + [kpis.closed_today],
        hourly_today=today,
        hourly_yesterday=yesterday,
        categories=_by_main_category(session, recent.summed(totals.by_category, week)),
        sources=sorted(
            ((k, n) for k, n in recent.summed(totals.by_source, week).items() if n), key=lambda kv: (-kv[1], kv[0])
        ),
        ranking_best=ranking(grids, best=True),
        ranking_worst=ranking(grids, best=False),
        feed=feed(session, scope),
        heat=heat_counts,
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
    if finished is not None:
        return finished
    return session.scalar(select(func.max(GridStat.refreshed_at)))


SUMMED = (
    "open_now",
    "overdue_now",
    "escalated_now",
    "reported_today",
    "dispatched_today",
    "closed_today",
    "should_close_7d",
    "closed_on_time_7d",
    "should_close_prev_7d",
    "closed_on_time_prev_7d",
    "rated_30d",
    "satisfied_30d",
    "rated_prev_30d",
    "satisfied_prev_30d",
)


def _grid_stats(session, scope: StatScope, geometry: GridGeometry, codes: list[str], tree) -> tuple[Kpis, GridValues]:
    """The KPI sums (one aggregate row) and the per-grid values the map needs (five columns)."""
    where = scope.clause(GridStat.grid_id)
    sums = dict(
        zip(
            SUMMED,
            session.execute(
                select(*(func.coalesce(func.sum(getattr(GridStat, c)), 0) for c in SUMMED)).where(where)
            ).one(),
            strict=True,
        )
    )
    k = Kpis(**{c: int(sums[c]) for c in SUMMED[:6]})
    k.on_time_7d = Ratio(int(sums["closed_on_time_7d"]), int(sums["should_close_7d"]))
    k.on_time_prev_7d = Ratio(int(sums["closed_on_time_prev_7d"]), int(sums["should_close_prev_7d"]))
    k.satisfaction_30d = Ratio(int(sums["satisfied_30d"]), int(sums["rated_30d"]))
    k.satisfaction_prev_30d = Ratio(int(sums["satisfied_prev_30d"]), int(sums["rated_prev_30d"]))
    frame = _frame(geometry, codes, tree)
    position, n = frame.position, len(frame.codes)
    open_now, overdue, should, on_time, reported_30d = [0] * n, [0] * n, [0] * n, [0] * n, [0] * n
    rows = session.execute(
        select(
            GridStat.grid_id,
            GridStat.open_now,
            GridStat.overdue_now,
            GridStat.should_close_7d,
            GridStat.closed_on_time_7d,
            GridStat.reported_30d,
        ).where(where)
    ).all()
    for grid_id, o, od, sc, ot, r30 in rows:
        i = position.get(grid_id)
        if i is not None:
            open_now[i], overdue[i], should[i], on_time[i], reported_30d[i] = o, od, sc, ot, r30
    grids = GridValues(
        codes=frame.codes,
        names=frame.names,
        open_now=open_now,
        overdue_now=overdue,
        on_time_7d=[(t / s if s else None) for t, s in zip(on_time, should, strict=True)],
        should_close_7d=should,
        per_1000=[(r * 1000 / p if p else None) for r, p in zip(reported_30d, frame.population, strict=True)],
    )
    return k, grids


@dataclass(frozen=True)
class _Frame:
    """The grids a scope shows, in map order, with what does not change between refreshes."""

    codes: list[str]
    names: list[str]
    population: list[int]
    position: dict[int, int]  # grid id → index in codes


_frames: Memo[_Frame] = Memo(max_entries=32, ttl=300)


def _frame(geometry: GridGeometry, codes: list[str], tree) -> _Frame:
    key = (geometry.version, tree.version, hashlib.sha1(",".join(codes).encode()).hexdigest())

    def build() -> _Frame:
        wanted = set(codes)
        ids = [g for g, c in zip(geometry.grid_ids, geometry.codes, strict=True) if c in wanted]
        ordered = [c for c in geometry.codes if c in wanted]
        infos = [tree.by_code.get(c) for c in ordered]
        return _Frame(
            codes=ordered,
            names=[info.name if info else c for info, c in zip(infos, ordered, strict=True)],
            population=[info.population if info else 0 for info in infos],
            position={g: i for i, g in enumerate(ids)},
        )

    return _frames.get_or_build(key, build)


def _by_main_category(session: Session, counts: dict[int, int]) -> list[tuple[str, int]]:
    cats = categories(session)
    totals: dict[str, int] = {}
    for category_id, n in counts.items():
        main = main_category(cats, category_id)
        name = main.name if main else str(category_id)
        totals[name] = totals.get(name, 0) + int(n)
    return sorted(((k, v) for k, v in totals.items() if v), key=lambda kv: (-kv[1], kv[0]))


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
    `min_volume` orders due, so a 100 % from two orders does not top the list. Ties: the larger
    volume first, then the code."""
    rate = np.array([np.nan if r is None else r for r in grids.on_time_7d], dtype=float)
    volume = np.asarray(grids.should_close_7d, dtype=np.int64)
    eligible = np.flatnonzero(~np.isnan(rate) & (volume >= min_volume))
    if not len(eligible):
        return []
    codes = np.asarray(grids.codes, dtype=object)[eligible]
    order = np.lexsort((codes, -volume[eligible], -rate[eligible] if best else rate[eligible]))
    return [RankRow(grids.codes[i], grids.names[i], float(rate[i]), int(volume[i])) for i in eligible[order[:size]]]


def feed(session: Session, scope: StatScope, *, size: int = FEED_SIZE, at: datetime | None = None) -> list[FeedItem]:
    """The newest reports, without any reporter identity; with `at`, the newest before that
    moment, each with its status then (a historical wall)."""
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
            Ticket.status if at is None else status_at(at).label("status"),
            Ticket.address,
        )
        .where(_ticket_scope(scope), *([] if at is None else [Ticket.created_at < at]))
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
