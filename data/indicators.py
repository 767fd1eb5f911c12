"""Indicators for any scope (grid, community, street, district, worker, property company) and period.

Definitions, for a period [start, end):
- reported 上报数: tickets created in the period.
- accepted 立案数: tickets accepted (立案) in the period. Rejected and duplicate reports never are.
- dispatched 派遣数: tickets dispatched in the period (first or latest dispatch).
- closed 结案数: tickets closed (核查结案) in the period.
- closed on time 按期结案数: of those, closed no later than their handling deadline.
- should close 应结案数 = closed + tickets whose handling deadline fell in the period and that
  were still not closed at its end (到期未结).
- closure rate 结案率 = closed / should close; on-time closure rate 按期结案率 = closed on time /
  should close.
- overdue now 超期: in accepted/dispatched/in progress and past the handling deadline at `now`.
- awaiting now 待受理: reported and not yet accepted (or rejected) at `now`.
- rework rate 返工率 = closed tickets that were sent back at least once / closed.
- mean response time: dispatch → 接单, over tickets responded to in the period; mean handling
  time: dispatch → close, over tickets closed in the period.
- satisfaction rate 满意率 = (满意 + 基本满意) / ratings given in the period.

Imported records the source got wrong (data.quality, issue #13) are handled explicitly:
- closed without a close time (status closed or rated, no closed_at): closed — never open,
  overdue or 到期未结 — but in no time-based figure (not in 结案数 / 应结案数 of a period, the
  on-time rate or the means); counted as `closed_untimed` in the period it was created in;
- a negative duration (closed before dispatched, responded before dispatched: the source's clock
  or a 12-hour slip) is left out of the mean response and handling times; the closure itself
  counts at its close time.

The ticket timestamps these read are written by data.workflow in the same transaction as the
event they come from, so they are the event history's own dates.

The "now" numbers (open, overdue, escalated) at a past moment T (`history=True`, or `state_at`)
come from the history, not from the ticket's current status: a ticket counts at T when it was
created before T, was not closed before T, and its latest event before T (ticket_events, the
workflow's append-only log) left it in an open status; escalated when an escalation row is
older than T; overdue when that status is a working one and its handling deadline is before T.
The deadline used is the ticket's current one (a later resume or reopen may have moved it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import and_, case, func, literal, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from data.clock import utcnow
from data.models import WORKING_STATUSES, Escalation, Rating, Ticket, TicketEvent


@dataclass
class Indicators:
    reported: int = 0
    accepted: int = 0
    dispatched: int = 0
    closed: int = 0
    closed_on_time: int = 0
    due_unclosed: int = 0
    reworked: int = 0
    overdue_now: int = 0
    open_now: int = 0
    escalated_now: int = 0
    awaiting_now: int = 0  # reported, not yet accepted (待受理), at `now`
    rated: int = 0
    satisfied: int = 0  # 满意 + 基本满意
    response_n: int = 0
    response_seconds: float = 0.0
    handling_n: int = 0
    handling_seconds: float = 0.0
    closed_untimed: int = 0  # closed without a close time (imported), by creation period

    @property
    def should_close(self) -> int:
        return self.closed + self.due_unclosed

    @property
    def closure_rate(self) -> float | None:
        return _ratio(self.closed, self.should_close)

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.closed_on_time, self.should_close)

    @property
    def rework_rate(self) -> float | None:
        return _ratio(self.reworked, self.closed)

    @property
    def satisfaction_rate(self) -> float | None:
        return _ratio(self.satisfied, self.rated)

    @property
    def mean_response_hours(self) -> float | None:
        return None if not self.response_n else self.response_seconds / self.response_n / 3600

    @property
    def mean_handling_hours(self) -> float | None:
        return None if not self.handling_n else self.handling_seconds / self.handling_n / 3600

    def __add__(self, other: Indicators) -> Indicators:
        return Indicators(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def as_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in (
            "should_close",
            "closure_rate",
            "on_time_rate",
            "rework_rate",
            "satisfaction_rate",
            "mean_response_hours",
            "mean_handling_hours",
        ):
            out[name] = getattr(self, name)
        return out


def _ratio(num: int, den: int) -> float | None:
    return None if not den else num / den


def seconds_between(session: Session, later, earlier):
    """`later - earlier` in seconds, on SQLite or PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def compute(
    session: Session,
    where: ColumnElement[bool],
    start: datetime,
    end: datetime,
    *,
    group_by=None,
    now: datetime | None = None,
    history: bool = False,
) -> dict:
    """Indicators for tickets matching `where` over [start, end), as {group key: Indicators}
    (one key, None, without group_by). `now` (default: the real now, capped at `end`) is the
    instant the "now" numbers (open, overdue, escalated) are taken at; with `history` they are
    the state at that instant rebuilt from the tickets' events (a past week's end), else the
    tickets' current status (the live aggregates)."""
    return compute_windows(session, where, {"period": (start, end)}, group_by=group_by, now=now, history=history)[
        "period"
    ]


