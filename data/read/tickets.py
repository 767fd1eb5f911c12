"""Tickets for the drill-down table and the ticket page, always through data.access.ticket_clause /
load_ticket. Personal data is presented per role here, on the server (data.privacy: reporter name
and phone masked, the address as the role may see it): a page never receives more."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.access import Viewer, load_ticket
from data.clock import utcnow
from data.models import OPEN_STATUSES, WORKING_STATUSES, Category, Organisation, Staff, Ticket, TicketEvent
from data.privacy import present_person, present_ticket_reporter
from data.read.directory import RegionInfo, categories, directory, main_category
from data.read.regions import region_ticket_clause
from data.read.scope import effective

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
STATUS_GROUPS = {
    "open": OPEN_STATUSES,
    "overdue": WORKING_STATUSES,  # and past the handling deadline
    "closed": ("closed", "rated"),
    "void": ("rejected", "duplicate"),
}
ROW_LIMIT = 2000


@dataclass(frozen=True)
class TicketFilters:
    period: str = "30d"
    category: str | None = None  # a 大类 code
    status: str | None = None  # a STATUS_GROUPS key

    def query(self) -> dict:
        out = {"period": self.period}
        if self.category:
            out["category"] = self.category
        if self.status:
            out["status"] = self.status
        return out


def parse_filters(query: dict, main_codes: set[str]) -> tuple[TicketFilters, list[str]]:
    """Filters from URL query parameters; an invalid value falls back to the default and is named
    in the returned problems (shown on the page), never silently dropped."""
    problems = []
    period = query.get("period") or "30d"
    if period not in PERIODS:
        problems.append(f"period={period}")
        period = "30d"
    category = query.get("category") or None
    if category is not None and category not in main_codes:
        problems.append(f"category={category}")
        category = None
    status = query.get("status") or None
    if status is not None and status not in STATUS_GROUPS:
        problems.append(f"status={status}")
        status = None
    return TicketFilters(period, category, status), problems


@dataclass
class TicketTable:
    total: int
    rows: list[dict]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def _filter_clause(session: Session, filters: TicketFilters, now: datetime):
    clauses = [Ticket.created_at >= now - timedelta(days=PERIODS[filters.period])]
    if filters.category:
        cats = categories(session)
        subs = [c.id for c in cats.values() if c.parent_id is not None and cats[c.parent_id].code == filters.category]
        clauses.append(Ticket.category_id.in_(subs or [-1]))
    if filters.status == "overdue":
        clauses += [Ticket.status.in_(WORKING_STATUSES), Ticket.handle_due_at < now]
    elif filters.status:
        clauses.append(Ticket.status.in_(STATUS_GROUPS[filters.status]))
    return clauses


def ticket_table(
    session: Session,
    viewer: Viewer,
    region: RegionInfo,
    filters: TicketFilters,
    *,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
    limit: int = ROW_LIMIT,
) -> TicketTable:
    """The region's tickets matching the filters, newest first (at most `limit` rows; `total` counts all)."""
    viewer.require("tickets")
    now = now or utcnow()
    where = [region_ticket_clause(session, viewer, region), *_filter_clause(session, filters, now)]
    total = session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.created_at,
            Ticket.category_id,
            Ticket.status,
            Ticket.grid_id,
            Ticket.community_id,
            Ticket.source,
            Ticket.address,
            Ticket.assignee_staff_id,
            Ticket.assignee_org_id,
            Ticket.handle_due_at,
            Ticket.escalation_level,
            Ticket.lon,
            Ticket.lat,
            Ticket.closed_at,
        )
        .where(*where)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    ).all()
    cats = categories(session)
    tree = directory(session)
    names = _assignee_names(session, rows)
    out = []
    for r in rows:
        cat = cats.get(r.category_id)
        main = main_category(cats, r.category_id)
        place = tree.get(r.grid_id) or tree.get(r.community_id)
        overdue = r.status in WORKING_STATUSES and r.handle_due_at is not None and r.handle_due_at < now
        out.append(
            {
                "id": r.id,
                "created_at": r.created_at,
                "category": cat.name if cat else "",
                "main_category": main.name if main else "",
                "status": r.status,
                "grid": place.name if place else "",
                "grid_code": place.code if place else "",
                "source": r.source,
                "address": present_person(viewer, address=r.address).address or "",
                "assignee": names.get(("staff", r.assignee_staff_id)) or names.get(("org", r.assignee_org_id)) or "",
                "handle_due_at": r.handle_due_at,
                "overdue": overdue,
                "escalation_level": r.escalation_level,
                "lon": r.lon,
                "lat": r.lat,
            }
        )
    return TicketTable(total=total, rows=out)


def _assignee_names(session: Session, rows) -> dict:
    staff_ids = {r.assignee_staff_id for r in rows if r.assignee_staff_id}
    org_ids = {r.assignee_org_id for r in rows if r.assignee_org_id}
    out: dict = {}
    if staff_ids:
        out.update(
            {("staff", i): n for i, n in session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids)))}
        )
    if org_ids:
        out.update(
            {
                ("org", i): n
                for i, n in session.execute(
                    select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))
                )
            }
        )
    return out


