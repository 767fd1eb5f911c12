"""The week's numbers for the report, every one computed by data.indicators (the module the
pages use), through the viewer-aware clause of data.access: per street and per community for the
week and the week before, the 红黑榜 (data.indicators.ranking with a minimum volume), the grids
whose on-time closure rate fell most, and the ten longest-overdue orders open at the week's end.

FORMULAS names each measure's definition; the HTML report footnotes every column with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from data import indicators
from data.access import Viewer, ticket_clause
from data.models import Category, Ticket
from data.read.directory import directory
from data.reports.weeks import Week

# (key, label, formula): the columns of the indicator tables, in order. `key` is an attribute of
# data.indicators.Indicators; the formula text restates that module's definition.
FORMULAS: list[tuple[str, str, str]] = [
    ("reported", "上报数", "本周新建的工单数（created_at 在本周内）"),
    ("accepted", "立案数", "本周立案的工单数（accepted_at 在本周内；驳回、重复件不立案）"),
    ("closed", "结案数", "本周核查结案的工单数（closed_at 在本周内）"),
    ("should_close", "应结案数", "结案数 + 办理期限在本周内且到周末仍未结案的工单数（到期未结）"),
    ("closure_rate", "结案率", "结案数 ÷ 应结案数"),
    ("on_time_rate", "按期结案率", "按期结案数 ÷ 应结案数；按期 = 结案时间不晚于办理期限"),
    ("due_unclosed", "超期", "到期未结：办理期限在本周内、到周末仍未结案的工单数"),
    ("rework_rate", "返工率", "本周结案中曾被退回重办的工单数 ÷ 结案数"),
    ("mean_response_hours", "平均响应(时)", "派遣 → 接单的平均小时数（本周接单的工单）"),
    ("mean_handling_hours", "平均办理(时)", "派遣 → 结案的平均小时数（本周结案的工单）"),
    ("satisfaction_rate", "满意率", "（满意 + 基本满意）÷ 本周评价数"),
]
RATES = {"closure_rate", "on_time_rate", "rework_rate", "satisfaction_rate"}
HOURS = {"mean_response_hours", "mean_handling_hours"}
FORMULA_NOTE = {key: i + 1 for i, (key, _, _) in enumerate(FORMULAS)}  # footnote numbers


@dataclass
class Row:
    code: str
    name: str
    parent: str  # the street of a community; "" for a street
    week: indicators.Indicators
    prev: indicators.Indicators

    def value(self, key: str, which: str = "week"):
        return getattr(getattr(self, which), key)

    def change(self, key: str):
        """week − previous week (None when either is undefined)."""
        a, b = self.value(key), self.value(key, "prev")
        return None if a is None or b is None else a - b


@dataclass
class OverdueOrder:
    ticket_id: int
    category: str
    community: str
    grid: str
    status: str
    handle_due_at: datetime
    overdue_hours: float  # at the week's end


@dataclass
class WeekContent:
    week: Week
    district: Row
    streets: list[Row]
    communities: list[Row]
    red: list[tuple[Row, float, int]]  # best 按期结案率: (row, rate, volume)
    black: list[tuple[Row, float, int]]  # worst
    min_volume: int
    worsened: list[Row]  # grids whose on-time closure rate fell most
    overdue: list[OverdueOrder]
    top_overdue_communities: list[Row]  # most 到期未结 this week: the screenshots' communities
    overdue_status_at_end: bool = False  # the overdue list's status is the one at the week's end
    notes: list[str] = field(default_factory=list)


def build(session: Session, week: Week, *, min_volume: int = 10, viewer: Viewer | None = None) -> WeekContent:
    viewer = viewer or Viewer.system("周报")
    where = ticket_clause(viewer)
    prev = week.previous()
    windows = {"week": (week.start, week.end), "prev": (prev.start, prev.end)}
    tree = directory(session)

    def rows(group_by, level: str) -> list[Row]:
        data = indicators.compute_windows(session, where, windows, group_by=group_by, now=week.end)
        out = []
        for region in sorted((r for r in tree.by_id.values() if r.level == level), key=lambda r: r.code):
            parent = tree.get(region.parent_id)
            out.append(
                Row(
                    region.code,
                    region.name,
                    parent.name if parent is not None and level != "street" else "",
                    data["week"].get(region.id, indicators.Indicators()),
                    data["prev"].get(region.id, indicators.Indicators()),
                )
            )
        return out

    whole = indicators.compute_windows(session, where, windows, now=week.end)
    district_info = tree.district()
    district = Row(
        district_info.code if district_info else "",
        district_info.name if district_info else "全区",
        "",
        whole["week"][None],
        whole["prev"][None],
    )
    streets = rows(Ticket.street_id, "street")
    communities = rows(Ticket.community_id, "community")
    grids = rows(Ticket.grid_id, "grid")
    by_code = {r.code: r for r in communities}
    ranked = indicators.ranking({r.code: r.week for r in communities}, rate="on_time_rate", min_volume=min_volume)
    k = min(5, len(ranked) // 2)  # the two lists never share a community
    red = [(by_code[c], rate, vol) for c, rate, vol in ranked[:k]]
    black = [(by_code[c], rate, vol) for c, rate, vol in reversed(ranked[len(ranked) - k :])] if k else []
    worsened = sorted(
        (
            g
            for g in grids
            if g.week.should_close >= min_volume
            and g.prev.should_close >= min_volume
            and (g.change("on_time_rate") or 0) < 0
        ),
        key=lambda g: (g.change("on_time_rate"), -g.week.due_unclosed),
    )[:10]
    top = sorted(communities, key=lambda r: (-r.week.due_unclosed, -r.week.reported, r.code))[:3]
    overdue, at_end = longest_overdue(session, where, week.end, tree, tz=week.tz)
    return WeekContent(
        week=week,
        district=district,
        streets=streets,
        communities=communities,
        red=red,
        black=black,
        min_volume=min_volume,
        worsened=worsened,
        overdue=overdue,
        top_overdue_communities=[r for r in top if r.week.due_unclosed > 0] or top,
        overdue_status_at_end=at_end,
    )


def longest_overdue(session: Session, where, at: datetime, tree, *, tz: str, limit: int = 10):
    """(orders overdue at `at`, longest first; whether their status is the one at `at`).

    With the history module (data.read.week, issue #10) the list is its `longest_overdue`: the
    status at `at` rebuilt from the tickets' events. Without it, `_longest_overdue_now`, whose
    status is today's."""
    try:
        from data.read import week as history
    except ImportError:
        history = None
    if history is not None and hasattr(history, "longest_overdue"):
        rows = history.longest_overdue(session, where, at, tz=tz, limit=limit)
        return [
            OverdueOrder(r.id, r.category, r.community or "—", r.grid or "未落格", r.status, r.due_at, r.overdue_hours)
            for r in rows
        ], True
    return _longest_overdue_now(session, where, at, tree, limit), False


def _longest_overdue_now(session: Session, where, at: datetime, tree, limit: int) -> list[OverdueOrder]:
    """Orders open at `at` and past their handling deadline then, longest overdue first: created
    before `at`, not closed before it (closed_at empty or later), not rejected or a duplicate, and
    not an imported record closed without a time (data.indicators.CLOSED_UNTIMED)."""
    stmt = (
        select(Ticket.id, Category.name, Ticket.community_id, Ticket.grid_id, Ticket.status, Ticket.handle_due_at)
        .join(Category, Category.id == Ticket.category_id)
        .where(
            where,
            Ticket.created_at < at,
            Ticket.handle_due_at < at,
            or_(Ticket.closed_at.is_(None), Ticket.closed_at >= at),
            Ticket.status.notin_(("rejected", "duplicate")),
            ~and_(indicators.CLOSED_UNTIMED),
        )
        .order_by(Ticket.handle_due_at, Ticket.id)
        .limit(limit)
    )
    out = []
    for tid, category, community_id, grid_id, status, due in session.execute(stmt):
        community, grid = tree.get(community_id), tree.get(grid_id)
        out.append(
            OverdueOrder(
                tid,
                category,
                community.name if community else "—",
                grid.name if grid else "未落格",
                status,
                due,
                (at - due).total_seconds() / 3600,
            )
        )
    return out
