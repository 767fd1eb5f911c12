"""Per-grid numbers at a past moment (issue #10): the same columns as grid_stats, but as they were
at `at`, from data.indicators (windows of data.aggregates.windows(at), "now" numbers rebuilt from
the events with history=True).

A week's end is the moment reports and `?week=` pages ask for again and again: its rows are kept
in `grid_history`, keyed by (moment, grid), filled at first use (or by `fill_weeks`) and read with
one indexed query afterwards, so a past week's page never scans tickets. Other moments (`?as_of=`)
are computed on demand and kept in the process memo.

A stored moment is valid while no event older than it was written after it was computed (an
import of old records): each row keeps the newest event id it saw; a newer event with an older
time makes the moment recomputed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, delete, func, insert, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from data import indicators
from data.aggregates import NO_GRID, grid_stat_values, windows
from data.clock import utcnow
from data.models import Base, BigId, Region, Ticket, TicketEvent
from data.read.cache import Memo

STAT_COLUMNS = (
    "open_now",
    "overdue_now",
    "escalated_now",
    "awaiting",
    "reported_today",
    "dispatched_today",
    "closed_today",
    "reported_24h",
    "reported_30d",
    "should_close_7d",
    "closed_7d",
    "closed_on_time_7d",
    "should_close_prev_7d",
    "closed_on_time_prev_7d",
    "rated_30d",
    "satisfied_30d",
    "rated_prev_30d",
    "satisfied_prev_30d",
)


class GridHistory(Base):
    """grid_stats as they were at a week's end (`at`). Rates as numerator and denominator."""

    __tablename__ = "grid_history"

    at: Mapped[datetime] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: no grid (unassigned)
    open_now: Mapped[int] = mapped_column(Integer, default=0)
    overdue_now: Mapped[int] = mapped_column(Integer, default=0)
    escalated_now: Mapped[int] = mapped_column(Integer, default=0)
    awaiting: Mapped[int] = mapped_column(Integer, default=0)  # 待受理 (status reported) at `at`
    reported_today: Mapped[int] = mapped_column(Integer, default=0)
    dispatched_today: Mapped[int] = mapped_column(Integer, default=0)
    closed_today: Mapped[int] = mapped_column(Integer, default=0)
    reported_24h: Mapped[int] = mapped_column(Integer, default=0)
    reported_30d: Mapped[int] = mapped_column(Integer, default=0)
    should_close_7d: Mapped[int] = mapped_column(Integer, default=0)
    closed_7d: Mapped[int] = mapped_column(Integer, default=0)
    closed_on_time_7d: Mapped[int] = mapped_column(Integer, default=0)
    should_close_prev_7d: Mapped[int] = mapped_column(Integer, default=0)
    closed_on_time_prev_7d: Mapped[int] = mapped_column(Integer, default=0)
    rated_30d: Mapped[int] = mapped_column(Integer, default=0)
    satisfied_30d: Mapped[int] = mapped_column(Integer, default=0)
    rated_prev_30d: Mapped[int] = mapped_column(Integer, default=0)
    satisfied_prev_30d: Mapped[int] = mapped_column(Integer, default=0)
    last_event_id: Mapped[int] = mapped_column(BigId, default=0)  # newest event when computed
    computed_at: Mapped[datetime]


Rows = dict[int, dict[str, int]]  # grid id → {column: value}
_moments: Memo[Rows] = Memo(max_entries=64, ttl=600)


def compute_rows(session: Session, at: datetime, tz: str) -> Rows:
    """Every grid's numbers at `at` (grid 0: tickets in no grid), from data.indicators."""
    group = func.coalesce(Ticket.grid_id, NO_GRID)
    got = indicators.compute_windows(session, true(), windows(at, tz), group_by=group, now=at, history=True)
    targets = {NO_GRID, *session.scalars(select(Region.id).where(Region.level == "grid"))}
    empty = indicators.Indicators()
    out: Rows = {}
    for grid_id in targets:
        out[grid_id] = dict(
            grid_stat_values(got, grid_id, empty), awaiting=got["today"].get(grid_id, empty).awaiting_now
        )
    return out


def _stored(session: Session, at: datetime) -> Rows | None:
    rows = session.execute(select(GridHistory).where(GridHistory.at == at)).scalars().all()
    if not rows:
        return None
    seen = max(r.last_event_id for r in rows)
    late = session.scalar(
        select(TicketEvent.id).where(TicketEvent.id > seen, TicketEvent.at < at).limit(1)
    )  # an event older than the moment, written after it was computed: recompute
    if late is not None:
        return None
    return {r.grid_id: {c: getattr(r, c) for c in STAT_COLUMNS} for r in rows}


def store(session: Session, at: datetime, rows: Rows, last_event_id: int) -> None:
    """Replace the moment's rows (one transaction: the caller's)."""
    now = utcnow()
    session.execute(delete(GridHistory).where(GridHistory.at == at))
    session.execute(
        insert(GridHistory),
        [dict(at=at, grid_id=g, last_event_id=last_event_id, computed_at=now, **values) for g, values in rows.items()],
    )


def rows_at(database, session: Session, at: datetime, tz: str, *, keep: bool) -> Rows:
    """The grids' numbers at `at`: from grid_history when kept there (`keep`: a week's end) and
    still valid, else computed (and, with `keep`, stored through a short write session of
    `database`; a concurrent writer of the same moment is harmless)."""
    url = session.get_bind().url.render_as_string(hide_password=True)
    key = (url, at, tz)
    if keep:
        found = _stored(session, at)
        if found is not None:
            return found
    elif (cached := _moments.get(key)) is not None:
        return cached
    last_event = session.scalar(select(func.max(TicketEvent.id))) or 0
    rows = compute_rows(session, at, tz)
    if keep and database is not None:
        try:
            with database.session() as writer:
                store(writer, at, rows, last_event)
        except IntegrityError:
            pass  # another process stored the same moment first
    else:
        _moments.put(key, rows)
    return rows


def fill_weeks(database, weeks: list[str], tz: str) -> dict:
    """Compute and store the given weeks' ends (a job or the report can warm them)."""
    from data.history import week_moment

    done = {}
    for week in weeks:
        moment = week_moment(week, tz)
        with database.reader() as session:
            rows = rows_at(database, session, moment.at, tz, keep=True)
        done[week] = len(rows)
    return done
