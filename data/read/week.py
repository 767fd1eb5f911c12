"""One ISO week's indicators per street, community and grid, each with the previous week's, for the
weekly report (issue #10). Every number is data.indicators' for the same period: `this` is
`indicators.compute(where, start, end, now=end, history=True)` grouped by the region, so the
"now" numbers (open, overdue, escalated) are the state at the week's end rebuilt from the
tickets' events, not today's.

    week_report(session, viewer, "2026-W47", tz=...)  → WeekReport

The viewer's scope (data.access.ticket_clause) is inside every query: a supervisor's report has
its own area only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from data import indicators
from data.access import Viewer, ticket_clause
from data.clock import utcnow, zone
from data.history import BadMoment, last_finished_week, previous_week, week_bounds, week_name
from data.indicators import Indicators
from data.masking import mask_address
from data.models import WORKING_STATUSES, Ticket
from data.read.cache import Memo
from data.read.directory import categories, directory, main_category
from data.read.scope import effective

OVERDUE_LIST = 10


@dataclass
class WeekRow:
    code: str
    name: str
    level: str  # district | street | community | grid
    parent_code: str | None
    this: Indicators
    previous: Indicators

    def change(self, attr: str) -> float | None:
        a, b = getattr(self.this, attr), getattr(self.previous, attr)
        return None if a is None or b is None else a - b

    def change_pct(self, attr: str) -> float | None:
        a, b = getattr(self.this, attr), getattr(self.previous, attr)
        return None if a is None or not b else (a - b) / b


@dataclass(frozen=True)
class OverdueRow:
    id: int
    category: str
    grid: str
    community: str
    street: str
    address: str | None  # masked to the estate
    due_at: datetime
    overdue_hours: float
    status: str  # the status at the week's end


@dataclass
class WeekReport:
    week: str
    previous_week: str
    start: datetime
    end: datetime
    prev_start: datetime
    prev_end: datetime
    district: WeekRow
    streets: list[WeekRow] = field(default_factory=list)
    communities: list[WeekRow] = field(default_factory=list)
    grids: list[WeekRow] = field(default_factory=list)
    longest_overdue: list[OverdueRow] = field(default_factory=list)


_reports: Memo[WeekReport] = Memo(max_entries=64, ttl=600)


def week_report(
    session: Session, viewer: Viewer, week: str | None = None, *, tz: str, now: datetime | None = None
) -> WeekReport:
    """The week's tables (None: the last finished week). A week that has not ended is a BadMoment."""
    viewer.require("aggregates")
    viewer.require("tickets")
    now = now or utcnow()
    week = week or last_finished_week(now, tz)
    start, end = week_bounds(week, tz)
    if end > now:
        raise BadMoment(f"week={week}: the week has not ended yet", reason="not_ended", value=week)
    week = week_name(start.astimezone(zone(tz)).date())
    seen = effective(session, viewer)
    url = session.get_bind().url.render_as_string(hide_password=True)
    key = (url, week, tz, seen.role, seen.region_id, seen.staff_id, seen.organisation_id, seen.ticket_token)
    return _reports.get_or_build(key, lambda: _build(session, seen, week, start, end, tz))


def _build(session: Session, viewer: Viewer, week: str, start: datetime, end: datetime, tz: str) -> WeekReport:
    prev = previous_week(week)
    prev_start, prev_end = week_bounds(prev, tz)
    where = ticket_clause(viewer)
    tree = directory(session)
    empty = Indicators()

    def both(group_by):
        """Both weeks in one pass over the measures (data.indicators.compute_windows); the "now"
        numbers of each week are the state at its own end (state_at the previous week's end)."""
        got = indicators.compute_windows(
            session,
            where,
            {"this": (start, end), "prev": (prev_start, prev_end)},
            group_by=group_by,
            now=end,
            history=True,
        )
        before = dict(got["prev"])
        states = indicators.state_at(session, where, prev_end, group_by=group_by)
        for key in set(before) | set(states):
            ind = before.setdefault(key, Indicators())
            st = states.get(key, indicators.State())
            ind.open_now, ind.overdue_now, ind.escalated_now = st.open, st.overdue, st.escalated
        return got["this"], before

    district = tree.district()
    this, before = both(None)
    report = WeekReport(
        week=week,
        previous_week=prev,
        start=start,
        end=end,
        prev_start=prev_start,
        prev_end=prev_end,
        district=WeekRow(
            district.code if district else "",
            district.name if district else "",
            "district",
            None,
            this[None],
            before[None],
        ),
    )
    scope_id = viewer.region_id
    chain = {r.id for r in tree.chain(scope_id)} if scope_id else set()
    for level, column, target in (
        ("street", Ticket.street_id, report.streets),
        ("community", Ticket.community_id, report.communities),
        ("grid", Ticket.grid_id, report.grids),
    ):
        this, before = both(column)
        regions = sorted((r for r in tree.by_id.values() if r.level == level), key=lambda r: r.code)
        for r in regions:
            if scope_id and not (tree.within(r.id, scope_id) or r.id in chain):
                continue
            parent = tree.get(r.parent_id)
            target.append(
                WeekRow(
                    r.code,
                    r.name,
                    level,
                    parent.code if parent else None,
                    this.get(r.id, empty),
                    before.get(r.id, empty),
                )
            )
    report.longest_overdue = longest_overdue(session, where, end, tz=tz)
    return report


def longest_overdue(session: Session, where, at: datetime, *, tz: str, limit: int = OVERDUE_LIST) -> list[OverdueRow]:
    """The orders overdue at `at` (working status then, handling deadline before it), longest first."""
    inner = (
        select(
            Ticket.id.label("id"),
            Ticket.category_id.label("category_id"),
            Ticket.grid_id.label("grid_id"),
            Ticket.community_id.label("community_id"),
            Ticket.street_id.label("street_id"),
            Ticket.address.label("address"),
            Ticket.handle_due_at.label("due"),
            indicators.status_at(at).label("st"),
        )
        .where(indicators.candidates_at(and_(where, Ticket.handle_due_at < at), at))
        .subquery()
    )
    stmt = select(inner).where(inner.c.st.in_(WORKING_STATUSES)).order_by(inner.c.due, inner.c.id).limit(limit)
    cats = categories(session)
    tree = directory(session)
    out = []
    for r in session.execute(stmt):
        cat = main_category(cats, r.category_id)
        sub = cats.get(r.category_id)
        due = r.due if r.due.tzinfo else r.due.replace(tzinfo=at.tzinfo)
        out.append(
            OverdueRow(
                id=r.id,
                category=(sub.name if sub else (cat.name if cat else "")),
                grid=_name(tree, r.grid_id),
                community=_name(tree, r.community_id),
                street=_name(tree, r.street_id),
                address=mask_address(r.address),
                due_at=due,
                overdue_hours=round((at - due).total_seconds() / 3600, 1),
                status=r.st,
            )
        )
    return out


def _name(tree, region_id) -> str:
    info = tree.get(region_id)
    return info.name if info else ""
