"""The dispatcher's desk: queues of tickets waiting for someone, and whom an order can go to.
Every query goes through data.access.ticket_clause and bounded, indexed conditions (status, due
dates); a queue shows its oldest-waiting tickets first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.access import Viewer, ticket_clause
from data.clock import utcnow
from data.masking import mask_address
from data.models import OPEN_STATUSES, WORKING_STATUSES, GridTeam, Organisation, Staff, Ticket
from data.read.directory import categories, directory
from data.read.scope import effective

QUEUES = ("new", "unassigned", "overdue", "escalated", "unlocated")
QUEUE_LIMIT = 500


def queue_clause(queue: str, now: datetime):
    if queue == "new":  # reported, not yet accepted or rejected (待受理)
        return [Ticket.status == "reported"]
    if queue == "unassigned":  # accepted (立案) but not dispatched (待派遣)
        return [Ticket.status == "accepted"]
    if queue == "overdue":
        return [Ticket.status.in_(WORKING_STATUSES), Ticket.handle_due_at < now]
    if queue == "escalated":
        return [Ticket.status.in_(OPEN_STATUSES), Ticket.escalation_level > 0]
    if queue == "unlocated":  # in no grid: the community or the desk must place it (属地兜底)
        return [Ticket.status.in_(OPEN_STATUSES), Ticket.grid_id.is_(None)]
    raise ValueError(f"unknown queue {queue!r}")


def _order(queue: str):
    if queue == "overdue":
        return [Ticket.handle_due_at.asc(), Ticket.id.asc()]
    return [Ticket.created_at.asc(), Ticket.id.asc()]


def queue_counts(session: Session, viewer: Viewer, *, now: datetime | None = None) -> dict[str, int]:
    viewer.require("tickets")
    now = now or utcnow()
    base = ticket_clause(effective(session, viewer))
    return {
        q: session.scalar(select(func.count()).select_from(Ticket).where(base, *queue_clause(q, now))) or 0
        for q in QUEUES
    }


def queue_rows(
    session: Session, viewer: Viewer, queue: str, *, now: datetime | None = None, limit: int = QUEUE_LIMIT
) -> list[dict]:
    viewer.require("tickets")
    now = now or utcnow()
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
            Ticket.handle_due_at,
            Ticket.escalation_level,
            Ticket.priority,
        )
        .where(ticket_clause(effective(session, viewer)), *queue_clause(queue, now))
        .order_by(*_order(queue))
        .limit(limit)
    ).all()
    cats = categories(session)
    tree = directory(session)
    out = []
    for r in rows:
        place = tree.get(r.grid_id) or tree.get(r.community_id)
        cat = cats.get(r.category_id)
        out.append(
            {
                "id": r.id,
                "created_at": r.created_at,
                "category": cat.name if cat else "",
                "status": r.status,
                "grid": place.name if place else "",
                "source": r.source,
                "address": mask_address(r.address) or "",
                "handle_due_at": r.handle_due_at,
                "escalation_level": r.escalation_level,
                "priority": r.priority,
            }
        )
    return out


def assignee_options(session: Session, viewer: Viewer, grid_id: int | None) -> list[dict]:
    """Whom an order can be dispatched to: the grid's own worker and property company first, then
    the other grid workers of its community, every property company and department.
    Values are "staff:<id>" or "org:<id>"."""
    viewer.require("ticket_actions")
    tree = directory(session)
    options: list[dict] = []
    seen: set[str] = set()

    def add(value: str, label: str):
        if value not in seen:
            seen.add(value)
            options.append({"value": value, "label": label})

    community_id = None
    if grid_id is not None:
        team = session.get(GridTeam, grid_id)
        grid = tree.get(grid_id)
        community_id = grid.parent_id if grid else None
        if team is not None and team.grid_worker_id:
            staff = session.get(Staff, team.grid_worker_id)
            if staff is not None and staff.active:
                add(f"staff:{staff.id}", f"{staff.name}（{grid.name if grid else ''}网格员）")
        if team is not None and team.property_company_id:
            org = session.get(Organisation, team.property_company_id)
            if org is not None:
                add(f"org:{org.id}", f"{org.name}（物业）")
    if community_id is not None:
        grid_ids = [g.id for g in tree.by_id.values() if g.parent_id == community_id and g.level == "grid"]
        workers = session.scalars(
            select(Staff)
            .where(Staff.role == "grid_worker", Staff.active.is_(True), Staff.region_id.in_(grid_ids))
            .order_by(Staff.name)
        )
        for staff in workers:
            region = tree.get(staff.region_id)
            add(f"staff:{staff.id}", f"{staff.name}（{region.name if region else ''}网格员）")
    for org in session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.name)):
        kind = {"property_company": "物业", "department": "部门"}.get(org.kind, org.kind)
        add(f"org:{org.id}", f"{org.name}（{kind}）")
    return options


def parse_assignee(value: str | None) -> tuple[int | None, int | None]:
    """("staff:12" → (12, None), "org:3" → (None, 3), empty → (None, None)); ValueError otherwise."""
    if not value:
        return None, None
    kind, _, number = str(value).partition(":")
    if kind not in ("staff", "org") or not number.isdigit():
        raise ValueError(f"bad assignee {value!r}")
    return (int(number), None) if kind == "staff" else (None, int(number))