def compute_windows(
    session: Session,
    where: ColumnElement[bool],
    windows: dict[str, tuple[datetime, datetime]],
    *,
    group_by=None,
    now: datetime | None = None,
    history: bool = False,
) -> dict[str, dict]:
    """Indicators for several periods at once: {window name: {group key: Indicators}}.

    One query per measure covers every window (a CASE per window over the span of all of them),
    so the aggregate refresh costs eight queries whatever the number of windows. The "now"
    numbers are taken once, at `now` capped at the latest window end."""
    lo = min(s for s, _ in windows.values())
    hi = max(e for _, e in windows.values())
    now = min(now or utcnow(), hi)
    key = group_by if group_by is not None else literal(None)
    spans = list(windows.items())
    out: dict[str, dict] = {name: defaultdict(Indicators) for name in windows}

    def per_window(make_columns, stmt_for, assign):
        columns = [c for _, (s, e) in spans for c in make_columns(s, e)]
        width = len(columns) // len(spans)
        for row in session.execute(stmt_for(columns)):
            for i, (name, _) in enumerate(spans):
                assign(out[name][row[0]], row[1 + i * width : 1 + (i + 1) * width])

    def inside(col, s, e):
        return and_(col >= s, col < e)

    def count_if(cond):
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    def sum_if(cond, value):
        return func.coalesce(func.sum(case((cond, value), else_=0.0)), 0.0)

    def ticket_stmt(col, *extra):
        return lambda columns: select(key, *columns).where(where, col >= lo, col < hi, *extra).group_by(key)

    for col, field in (
        (Ticket.accepted_at, "accepted"),
        (Ticket.dispatched_at, "dispatched"),
    ):
        per_window(
            lambda s, e, col=col: [count_if(inside(col, s, e))],
            ticket_stmt(col),
            lambda ind, r, field=field: setattr(ind, field, r[0]),
        )
    per_window(
        lambda s, e: [
            count_if(inside(Ticket.created_at, s, e)),
            count_if(and_(inside(Ticket.created_at, s, e), CLOSED_UNTIMED)),
        ],
        ticket_stmt(Ticket.created_at),
        lambda ind, r: _set(ind, reported=r[0], closed_untimed=r[1]),
    )

    on_time = or_(Ticket.handle_due_at.is_(None), Ticket.closed_at <= Ticket.handle_due_at)
    handling = seconds_between(session, Ticket.closed_at, Ticket.dispatched_at)
    timed = Ticket.closed_at >= Ticket.dispatched_at  # also: dispatched_at is not NULL
    per_window(
        lambda s, e: [
            count_if(inside(Ticket.closed_at, s, e)),
            count_if(and_(inside(Ticket.closed_at, s, e), on_time)),
            count_if(and_(inside(Ticket.closed_at, s, e), Ticket.rework_count > 0)),
            count_if(and_(inside(Ticket.closed_at, s, e), timed)),
            sum_if(and_(inside(Ticket.closed_at, s, e), timed), handling),
        ],
        ticket_stmt(Ticket.closed_at),
        lambda ind, r: _set(
            ind, closed=r[0], closed_on_time=r[1], reworked=r[2], handling_n=r[3], handling_seconds=float(r[4])
        ),
    )
    per_window(
        lambda s, e: [
            count_if(
                and_(inside(Ticket.handle_due_at, s, e), or_(Ticket.closed_at.is_(None), Ticket.closed_at >= e))
            )
        ],
        ticket_stmt(Ticket.handle_due_at, Ticket.status.notin_(("rejected", "duplicate")), ~CLOSED_UNTIMED),
        lambda ind, r: setattr(ind, "due_unclosed", r[0]),
    )
    response = seconds_between(session, Ticket.responded_at, Ticket.dispatched_at)
    per_window(
        lambda s, e: [count_if(inside(Ticket.responded_at, s, e)), sum_if(inside(Ticket.responded_at, s, e), response)],
        ticket_stmt(Ticket.responded_at, Ticket.responded_at >= Ticket.dispatched_at),
        lambda ind, r: _set(ind, response_n=r[0], response_seconds=float(r[1])),
    )
    satisfied = Rating.value.in_(("satisfied", "basic"))
    per_window(
        lambda s, e: [count_if(inside(Rating.at, s, e)), count_if(and_(inside(Rating.at, s, e), satisfied))],
        lambda columns: select(key, *columns)
        .select_from(Rating)
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(where, Rating.at >= lo, Rating.at < hi)
        .group_by(key),
        lambda ind, r: _set(ind, rated=r[0], satisfied=r[1]),
    )
    if history:
        for group, st in state_at(session, where, now, group_by=group_by).items():
            for name in windows:
                _set(
                    out[name][group],
                    open_now=st.open,
                    overdue_now=st.overdue,
                    escalated_now=st.escalated,
                    awaiting_now=st.awaiting,
                )
    else:
        overdue = and_(Ticket.status.in_(WORKING_STATUSES), Ticket.handle_due_at < now)
        stmt = (
            select(
                key,
                func.count(),
                count_if(overdue),
                count_if(Ticket.escalation_level > 0),
                count_if(Ticket.status == "reported"),
            )
            .where(where, Ticket.status.in_(OPEN_FOR_STATS))
            .group_by(key)
        )
        for row in session.execute(stmt):
            for name in windows:
                _set(
                    out[name][row[0]], open_now=row[1], overdue_now=row[2], escalated_now=row[3], awaiting_now=row[4]
                )
    if group_by is None:
        return {name: {None: out[name][None]} for name in windows}
    return {name: dict(rows) for name, rows in out.items()}


