"""A drill-down page's region (district, street, community or grid): its breadcrumb, children,
current indicators (from grid_stats), weekly indicators (data.indicators.compute over its
tickets), team, and people/house counts with small key-group counts suppressed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from data import indicators
from data.access import NotVisible, Viewer
from data.clock import day_start, local_day, utcnow
from data.masking import mask_phone, suppress_small
from data.models import GridStat, GridTeam, Organisation, Region, Staff
from data.read.cache import Memo
from data.read.directory import RegionInfo, directory
from data.read.scope import effective, grids_under, stat_scope, visible_region
from data.read.screen import NO_RATIO, Ratio
from data.read.ticket_filter import TicketFilter, ticket_conditions

PROFILE_FIELDS = ("population", "households", "houses")
KEY_GROUPS = ("low_income", "disabled", "elderly_alone")


@dataclass
class RegionStats:
    grids: int = 0
    open_now: int = 0
    overdue_now: int = 0
    escalated_now: int = 0
    reported_today: int = 0
    reported_30d: int = 0
    on_time_7d: Ratio = NO_RATIO
    satisfaction_30d: Ratio = NO_RATIO


@dataclass(frozen=True)
class TeamMember:
    role: str  # grid_worker, grid_head, property, supervisor
    name: str
    phone: str | None  # masked


@dataclass
class RegionPage:
    region: RegionInfo
    chain: list[RegionInfo]  # district → ... → region
    children: list[RegionInfo]
    grid_codes: list[str]  # grids at or below the region that the viewer may see
    stats: RegionStats
    team: list[TeamMember] = field(default_factory=list)
    profile: dict[str, int | str] | None = None  # None: the viewer may not see profiles
    # The viewer's own area when the page's region is above it (a grid worker on their street's
    # page): team and profile are that area's, never the whole region's (issue #9). None: the
    # viewer covers the whole region.
    limited_to: RegionInfo | None = None


def region_page(session: Session, viewer: Viewer, code: str, *, level: str | None = None) -> RegionPage:
    """The region with this code (and, when given, this level) as the viewer may see it."""
    viewer.require("drilldown")
    region = visible_region(session, viewer, code)
    if level is not None and region.level != level:
        raise NotVisible(f"{code} is not a {level}")
    tree = directory(session)
    info = tree.get(region.id)
    scope = stat_scope(session, viewer)
    grids = [g for g in grids_under(tree, region.id) if scope.contains(g.id)]
    area_id = effective(session, viewer).region_id
    # Every card shows the viewer's area only: on a region above that area (an ancestor page),
    # the team and the people/house counts are the area's own, and only children on the way
    # down to it are listed.
    area = session.get(Region, area_id) if area_id is not None and not tree.within(region.id, area_id) else None
    children = sorted((r for r in tree.by_id.values() if r.parent_id == region.id), key=lambda r: r.code)
    if area is not None:
        children = [c for c in children if tree.within(area.id, c.id) or tree.within(c.id, area.id)]
    shown = area if area is not None else region
    page = RegionPage(
        region=info,
        chain=tree.chain(region.id),
        children=[c for c in children if c.level != "grid" or scope.contains(c.id)],
        grid_codes=[g.code for g in grids],
        stats=_stats(session, [g.id for g in grids]),
        team=_team(session, shown, tree),
        limited_to=tree.get(area.id) if area is not None else None,
    )
    if viewer.can("profile"):
        page.profile = profile(shown)
    return page


def profile(region: Region) -> dict[str, int | str]:
    """People and house counts; key groups (低保, 残疾人, 独居老人) below 5 are shown as "<5"."""
    out: dict[str, int | str] = {name: getattr(region, name) or 0 for name in PROFILE_FIELDS}
    for name in KEY_GROUPS:
        out[name] = suppress_small(getattr(region, name) or 0)
    return out


def _stats(session: Session, grid_ids: list[int]) -> RegionStats:
    s = RegionStats(grids=len(grid_ids))
    if not grid_ids:
        return s
    totals = dict.fromkeys(("should_close_7d", "closed_on_time_7d", "rated_30d", "satisfied_30d"), 0)
    rows = session.execute(
        select(
            GridStat.open_now,
            GridStat.overdue_now,
            GridStat.escalated_now,
            GridStat.reported_today,
            GridStat.reported_30d,
            *(getattr(GridStat, c) for c in totals),
        ).where(GridStat.grid_id.in_(grid_ids))
    )
    for row in rows:
        s.open_now += row.open_now
        s.overdue_now += row.overdue_now
        s.escalated_now += row.escalated_now
        s.reported_today += row.reported_today
        s.reported_30d += row.reported_30d
        for c in totals:
            totals[c] += getattr(row, c)
    s.on_time_7d = Ratio(totals["closed_on_time_7d"], totals["should_close_7d"])
    s.satisfaction_30d = Ratio(totals["satisfied_30d"], totals["rated_30d"])
    return s


def _team(session: Session, region: Region, tree) -> list[TeamMember]:
    """A grid's "1+2+N" core: grid worker, grid head, property company. A community or street:
    the supervisors and grid heads assigned to it."""
    out: list[TeamMember] = []
    if region.level == "grid":
        team = session.get(GridTeam, region.id)
        if team is not None:
            for role, staff_id in (("grid_worker", team.grid_worker_id), ("grid_head", team.grid_head_id)):
                staff = session.get(Staff, staff_id) if staff_id else None
                if staff is not None:
                    out.append(TeamMember(role, staff.name, mask_phone(staff.phone)))
            org = session.get(Organisation, team.property_company_id) if team.property_company_id else None
            if org is not None:
                out.append(TeamMember("property", org.name, org.phone))
        return out
    staff_rows = session.scalars(
        select(Staff)
        .where(Staff.region_id == region.id, Staff.active.is_(True), Staff.role.in_(("supervisor", "grid_head")))
        .order_by(Staff.role.desc(), Staff.id)
    )
    for staff in staff_rows:
        out.append(TeamMember(staff.role, staff.name, mask_phone(staff.phone)))
    return out


def region_ticket_clause(session: Session, viewer: Viewer, region: RegionInfo):
    """Tickets of a region the viewer may see (data.read.ticket_filter's region condition)."""
    return and_(*ticket_conditions(session, viewer, TicketFilter(region=region), utcnow()))


_weeks: Memo[indicators.Indicators] = Memo(max_entries=2048, ttl=3600)


@dataclass
class Weekly:
    weeks: list[date]
    reported: list[int]
    closed: list[int]
    on_time: list[float | None]


def weekly(
    session: Session, viewer: Viewer, region: RegionInfo, *, now: datetime | None = None, tz: str, weeks: int = 12
) -> Weekly:
    """Indicators per local week (Monday first) for the last `weeks` weeks, this week included."""
    viewer.require("tickets")
    now = now or utcnow()
    today = local_day(now, tz)
    monday = today - timedelta(days=today.weekday())
    where = region_ticket_clause(session, viewer, region)
    seen = effective(session, viewer)
    url = session.get_bind().url.render_as_string(hide_password=True)
    out = Weekly([], [], [], [])
    for i in range(weeks - 1, -1, -1):
        start_day = monday - timedelta(weeks=i)
        start = day_start(start_day, tz)
        end = min(day_start(start_day + timedelta(days=7), tz), now)
        if end < now:  # a finished week: cached (a whole city's week reads ~0.9 s of tickets)
            key = (url, region.id, seen.role, seen.region_id, seen.staff_id, seen.organisation_id, start)
            ind = _weeks.get_or_build(key, lambda w=where, a=start, b=end: indicators.total(session, w, a, b, now=b))
        else:
            ind = indicators.total(session, where, start, end, now=end)
        out.weeks.append(start_day)
        out.reported.append(ind.reported)
        out.closed.append(ind.closed)
        out.on_time.append(None if ind.on_time_rate is None else round(ind.on_time_rate, 4))
    return out
