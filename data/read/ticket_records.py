"""One projection of a ticket for every reader: `TicketRecord`.

The API, Open311, the drill-down table, the ticket page, the desk and the CSV export all read
tickets here and only map fields; regions and categories come from the cached directory (one
lookup per batch, not per ticket), assignee names in one query per batch, and personal data is
presented by ONE rule, data.privacy's policy for the viewer's role (`presented(...)`): a page, a
callback answer or an API response never receives more than the role may see.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.access import Viewer, load_ticket
from data.clock import utcnow
from data.masking import mask_address
from data.models import OPEN_STATUSES, WORKING_STATUSES, Organisation, Staff, Ticket, TicketEvent
from data.privacy import Person, present_person, present_text
from data.read.directory import CategoryInfo, RegionInfo, categories, directory
from data.read.scope import effective
from data.read.ticket_filter import TicketFilter, ticket_conditions

ORDERS = {
    "newest": (Ticket.created_at.desc(), Ticket.id.desc()),
    "id_desc": (Ticket.id.desc(),),
    "id": (Ticket.id.asc(),),
    "oldest": (Ticket.created_at.asc(), Ticket.id.asc()),
    "due": (Ticket.handle_due_at.asc(), Ticket.id.asc()),
}
CHUNK = 2000


@dataclass(frozen=True)
class EventRecord:
    id: int
    at: datetime
    action: str
    from_status: str | None
    to_status: str | None
    actor_role: str
    actor_name: str | None
    note: str | None
    photos: tuple[str, ...]
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TicketRecord:
    """A ticket as one viewer may see it (personal fields already presented for that viewer)."""

    id: int
    public_token: str
    status: str
    source: str
    external_id: str | None
    system: str | None  # the other system an imported ticket came from (None: made here)
    source_status: str | None  # that system's own status word
    data_quality: tuple[str, ...]  # data.quality flags of an imported ticket
    priority: int
    description: str
    category: CategoryInfo
    group: CategoryInfo | None  # the 大类
    reporter: Person  # name, phone and address as presented to the viewer
    raw_address: str | None  # for public views that derive their own presentation; never shown as is
    lon: float | None
    lat: float | None
    location_match: str
    grid: RegionInfo | None
    community: RegionInfo | None
    street: RegionInfo | None
    assignee_staff_id: int | None
    assignee_org_id: int | None
    assignee: str | None  # the assignee's name (staff or organisation)
    escalation_level: int
    overdue: bool  # flagged by the deadline sweep
    rework_count: int
    duplicate_of_id: int | None
    rating: str | None
    photos: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None
    dispatched_at: datetime | None
    responded_at: datetime | None
    handled_at: datetime | None
    closed_at: datetime | None
    rated_at: datetime | None
    response_due_at: datetime | None
    handle_due_at: datetime | None
    events: tuple[EventRecord, ...] | None = None  # with detail=True

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def overdue_at(self, now: datetime) -> bool:
        """Past its handling deadline while being worked on, at `now`."""
        return self.status in WORKING_STATUSES and self.handle_due_at is not None and self.handle_due_at < now

    @property
    def category_path(self) -> str:
        """大类 / 小类."""
        return f"{self.group.name} / {self.category.name}" if self.group else self.category.name

    @property
    def place(self) -> RegionInfo | None:
        """Where it is: its grid, else its community (属地兜底)."""
        return self.grid or self.community


def public_address(address: str | None) -> str | None:
    """An address for anyone (Open311's public view, the wall): down to the estate, no house number."""
    return mask_address(address) if address else address


def count_tickets(session: Session, viewer: Viewer, f: TicketFilter, *, now: datetime | None = None) -> int:
    viewer.require("tickets")
    where = ticket_conditions(session, viewer, f, now or utcnow())
    return session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0


def ticket_records(session: Session, viewer: Viewer, f: TicketFilter, **options) -> list[TicketRecord]:
    """The viewer's tickets matching `f` as a list; `options` as for iter_ticket_records (order,
    a key of ORDERS; limit; detail; now; permission)."""
    return list(iter_ticket_records(session, viewer, f, **options))


def iter_ticket_records(
    session: Session,
    viewer: Viewer,
    f: TicketFilter,
    *,
    order: str = "newest",
    limit: int | None = None,
    detail: bool = False,
    now: datetime | None = None,
    permission: str = "tickets",
) -> Iterator[TicketRecord]:
    """As ticket_records, streamed in chunks (the export reads millions this way)."""
    viewer.require(permission)
    where = ticket_conditions(session, viewer, f, now or utcnow())
    stmt = select(*Ticket.__table__.c).where(*where).order_by(*ORDERS[order])
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = session.execute(stmt.execution_options(yield_per=CHUNK))
    for chunk in rows.partitions(CHUNK):
        yield from _records(session, viewer, chunk, detail=detail)


def ticket_record(session: Session, viewer: Viewer, ticket_id: int, *, detail: bool = True) -> TicketRecord:
    """One ticket the viewer may see, with its history; NotVisible otherwise (also when it does
    not exist)."""
    viewer.require("tickets")
    ticket = load_ticket(session, effective(session, viewer), ticket_id)
    return _records(session, viewer, [ticket], detail=detail)[0]


def record_for_token(session: Session, viewer: Viewer, token: str, *, detail: bool = True) -> TicketRecord | None:
    """The ticket behind a public token (the token is the credential), as `viewer` may see it."""
    row = session.execute(select(*Ticket.__table__.c).where(Ticket.public_token == token)).first()
    return _records(session, viewer, [row], detail=detail)[0] if row is not None else None


def _records(session: Session, viewer: Viewer, rows, *, detail: bool) -> list[TicketRecord]:
    cats, tree = categories(session), directory(session)
    names = _assignee_names(session, rows)
    events = _events(session, [r.id for r in rows]) if detail else {}
    out = []
    for r in rows:
        category = cats.get(r.category_id) or CategoryInfo(r.category_id, "", "", None)
        out.append(
            TicketRecord(
                id=r.id,
                public_token=r.public_token,
                status=r.status,
                source=r.source,
                external_id=r.external_id,
                system=r.system,
                source_status=r.source_status,
                data_quality=tuple(r.data_quality or ()),
                priority=r.priority,
                description=present_text(viewer, r.description) or "",
                category=category,
                group=cats.get(category.parent_id) if category.parent_id else None,
                reporter=present_person(viewer, name=r.reporter_name, phone=r.reporter_phone, address=r.address),
                raw_address=r.address,
                lon=r.lon,
                lat=r.lat,
                location_match=r.location_match,
                grid=tree.get(r.grid_id),
                community=tree.get(r.community_id),
                street=tree.get(r.street_id),
                assignee_staff_id=r.assignee_staff_id,
                assignee_org_id=r.assignee_org_id,
                assignee=names.get(("staff", r.assignee_staff_id)) or names.get(("org", r.assignee_org_id)),
                escalation_level=r.escalation_level,
                overdue=bool(r.overdue),
                rework_count=r.rework_count,
                duplicate_of_id=r.duplicate_of_id,
                rating=r.rating,
                photos=tuple(r.photos or ()),
                created_at=r.created_at,
                updated_at=r.updated_at,
                accepted_at=r.accepted_at,
                dispatched_at=r.dispatched_at,
                responded_at=r.responded_at,
                handled_at=r.handled_at,
                closed_at=r.closed_at,
                rated_at=r.rated_at,
                response_due_at=r.response_due_at,
                handle_due_at=r.handle_due_at,
                events=tuple(events.get(r.id, ())) if detail else None,
            )
        )
    return out


def _assignee_names(session: Session, rows) -> dict:
    staff_ids = {r.assignee_staff_id for r in rows if r.assignee_staff_id}
    org_ids = {r.assignee_org_id for r in rows if r.assignee_org_id}
    out: dict = {}
    if staff_ids:
        found = session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids)))
        out.update({("staff", i): n for i, n in found})
    if org_ids:
        found = session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids)))
        out.update({("org", i): n for i, n in found})
    return out


def _events(session: Session, ticket_ids: list[int]) -> dict[int, list[EventRecord]]:
    out: dict[int, list[EventRecord]] = {}
    if not ticket_ids:
        return out
    stmt = select(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids)).order_by(TicketEvent.id)
    for e in session.scalars(stmt):
        out.setdefault(e.ticket_id, []).append(
            EventRecord(
                e.id,
                e.at,
                e.action,
                e.from_status,
                e.to_status,
                e.actor_role,
                e.actor_name,
                e.note,
                tuple(e.photos or ()),
                dict(e.data or {}),
            )
        )
    return out
