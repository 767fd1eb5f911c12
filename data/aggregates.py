"""The aggregate tables the dashboard reads (grid_stats, daily_stats), and their refresh.

Three ways to refresh, one result:
- `incremental`: only the grids touched by ticket events since the last refresh (watermark on
  ticket_events.id, re-reading a small overlap so a transaction that committed late is not missed),
  and of daily_stats only the (grid, day) pairs those tickets count on or counted on;
- `windows`: every grid's grid_stats row, because "today", 7-day and 30-day windows slide with no
  ticket changing (run periodically and after midnight);
- `full`: everything, both tables, from scratch (daily_stats by one INSERT ... SELECT).
tests/test_aggregates.py proves incremental == full after random workflow changes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from time import perf_counter

from sqlalchemy import Date, and_, cast, delete, false, func, insert, or_, select, text, true, union_all
from sqlalchemy.orm import Session

from data import indicators
from data.clock import day_start, local_day, utcnow, zone
from data.models import AppState, DailyStat, GridStat, Region, Ticket, TicketEvent

WATERMARK = "aggregates.last_event_id"
OVERLAP_EVENTS = 500
NO_GRID = 0  # grid_id used for tickets outside every grid (the unassigned queue)
BRANCHES = ((Ticket.created_at, 1, 0), (Ticket.closed_at, 0, 1))  # (column, counts as reported, as closed)


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
        grid_ids, ticket_ids = touched_grids(session, max(0, watermark - OVERLAP_EVENTS))
        _refresh_grid_stats(session, grid_ids, now, tz)
        pairs = _refresh_daily_pairs(session, touched_pairs(session, ticket_ids, tz), tz)
        count = len(grid_ids)
    else:
        all_grids = [NO_GRID, *session.scalars(select(Region.id).where(Region.level == "grid"))]
        _refresh_grid_stats(session, None, now, tz)
        if mode == "full":
            _rebuild_daily_stats(session, tz)
        count = len(all_grids)
    _set_state(session, WATERMARK, str(last_event))
    summary = {"mode": mode, "grids": count, "seconds": round(perf_counter() - started, 4)}
    if mode == "incremental":
        summary["pairs"] = pairs
    return summary


def touched_grids(session: Session, after_event_id: int) -> tuple[set[int], set[int]]:
    """Grids touched by events after `after_event_id` (their grid and previous grid), and the
    tickets those events touched."""
    rows = session.execute(
        select(TicketEvent.ticket_id, TicketEvent.grid_id, TicketEvent.previous_grid_id).where(
            TicketEvent.id > after_event_id
        )
    )
    grids: set[int] = set()
    tickets: set[int] = set()
    for ticket_id, grid_id, previous in rows:
        tickets.add(ticket_id)
        grids.add(grid_id if grid_id is not None else NO_GRID)
        if previous is not None:
            grids.add(previous)
    return grids, tickets


def touched_pairs(session: Session, ticket_ids: set[int], tz: str) -> dict[int, set[date]]:
    """The (grid, local day) pairs whose daily_stats rows the changes of these tickets can have
    moved: every grid a ticket was ever in (its grid, the grids of its events and their previous
    grids) times every day it counted or may have counted on (its creation and closing days now,
    the day of each of its events, since a closing time is always an event's time and a reopened
    ticket loses it, and the earlier values a `sync` from another system replaced)."""
    grids_of: dict[int, set[int]] = defaultdict(set)
    days_of: dict[int, set[date]] = defaultdict(set)
    ids = sorted(ticket_ids)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        for tid, grid_id, created, closed in session.execute(
            select(Ticket.id, Ticket.grid_id, Ticket.created_at, Ticket.closed_at).where(Ticket.id.in_(part))
        ):
            grids_of[tid].add(grid_id if grid_id is not None else NO_GRID)
            days_of[tid].add(local_day(created, tz))
            if closed is not None:
                days_of[tid].add(local_day(closed, tz))
        for tid, at, grid_id, previous in session.execute(
            select(TicketEvent.ticket_id, TicketEvent.at, TicketEvent.grid_id, TicketEvent.previous_grid_id).where(
                TicketEvent.ticket_id.in_(part)
            )
        ):
            grids_of[tid].add(grid_id if grid_id is not None else NO_GRID)
            if previous is not None:
                grids_of[tid].add(previous)
            days_of[tid].add(local_day(at, tz))
        for tid, data in session.execute(
            select(TicketEvent.ticket_id, TicketEvent.data).where(
                TicketEvent.ticket_id.in_(part), TicketEvent.action == "sync"
            )
        ):
            for name in ("created_at", "closed_at"):
                before = ((data or {}).get("changed") or {}).get(name)
                if before and before[0]:
                    days_of[tid].add(local_day(datetime.fromisoformat(before[0]).replace(tzinfo=UTC), tz))
    pairs: dict[int, set[date]] = defaultdict(set)
    for tid, grids in grids_of.items():
        for g in grids:
            pairs[g] |= days_of[tid]
    return pairs


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
        rows.append(dict(grid_id=grid_id, **grid_stat_values(got, grid_id, empty), refreshed_at=now))
    if rows:
        session.execute(insert(GridStat), rows)


def local_date_expr(session: Session, column, tz: str):
    """SQL for the local calendar day of a UTC timestamp column. The offset is the zone's current
    one: right for China (no daylight saving since 1991), approximate for zones with DST."""
    offset = int(datetime.now(zone(tz)).utcoffset().total_seconds() // 60)
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, f"{offset:+d} minutes")
    return cast(column + text(f"interval '{offset} minutes'"), Date)


def _daily_counts(session: Session, where, tz: str):
    """SELECT (day, grid, category, source, reported, closed) of the tickets matching `where`."""
    return _daily_counts_any(session, [where, where], tz)


def _rebuild_daily_stats(session: Session, tz: str) -> None:
    """All of daily_stats, computed and written by the database (one INSERT ... SELECT)."""
    session.execute(delete(DailyStat))
    if session.get_bind().dialect.name == "postgresql":
        # Group 10 M tickets in memory rather than in sort files (this transaction only).
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    columns = ["day", "grid_id", "category_id", "source", "reported", "closed"]
    session.execute(insert(DailyStat).from_select(columns, _daily_counts(session, true(), tz)))


def _day_spans(pairs: dict[int, set[date]]) -> list[tuple[int, date, date]]:
    """(grid, first day, last day) runs of consecutive days, covering exactly the pairs."""
    spans = []
    for g in sorted(pairs):
        days = sorted(pairs[g])
        first = last = days[0] if days else None
        for d in days[1:]:
            if d != last + timedelta(days=1):
                spans.append((g, first, last))
                first = d
            last = d
        if first is not None:
            spans.append((g, first, last))
    return spans


def _refresh_daily_pairs(session: Session, pairs: dict[int, set[date]], tz: str) -> int:
    """Recompute the daily_stats rows of exactly these (grid, local day) pairs. Grids sharing a run
    of consecutive days are read together (grid_id IN (...) and the run's time range: index range
    scans on ix_tickets_grid_created / ix_tickets_grid_closed). Returns the number of pairs."""
    by_run: dict[tuple[date, date], list[int]] = defaultdict(list)
    for g, first, last in _day_spans(pairs):
        by_run[(first, last)].append(g)
    starts: dict[date, datetime] = {}

    def start(d: date) -> datetime:
        if d not in starts:
            starts[d] = day_start(d, tz)
        return starts[d]

    runs = sorted(by_run.items())
    for i in range(0, len(runs), 100):  # SQLite's expression depth: a bounded number of ORs at once
        part = runs[i : i + 100]
        wheres = []
        for column in (Ticket.created_at, Ticket.closed_at):
            terms = []
            for (first, last), grids in part:
                real = [g for g in grids if g != NO_GRID]
                where_grid = [Ticket.grid_id.in_(real)] if real else []
                if len(real) < len(grids):
                    where_grid.append(Ticket.grid_id.is_(None))
                terms.append(and_(or_(*where_grid), column >= start(first), column < start(last + timedelta(days=1))))
            wheres.append(or_(*terms))
        rows = []
        for d, g, c, src, reported, closed in session.execute(_daily_counts_any(session, wheres, tz)):
            if isinstance(d, str):
                d = date.fromisoformat(d)
            rows.append(dict(day=d, grid_id=g, category_id=c, source=src, reported=int(reported), closed=int(closed)))
        stale = []
        for (first, last), grids in part:
            real = [g for g in grids if g != NO_GRID] + ([NO_GRID] if NO_GRID in grids else [])
            stale.append(and_(DailyStat.grid_id.in_(real), DailyStat.day >= first, DailyStat.day <= last))
        session.execute(delete(DailyStat).where(or_(*stale)))  # ix_daily_stats_grid_day range scans
        if rows:
            session.connection().execute(DailyStat.__table__.insert(), rows)  # Core executemany: no ORM bulk
    return sum(len(days) for days in pairs.values())


def _daily_counts_any(session: Session, wheres: list, tz: str):
    """Like _daily_counts, with its own filter for the created and the closed branch."""
    grid = func.coalesce(Ticket.grid_id, NO_GRID)
    branches = []
    for (column, reported, closed), where in zip(BRANCHES, wheres, strict=True):
        day = local_date_expr(session, column, tz)
        branches.append(
            select(
                day.label("day"),
                grid.label("grid_id"),
                Ticket.category_id.label("category_id"),
                Ticket.source.label("source"),
                (func.count() * reported).label("reported"),
                (func.count() * closed).label("closed"),
            )
            .where(where, column.is_not(None))
            .group_by(day, grid, Ticket.category_id, Ticket.source)
        )
    u = union_all(*branches).subquery()
    keys = (u.c.day, u.c.grid_id, u.c.category_id, u.c.source)
    return select(*keys, func.sum(u.c.reported), func.sum(u.c.closed)).group_by(*keys)


def _get_state(session: Session, key: str, default: str) -> str:
    state = session.get(AppState, key)
    return state.value if state else default


def _set_state(session: Session, key: str, value: str) -> None:
    state = session.get(AppState, key)
    if state is None:
        session.add(AppState(key=key, value=value))
    else:
        state.value = value


def grid_stat_values(got: dict, grid_id: int, empty) -> dict:
    """One grid's grid_stats numbers from `compute_windows` answers keyed by window name (today,
    24h, 7d, prev_7d, 30d, prev_30d): the live aggregate and a past week's row (data.history_stats)
    are made the same way."""
    today = got["today"].get(grid_id, empty)
    d7, p7 = got["7d"].get(grid_id, empty), got["prev_7d"].get(grid_id, empty)
    d30, p30 = got["30d"].get(grid_id, empty), got["prev_30d"].get(grid_id, empty)
    return dict(
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
    )