def main_categories(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every 大类, for filter choices."""
    return sorted((c.code, c.name) for c in categories(session).values() if c.parent_id is None)


# ----------------------------------------------------------------------------------------------
# One ticket.


@dataclass(frozen=True)
class EventView:
    at: datetime
    action: str
    from_status: str | None
    to_status: str | None
    actor_role: str
    actor_name: str | None
    note: str | None
    photos: list


@dataclass
class TicketView:
    id: int
    status: str
    source: str
    priority: int
    category: str
    main_category: str
    description: str
    reporter_name: str | None  # masked
    reporter_phone: str | None  # masked
    address: str | None  # masked
    lon: float | None
    lat: float | None
    location_match: str
    grid: RegionInfo | None
    community: RegionInfo | None
    street: RegionInfo | None
    assignee: str | None
    escalation_level: int
    overdue: bool
    rating: str | None
    rework_count: int
    photos: list
    created_at: datetime
    response_due_at: datetime | None
    responded_at: datetime | None
    handle_due_at: datetime | None
    closed_at: datetime | None
    # Where an imported ticket came from and what was odd about it (data.quality, issue #13).
    system: str | None = None
    external_id: str | None = None
    source_status: str | None = None
    data_quality: list[str] = field(default_factory=list)
    events: list[EventView] = field(default_factory=list)
    # What data.workflow.allowed_actions reads, copied out of the session (the row expires with it).
    state: SimpleNamespace | None = None


def ticket_view(session: Session, viewer: Viewer, ticket_id: int) -> TicketView:
    """One ticket with its whole history, or AccessDenied (also when it does not exist)."""
    viewer.require("tickets")
    ticket = load_ticket(session, effective(session, viewer), ticket_id)
    cats = categories(session)
    tree = directory(session)
    main = main_category(cats, ticket.category_id)
    assignee = None
    if ticket.assignee_staff_id:
        staff = session.get(Staff, ticket.assignee_staff_id)
        assignee = staff.name if staff else None
    elif ticket.assignee_org_id:
        org = session.get(Organisation, ticket.assignee_org_id)
        assignee = org.name if org else None
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))
    reporter = present_ticket_reporter(viewer, ticket)
    category = session.get(Category, ticket.category_id)
    return TicketView(
        id=ticket.id,
        status=ticket.status,
        source=ticket.source,
        priority=ticket.priority,
        category=category.name if category else "",
        main_category=main.name if main else "",
        description=ticket.description or "",
        reporter_name=reporter.name,
        reporter_phone=reporter.phone,
        address=reporter.address,
        lon=ticket.lon,
        lat=ticket.lat,
        location_match=ticket.location_match,
        grid=tree.get(ticket.grid_id),
        community=tree.get(ticket.community_id),
        street=tree.get(ticket.street_id),
        assignee=assignee,
        escalation_level=ticket.escalation_level,
        overdue=ticket.overdue,
        rating=ticket.rating,
        rework_count=ticket.rework_count,
        photos=list(ticket.photos or []),
        created_at=ticket.created_at,
        response_due_at=ticket.response_due_at,
        responded_at=ticket.responded_at,
        handle_due_at=ticket.handle_due_at,
        closed_at=ticket.closed_at,
        system=ticket.system,
        external_id=ticket.external_id,
        source_status=ticket.source_status,
        data_quality=list(ticket.data_quality or []),
        events=[
            EventView(
                e.at, e.action, e.from_status, e.to_status, e.actor_role, e.actor_name, e.note, list(e.photos or [])
            )
            for e in events
        ],
        state=SimpleNamespace(
            id=ticket.id,
            status=ticket.status,
            rating=ticket.rating,
            escalation_level=ticket.escalation_level,
            assignee_staff_id=ticket.assignee_staff_id,
            assignee_org_id=ticket.assignee_org_id,
            public_token=ticket.public_token,
        ),
    )


@dataclass(frozen=True)
class Deadline:
    state: str  # none | left | overdue | met | late | ended
    seconds: float  # time left (left), past the deadline (overdue, late)
    due: datetime | None
    done: datetime | None


def deadline(due: datetime | None, done: datetime | None, now: datetime, *, finished: bool = False) -> Deadline:
    """Where a deadline stands: still running (time left), passed while open (overdue by), met, or
    met late; `ended` when the ticket is finished without a time to compare (rejected, or closed
    without a close time in an imported record)."""
    if due is None:
        return Deadline("none", 0.0, None, done)
    if done is None and finished:
        return Deadline("ended", 0.0, due, None)
    if done is not None:
        late = (done - due).total_seconds()
        return Deadline("late" if late > 0 else "met", max(late, 0.0), due, done)
    left = (due - now).total_seconds()
    return Deadline("left" if left >= 0 else "overdue", abs(left), due, None)
