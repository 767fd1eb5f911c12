"""The screens as they were at a past moment (`?as_of=` / `?week=`, issue #10).

`read_screen_at` gives the big screen's ScreenSnapshot at a moment, `region_stats_at` a drill-down
page's RegionStats: the per-grid numbers come from data.history_stats (data.indicators at that
moment; a week's end kept in grid_history), the rest from bounded, indexed ranges before the
moment (the day's hours, the 24 h heat, the newest reports then, the orders overdue then), with
each ticket's status as it was (data.indicators.status_at). Scoped by the viewer's StatScope
like the live screen.

Known approximations (the closing note of issue #10 lists them): the 30-day trend's bars and the
7-day category and channel shares read daily_stats, whose last day is the whole local day of
the moment (for a week's end that is exact); an overdue order's deadline is its current one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data import indicators
from data.access import Viewer
from data.aggregates import NO_GRID
from data.clock import day_start, local_day
from data.history import Moment
from data.history_stats import STAT_COLUMNS, rows_at
from data.models import WORKING_STATUSES, Ticket
from data.read import recent
from data.read.cache import Memo
from data.read.directory import RegionInfo, directory
from data.read.geometry import codes_in_scope, grid_geometry
from data.read.regions import RegionStats, Weekly, weekly
from data.read.scope import StatScope, effective, stat_scope
from data.read.screen import (
    FEED_SIZE,
    OVERDUE_POINTS_MAX,
    FeedItem,
    GridValues,
    Kpis,
    Ratio,
    ScreenSnapshot,
    _by_main_category,
    _frame,
    feed,
    heat,
    hourly,
    ranking,
)
from data.read.ticket_filter import STATUS_GROUPS, TicketFilter
from data.read.ticket_records import count_tickets, ticket_records
from data.read.tickets import PERIODS, ROW_LIMIT, TicketFilters, TicketTable, table_row

_snapshots: Memo[ScreenSnapshot] = Memo(max_entries=32, ttl=600)
# A past moment's tables change only with an import of old records: kept a few minutes.
_tables: Memo[TicketTable] = Memo(max_entries=64, ttl=300)


def _sum(rows, grid_ids) -> dict[str, int]:
    out = dict.fromkeys(STAT_COLUMNS, 0)
    for g in grid_ids:
        values = rows.get(g)
        if values:
            for c in STAT_COLUMNS:
                out[c] += values[c]
    return out


def _scoped_ids(rows, scope: StatScope) -> list[int]:
    return [g for g in rows if scope.contains(g) and (g != NO_GRID or scope.whole_district)]


def _ticket_scope(scope: StatScope):
    return recent.ticket_scope(scope)


def read_screen_at(session: Session, viewer: Viewer, moment: Moment, *, tz: str, database=None) -> ScreenSnapshot:
    """Everything the big screen shows, for this viewer, as it was at `moment.at`."""
    scope = stat_scope(session, viewer)
    url = session.get_bind().url.render_as_string(hide_password=True)
    scope_key = "all" if scope.whole_district else ",".join(map(str, sorted(scope.grid_ids)))
    key = (url, scope_key, moment.at, tz)
    cached = _snapshots.get(key)
    if cached is not None:
        return cached
    snapshot = _build(session, scope, moment, tz, database)
    _snapshots.put(key, snapshot)
    return snapshot


def _build(session: Session, scope: StatScope, moment: Moment, tz: str, database) -> ScreenSnapshot:
    at = moment.at
    geometry = grid_geometry(session)
    codes = codes_in_scope(geometry, scope)
    tree = directory(session)
    district = tree.district()
    rows = rows_at(database, session, at, tz, keep=moment.week is not None)
    sums = _sum(rows, _scoped_ids(rows, scope))
    k = Kpis(
        reported_today=sums["reported_today"],
        dispatched_today=sums["dispatched_today"],
        closed_today=sums["closed_today"],
        open_now=sums["open_now"],
        overdue_now=sums["overdue_now"],
        escalated_now=sums["escalated_now"],
        awaiting_acceptance=sums["awaiting"],
    )
    k.on_time_7d = Ratio(sums["closed_on_time_7d"], sums["should_close_7d"])
    k.on_time_prev_7d = Ratio(sums["closed_on_time_prev_7d"], sums["should_close_prev_7d"])
    k.satisfaction_30d = Ratio(sums["satisfied_30d"], sums["rated_30d"])
    k.satisfaction_prev_30d = Ratio(sums["satisfied_prev_30d"], sums["rated_prev_30d"])
    _yesterday_same_time(session, scope, k, at, tz)
    frame = _frame(geometry, codes, tree)
    n = len(frame.codes)
    open_now, overdue, should, on_time, r30 = [0] * n, [0] * n, [0] * n, [0] * n, [0] * n
    for grid_id, i in frame.position.items():
        v = rows.get(grid_id)
        if v:
            open_now[i], overdue[i] = v["open_now"], v["overdue_now"]
            should[i], on_time[i], r30[i] = v["should_close_7d"], v["closed_on_time_7d"], v["reported_30d"]
    grids = GridValues(
        codes=frame.codes,
        names=frame.names,
        open_now=open_now,
        overdue_now=overdue,
        on_time_7d=[(t / s if s else None) for t, s in zip(on_time, should, strict=True)],
        should_close_7d=should,
        per_1000=[(r * 1000 / p if p else None) for r, p in zip(r30, frame.population, strict=True)],
    )
    day_list, totals = recent.days(session, scope, at, tz, back=30)
    week = day_list[-7:]
    today, yesterday = hourly(session, scope, at, tz)
    return ScreenSnapshot(
        read_at=at,
        as_of=at,
        district=district.name if district else "",
        kpis=k,
        grids=grids,
        trend_days=day_list,
        trend_reported=[totals.reported.get(d, 0) for d in day_list[:-1]] + [k.reported_today],
        trend_closed=[totals.closed.get(d, 0) for d in day_list[:-1]] + [k.closed_today],
        hourly_today=today,
        hourly_yesterday=yesterday,
        categories=_by_main_category(session, recent.summed(totals.by_category, week)),
        sources=sorted(
            ((s, c) for s, c in recent.summed(totals.by_source, week).items() if c), key=lambda kv: (-kv[1], kv[0])
        ),
        ranking_best=ranking(grids, best=True),
        ranking_worst=ranking(grids, best=False),
        feed=feed_at(session, scope, at),
        heat=heat(session, scope, geometry, at),
        overdue_points=overdue_points_at(session, scope, at),
        geometry_version=geometry.version,
    )


def _yesterday_same_time(session: Session, scope: StatScope, k: Kpis, at: datetime, tz: str) -> None:
    start = day_start(local_day(at, tz) - timedelta(days=1), tz)
    same_time = at - timedelta(days=1)
    where = _ticket_scope(scope)
    for column, name in (
        (Ticket.created_at, "reported_yesterday_same_time"),
        (Ticket.closed_at, "closed_yesterday_same_time"),
    ):
        n = session.scalar(select(func.count()).select_from(Ticket).where(where, column >= start, column < same_time))
        setattr(k, name, int(n or 0))


def feed_at(session: Session, scope: StatScope, at: datetime, *, size: int = FEED_SIZE) -> list[FeedItem]:
    """The newest reports before `at`, each with its status then; no reporter identity."""
    return feed(session, scope, size=size, at=at)


def overdue_points_at(session: Session, scope: StatScope, at: datetime, *, limit: int = OVERDUE_POINTS_MAX) -> dict:
    """Orders overdue at `at` (working status then, deadline before it), most overdue first."""
    inner = (
        select(
            Ticket.id.label("id"),
            Ticket.lon.label("lon"),
            Ticket.lat.label("lat"),
            Ticket.handle_due_at.label("due"),
            indicators.status_at(at).label("st"),
        )
        .where(indicators.candidates_at(_ticket_scope(scope), at), Ticket.handle_due_at < at, Ticket.lon.is_not(None))
        .subquery()
    )
    stmt = select(inner.c.id, inner.c.lon, inner.c.lat, inner.c.due).where(inner.c.st.in_(WORKING_STATUSES))
    rows = session.execute(stmt.order_by(inner.c.due).limit(limit)).all()
    return {
        "id": [r.id for r in rows],
        "lon": [round(r.lon, 5) for r in rows],
        "lat": [round(r.lat, 5) for r in rows],
        "hours": [round((at - r.due).total_seconds() / 3600, 1) for r in rows],
    }


def region_stats_at(session: Session, grid_ids: list[int], moment: Moment, *, tz: str, database=None) -> RegionStats:
    """A drill-down page's indicator card at `moment` (its grids' rows summed)."""
    s = RegionStats(grids=len(grid_ids))
    if not grid_ids:
        return s
    rows = rows_at(database, session, moment.at, tz, keep=moment.week is not None)
    sums = _sum(rows, grid_ids)
    s.open_now, s.overdue_now, s.escalated_now = sums["open_now"], sums["overdue_now"], sums["escalated_now"]
    s.reported_today, s.reported_30d = sums["reported_today"], sums["reported_30d"]
    s.on_time_7d = Ratio(sums["closed_on_time_7d"], sums["should_close_7d"])
    s.satisfaction_30d = Ratio(sums["satisfied_30d"], sums["rated_30d"])
    return s


def ticket_table_at(
    session: Session,
    viewer: Viewer,
    region: RegionInfo,
    filters: TicketFilters,
    at: datetime,
    *,
    limit: int = ROW_LIMIT,
) -> TicketTable:
    """A drill-down table as it was at `at`: the region's tickets reported in the period before the
    moment, each with its status then; the status filter applies to that status. (With a status
    filter, the rows are the newest `limit` of the period, filtered.)"""
    seen = effective(session, viewer)
    key = (
        session.get_bind().url.render_as_string(hide_password=True),
        (seen.role, seen.region_id, seen.staff_id, seen.organisation_id, seen.ticket_token),
        region.id,
        filters,
        at,
        limit,
    )
    return _tables.get_or_build(key, lambda: _ticket_table_at(session, viewer, region, filters, at, limit))


def _ticket_table_at(session, viewer, region, filters, at, limit) -> TicketTable:
    wanted = TicketFilter(
        region=region,
        created_after=at - timedelta(days=PERIODS[filters.period]),
        created_before=at,
        main_category=filters.category,
    )
    records = ticket_records(session, viewer, wanted, limit=limit, now=at)
    ids = [r.id for r in records]
    statuses: dict[int, str] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        statuses.update(session.execute(select(Ticket.id, indicators.status_at(at)).where(Ticket.id.in_(chunk))).all())
    records = [replace(r, status=statuses.get(r.id, r.status)) for r in records]
    if filters.status == "overdue":
        records = [r for r in records if r.overdue_at(at)]
    elif filters.status:
        records = [r for r in records if r.status in STATUS_GROUPS[filters.status]]
    total = len(records) if filters.status else count_tickets(session, viewer, wanted, now=at)
    return TicketTable(total=total, rows=[table_row(r, at) for r in records])


_weekly: Memo[Weekly] = Memo(max_entries=128, ttl=600)


def weekly_at(session: Session, viewer: Viewer, region: RegionInfo, moment: Moment, *, tz: str) -> Weekly:
    """A drill-down page's twelve weeks up to the moment (data.read.regions.weekly), kept in memory:
    the moment's own week is "this week" there and would be read again on every view."""
    seen = effective(session, viewer)
    key = (
        session.get_bind().url.render_as_string(hide_password=True),
        (seen.role, seen.region_id, seen.staff_id, seen.organisation_id),
        region.id,
        moment.at,
        tz,
    )
    return _weekly.get_or_build(key, lambda: weekly(session, viewer, region, now=moment.at, tz=tz))