# Open for the statistics' "now" numbers: everything not yet closed, rejected or a duplicate.
OPEN_FOR_STATS = ("reported", "accepted", "dispatched", "in_progress", "handled", "suspended")
# Closed without a close time (an imported record; data.quality "closed_without_time").
CLOSED_UNTIMED = and_(Ticket.status.in_(("closed", "rated")), Ticket.closed_at.is_(None))


@dataclass
class State:
    """The "now" numbers at one moment: open (在办), overdue (超期), escalated (督办中), and the
    reports still waiting to be accepted (待受理)."""

    open: int = 0
    overdue: int = 0
    escalated: int = 0
    awaiting: int = 0


def status_at(at: datetime):
    """SQL (correlated on Ticket) for a ticket's status at `at`: the target status of its latest
    event before `at`, else (a ticket with no recorded event then) its current status."""
    last = (
        select(TicketEvent.to_status)
        .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.at < at, TicketEvent.to_status.is_not(None))
        .order_by(TicketEvent.at.desc(), TicketEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(last, Ticket.status)


def candidates_at(where: ColumnElement[bool], at: datetime) -> ColumnElement[bool]:
    """Tickets that may have been open at `at` (indexed ranges: created before it, not closed
    before it); status_at decides."""
    return and_(
        where,
        Ticket.created_at < at,
        or_(Ticket.closed_at.is_(None), Ticket.closed_at >= at),
        ~CLOSED_UNTIMED,
    )


def escalated_at(at: datetime):
    return select(Escalation.id).where(Escalation.ticket_id == Ticket.id, Escalation.at < at).exists()


def without_jit(session: Session) -> None:
    """PostgreSQL compiles a query it estimates as costly (the correlated status lookups are) with
    its JIT: ~0.35 s of compiling for a 0.3 s query. Off for the rest of this transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def state_at(session: Session, where: ColumnElement[bool], at: datetime, *, group_by=None) -> dict:
    """{group key: State} at the instant `at`, rebuilt from the history (see the module doc)."""
    without_jit(session)
    key = group_by if group_by is not None else literal(None)
    inner = (
        select(
            key.label("k"),
            status_at(at).label("st"),
            Ticket.handle_due_at.label("due"),
            escalated_at(at).label("esc"),
        )
        .where(candidates_at(where, at))
        .subquery()
    )
    is_open = inner.c.st.in_(OPEN_FOR_STATS)

    def count_if(cond):
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    stmt = select(
        inner.c.k,
        count_if(is_open),
        count_if(and_(inner.c.st.in_(WORKING_STATUSES), inner.c.due < at)),
        count_if(and_(is_open, inner.c.esc)),
        count_if(inner.c.st == "reported"),
    ).group_by(inner.c.k)
    out = {row[0]: State(int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in session.execute(stmt)}
    if group_by is None:
        return {None: out.get(None, State())}
    return out


def _set(ind: Indicators, **values) -> None:
    for name, value in values.items():
        setattr(ind, name, value)


def total(
    session: Session, where, start: datetime, end: datetime, *, now: datetime | None = None, history: bool = False
) -> Indicators:
    """Indicators for the whole scope as one number set."""
    return compute(session, where, start, end, now=now, history=history)[None]


def ranking(rows: dict, *, rate: str, min_volume: int, volume: str = "should_close", descending=True) -> list:
    """Rank {key: Indicators} by a rate, keeping only keys with at least `min_volume` behind the
    rate; each row carries the volume so a 100 % from 2 tickets is not mistaken for a record."""
    ranked = [
        (key, getattr(ind, rate), getattr(ind, volume))
        for key, ind in rows.items()
        if getattr(ind, volume) >= min_volume and getattr(ind, rate) is not None
    ]
    ranked.sort(key=lambda r: (-r[1] if descending else r[1], -r[2]))
    return ranked
