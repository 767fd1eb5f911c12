"""The aggregate tables the dashboard reads (grid_stats, daily_stats), and their refresh.

Three ways to refresh, one result:
- `incremental`: only the grids touched by ticket events since the last refresh (watermark on
  ticket_events.id, re-reading a small overlap so a transaction that committed late is not missed);
- `windows`: every grid's grid_stats row, because "today", 7-day and 30-day windows slide with no
  ticket changing (run periodically and after midnight);
- `full`: everything, both tables, from scratch.
tests/test_aggregates.py proves incremental == full after random workflow changes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from time import perf_counter

from sqlalchemy import Date, cast, delete, false, func, insert, or_, select, text, true
from sqlalchemy.orm import Session

from data import indicators
from data.clock import day_start, local_day, utcnow, zone
from data.models import AppState, DailyStat, GridStat, Region, Ticket, TicketEvent

WATERMARK = "aggregates.last_event_id"
OVERLAP_EVENTS = 500
NO_GRID = 0  # grid_id used for tickets outside every grid (the unassigned queue)


def refresh(
    session: Session, mode: str = "incremental", *, now: datetime | None = None, tz: str = "Asia/Shanghai"
) -> dict:
    """Refresh the aggregates; returns a summary for the job log."""
    if mode not in ("incremental", "windows", "full"):
        raise ValueError(f"unknown refresh mode {mode!r}")
    started = perf_counter()
    now = now or utcnow()
    last_event = session.scalar(select(func.max(TicketEvent.id))) or 0
    watermark = int(_get_state(session, WATERMARK, "0"))
    if mode == "incremental":
        if last_event <= watermark:
            return {"mode": mode, "grids": 0, "seconds": round(perf_counter() - started, 4)}
        grid_ids, since = touched_grids(session, max(0, watermark - OVERLAP_EVENTS))
        _refresh_grid_stats(session, grid_ids, now, tz)
        _refresh_daily_stats(session, grid_ids, tz, since=local_day(since, tz) if since else None)
        count = len(grid_ids)
    else:
        all_grids = [NO_GRID, *session.scalars(select(Region.id).where(Region.level == "grid"))]
        _refresh_grid_stats(session, None, now, tz)
        if mode == "full":
            _refresh_daily_stats(session, None, tz)
        count = len(all_grids)
    _set_state(session, WATERMARK, str(last_event))
    return {"mode": mode, "grids": count, "seconds": round(perf_counter() - started, 4)}


def touched_grids(session: Session, after_event_id: int) -> tuple[set[int], datetime | None]:
    """Grids touched by events after `after_event_id`, and the earliest creation time of the
    tickets those events touched (no daily_stats row before that day can have changed: a ticket
    only counts on its creation day and its closing day, which is later)."""
    rows = session.execute(
        select(TicketEvent.grid_id, TicketEvent.previous_grid_id, Ticket.created_at)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.id > after_event_id)
    )
    grids: set[int] = set()
    since = None
    for grid_id, previous, created in rows:
        grids.add(grid_id if grid_id is not None else NO_GRID)
        if previous is not None:
            grids.add(previous)
        since = created if since is None or created < since else since
    return grids, since


def windows(now: datetime, tz: str) -> dict[str, tuple[datetime, datetime]]:
    today = local_day(now, tz)
    start_today = day_start(today, tz)
    end = now + timedelta(microseconds=1)
    return {
        "today": (start_today, end),
        "24h": (now - timedelta(hours=24), end),
        "7d": (day_start(today - timedelta(days=6), tz), end),
        "prev_7d": (day_start(today - timedelta(days=13), tz), day_start(today - timedelta(days=6), tz)),
        "30d": (day_start(today - timedelta(days=29), tz), end),
        "prev_30d": (day_start(today - timedelta(days=59), tz), day_start(today - timedelta(days=29), tz)),
    }


def _grid_filter(grid_ids: set[int] | None):
    if grid_ids is None:
        return true()
    real = [g for g in grid_ids if g != NO_GRID]
    clauses = [Ticket.grid_id.in_(real)] if real else []
    if NO_GRID in grid_ids:
        clauses.append(Ticket.grid_id.is_(None))
    return or_(*clauses) if clauses else false()


def _refresh_grid_stats(session: Session, grid_ids: set[int] | None, now: datetime, tz: str) -> None:
    where = _grid_filter(grid_ids)
    group = func.coalesce(Ticket.grid_id, NO_GRID)
    spans = windows(now, tz)
    got = indicators.compute_windows(session, where, spans, group_by=group, now=now)
    if grid_ids is None:
        targets = {NO_GRID, *session.scalars(select(Region.id).where(Region.level == "grid"))}
        session.execute(delete(GridStat))
    else:
        targets = set(grid_ids)
        session.execute(delete(GridStat).where(GridStat.grid_id.in_(targets)))
    empty = indicators.Indicators()
    rows = []
    for grid_id in targets:
        today = got["today"].get(grid_id, empty)
        d7, p7 = got["7d"].get(grid_id, empty), got["prev_7d"].get(grid_id, empty)
        d30, p30 = got["30d"].get(grid_id, empty), got["prev_30d"].get(grid_id, empty)
        rows.append(
            dict(
                grid_id=grid_id,
                open_now=today.open_now,
                overdue_now=today.overdue_now,
                escalated_now=today.escalated_now,
                reported_today=today.reported,
                dispatched_today=today.dispatched,
                closed_today=today.closed,
                reported_24h=got["24h"].get(grid_id, empty).reported,
                reported_30d=d30.reported,
                should_close_7d=d7.should_close,
                closed_7d=d7.closed,
                closed_on_time_7d=d7.closed_on_time,
                should_close_prev_7d=p7.should_close,
                closed_on_time_prev_7d=p7.closed_on_time,
                rated_30d=d30.rated,
                satisfied_30d=d30.satisfied,
                rated_prev_30d=p30.rated,
                satisfied_prev_30d=p30.satisfied,
                refreshed_at=now,
            )
        )
    if rows:
        session.execute(insert(GridStat), rows)


def local_date_expr(session: Session, column, tz: str):
    """SQL for the local calendar day of a UTC timestamp column. The offset is the zone's current
    one: right for China (no daylight saving since 1991), approximate for zones with DST."""
    offset = int(datetime.now(zone(tz)).utcoffset().total_seconds() // 60)
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, f"{offset:+d} minutes")
    return cast(column + text(f"interval '{offset} minutes'"), Date)


def _refresh_daily_stats(session: Session, grid_ids: set[int] | None, tz: str, since=None) -> None:
    """Recompute daily_stats rows of `grid_ids` (None: all) from local day `since` on (None: all days)."""
    where = _grid_filter(grid_ids)
    grid = func.coalesce(Ticket.grid_id, NO_GRID)
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for column, slot in ((Ticket.created_at, 0), (Ticket.closed_at, 1)):
        day = local_date_expr(session, column, tz)
        stmt = (
            select(day, grid, Ticket.category_id, Ticket.source, func.count())
            .where(where, column.is_not(None), column >= day_start(since, tz) if since else true())
            .group_by(day, grid, Ticket.category_id, Ticket.source)
        )
        for d, g, c, s, n in session.execute(stmt):
            if isinstance(d, str):
                d = datetime.strptime(d, "%Y-%m-%d").date()
            counts[(d, g, c, s)][slot] = n
    if grid_ids is None:
        session.execute(delete(DailyStat))
    else:
        stale = delete(DailyStat).where(DailyStat.grid_id.in_(grid_ids))
        session.execute(stale.where(DailyStat.day >= since) if since else stale)
    rows = [
        dict(day=d, grid_id=g, category_id=c, source=s, reported=r, closed=cl)
        for (d, g, c, s), (r, cl) in counts.items()
    ]
    for i in range(0, len(rows), 20000):
        session.execute(insert(DailyStat), rows[i : i + 20000])


def _get_state(session: Session, key: str, default: str) -> str:
    state = session.get(AppState, key)
    return state.value if state else default


def _set_state(session: Session, key: str, value: str) -> None:
    state = session.get(AppState, key)
    if state is None:
        session.add(AppState(key=key, value=value))
    else:
        state.value = value
