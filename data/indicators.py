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
- rework rate 返工率 = closed tickets that were sent back at least once / closed.
- mean response time: dispatch → 接单, over tickets responded to in the period; mean handling
  time: dispatch → close, over tickets closed in the period.
- satisfaction rate 满意率 = (满意 + 基本满意) / ratings given in the period.

The ticket timestamps these read are written by data.workflow in the same transaction as the
event they come from, so they are the event history's own dates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from data.clock import utcnow
from data.models import WORKING_STATUSES, Rating, Ticket


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
    rated: int = 0
    satisfied: int = 0  # 满意 + 基本满意
    response_n: int = 0
    response_seconds: float = 0.0
    handling_n: int = 0
    handling_seconds: float = 0.0

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
) -> dict:
    """Indicators for tickets matching `where` over [start, end), as {group key: Indicators}
    (one key, None, without group_by). `now` (default: the real now, capped at `end`) is the
    instant the "now" numbers (open, overdue, escalated) are taken at."""
    now = min(now or utcnow(), end)
    key = group_by if group_by is not None else literal(None)
    out: dict = defaultdict(Indicators)

    def run(stmt, assign):
        for row in session.execute(stmt):
            assign(out[row[0]], row)

    def in_period(col):
        return and_(col >= start, col < end)

    run(
        select(key, func.count()).where(where, in_period(Ticket.created_at)).group_by(key),
        lambda ind, r: setattr(ind, "reported", r[1]),
    )
    run(
        select(key, func.count()).where(where, in_period(Ticket.accepted_at)).group_by(key),
        lambda ind, r: setattr(ind, "accepted", r[1]),
    )
    run(
        select(key, func.count()).where(where, in_period(Ticket.dispatched_at)).group_by(key),
        lambda ind, r: setattr(ind, "dispatched", r[1]),
    )
    on_time = case((or_(Ticket.handle_due_at.is_(None), Ticket.closed_at <= Ticket.handle_due_at), 1), else_=0)
    reworked = case((Ticket.rework_count > 0, 1), else_=0)
    run(
        select(
            key,
            func.count(),
            func.coalesce(func.sum(on_time), 0),
            func.coalesce(func.sum(reworked), 0),
            func.count(Ticket.dispatched_at),
            func.coalesce(func.sum(seconds_between(session, Ticket.closed_at, Ticket.dispatched_at)), 0.0),
        )
        .where(where, in_period(Ticket.closed_at))
        .group_by(key),
        lambda ind, r: _set(
            ind, closed=r[1], closed_on_time=r[2], reworked=r[3], handling_n=r[4], handling_seconds=float(r[5])
        ),
    )
    run(
        select(key, func.count())
        .where(
            where,
            in_period(Ticket.handle_due_at),
            or_(Ticket.closed_at.is_(None), Ticket.closed_at >= end),
            Ticket.status.notin_(("rejected", "duplicate")),
        )
        .group_by(key),
        lambda ind, r: setattr(ind, "due_unclosed", r[1]),
    )
    run(
        select(
            key,
            func.count(),
            func.coalesce(func.sum(seconds_between(session, Ticket.responded_at, Ticket.dispatched_at)), 0.0),
        )
        .where(where, in_period(Ticket.responded_at), Ticket.dispatched_at.is_not(None))
        .group_by(key),
        lambda ind, r: _set(ind, response_n=r[1], response_seconds=float(r[2])),
    )
    satisfied = case((Rating.value.in_(("satisfied", "basic")), 1), else_=0)
    run(
        select(key, func.count(), func.coalesce(func.sum(satisfied), 0))
        .select_from(Rating)
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(where, Rating.at >= start, Rating.at < end)
        .group_by(key),
        lambda ind, r: _set(ind, rated=r[1], satisfied=r[2]),
    )
    overdue = case((and_(Ticket.status.in_(WORKING_STATUSES), Ticket.handle_due_at < now), 1), else_=0)
    escalated = case((Ticket.escalation_level > 0, 1), else_=0)
    run(
        select(key, func.count(), func.coalesce(func.sum(overdue), 0), func.coalesce(func.sum(escalated), 0))
        .where(where, Ticket.status.in_(OPEN_FOR_STATS))
        .group_by(key),
        lambda ind, r: _set(ind, open_now=r[1], overdue_now=r[2], escalated_now=r[3]),
    )
    if group_by is None:
        return {None: out[None]}
    return dict(out)


# Open for the statistics' "now" numbers: everything not yet closed, rejected or a duplicate.
OPEN_FOR_STATS = ("reported", "accepted", "dispatched", "in_progress", "handled", "suspended")


def _set(ind: Indicators, **values) -> None:
    for name, value in values.items():
        setattr(ind, name, value)


def total(session: Session, where, start: datetime, end: datetime, *, now: datetime | None = None) -> Indicators:
    """Indicators for the whole scope as one number set."""
    return compute(session, where, start, end, now=now)[None]


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
