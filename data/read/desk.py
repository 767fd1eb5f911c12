"""The dispatcher's desk: queues of tickets waiting for someone, and whom an order can go to.
A queue is a TicketFilter of the read layer (data.read.ticket_records: scoped by the viewer,
bounded, indexed conditions on status and due dates); it shows its oldest-waiting tickets first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Viewer
from data.clock import utcnow
from data.models import GridTeam, Organisation, Staff
from data.read.directory import directory
from data.read.ticket_filter import TicketFilter
from data.read.ticket_records import count_tickets, ticket_records

QUEUES = ("new", "unassigned", "overdue", "escalated", "unlocated")
QUEUE_LIMIT = 500
# Each queue as the read layer's filter, and the order it is worked in (oldest waiting first).
QUEUE_FILTERS = {
    "new": (TicketFilter(statuses=("reported",)), "oldest"),  # not yet accepted or rejected (待受理)
    "unassigned": (TicketFilter(statuses=("accepted",)), "oldest"),  # accepted (立案), not dispatched
    "overdue": (TicketFilter(status_group="overdue"), "due"),
    "escalated": (TicketFilter(open=True, escalated=True), "oldest"),
    # In no grid: the community or the desk must place it (属地兜底).
    "unlocated": (TicketFilter(open=True, unplaced=True), "oldest"),
}


def queue_counts(session: Session, viewer: Viewer, *, now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    return {q: count_tickets(session, viewer, QUEUE_FILTERS[q][0], now=now) for q in QUEUES}


def queue_rows(
    session: Session, viewer: Viewer, queue: str, *, now: datetime | None = None, limit: int = QUEUE_LIMIT
) -> list[dict]:
    if queue not in QUEUE_FILTERS:
        raise ValueError(f"unknown queue {queue!r}")
    wanted, order = QUEUE_FILTERS[queue]
    records = ticket_records(session, viewer, wanted, order=order, limit=limit, now=now)
    return [
        {
            "id": r.id,
            "created_at": r.created_at,
            "category": r.category.name,
            "status": r.status,
            "grid": r.place.name if r.place else "",
            "source": r.source,
            "address": r.reporter.address or "",
            "handle_due_at": r.handle_due_at,
            "escalation_level": r.escalation_level,
            "priority": r.priority,
        }
        for r in records
    ]


def assignee_options(session: Session, viewer: Viewer, grid_id: int | None) -> list[dict]:
    """Whom an order can be dispatched to: the grid's own worker and property company first, then
    the other grid workers of its community, every property company and department.
    Each is {"value": "staff:<id>" | "org:<id>", "name", "kind": grid_worker | property_company |
    department | ..., "area": the worker's grid name}; the dashboard words the label
    (dashboard.labels "desk.assignee.<kind>")."""
    viewer.require("ticket_actions")
    tree = directory(session)
    options: list[dict] = []
    seen: set[str] = set()

    def add(value: str, name: str, kind: str, area: str = ""):
        if value not in seen:
            seen.add(value)
            options.append({"value": value, "name": name, "kind": kind, "area": area})

    community_id = None
    if grid_id is not None:
        team = session.get(GridTeam, grid_id)
        grid = tree.get(grid_id)
        community_id = grid.parent_id if grid else None
        if team is not None and team.grid_worker_id:
            staff = session.get(Staff, team.grid_worker_id)
            if staff is not None and staff.active:
                add(f"staff:{staff.id}", staff.name, "grid_worker", grid.name if grid else "")
        if team is not None and team.property_company_id:
            org = session.get(Organisation, team.property_company_id)
            if org is not None:
                add(f"org:{org.id}", org.name, org.kind)
    if community_id is not None:
        grid_ids = [g.id for g in tree.by_id.values() if g.parent_id == community_id and g.level == "grid"]
        workers = session.scalars(
            select(Staff)
            .where(Staff.role == "grid_worker", Staff.active.is_(True), Staff.region_id.in_(grid_ids))
            .order_by(Staff.name)
        )
        for staff in workers:
            region = tree.get(staff.region_id)
            add(f"staff:{staff.id}", staff.name, "grid_worker", region.name if region else "")
    for org in session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.name)):
        add(f"org:{org.id}", org.name, org.kind)
    return options


def parse_assignee(value: str | None) -> tuple[int | None, int | None]:
    """("staff:12" → (12, None), "org:3" → (None, 3), empty → (None, None)); ValueError otherwise."""
    if not value:
        return None, None
    kind, _, number = str(value).partition(":")
    if kind not in ("staff", "org") or not number.isdigit():
        raise ValueError(f"bad assignee {value!r}")
    return (int(number), None) if kind == "staff" else (None, int(number))
