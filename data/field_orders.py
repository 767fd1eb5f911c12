"""A field worker's own open orders (the /my phone page): dispatched to them (or to their
organisation) and not yet handled, the nearest deadline first."""

from __future__ import annotations

from sqlalchemy import case, false, or_, select
from sqlalchemy.orm import Session

from data.access import Viewer, ticket_clause
from data.models import Ticket

FIELD_ROLES = ("grid_worker", "grid_head", "property", "department")
ORDER_STATUSES = ("dispatched", "in_progress")


def my_orders(session: Session, viewer: Viewer, *, limit: int = 200) -> list[Ticket]:
    """Open orders assigned to the viewer, by deadline: the response deadline while waiting to
    be accepted (接单), the handling deadline after."""
    if viewer.role not in FIELD_ROLES:
        return []
    mine = []
    if viewer.staff_id is not None:
        mine.append(Ticket.assignee_staff_id == viewer.staff_id)
    if viewer.organisation_id is not None and viewer.role in ("property", "department"):
        mine.append(Ticket.assignee_org_id == viewer.organisation_id)
    deadline = case(
        (Ticket.status == "dispatched", Ticket.response_due_at),
        else_=Ticket.handle_due_at,
    )
    stmt = (
        select(Ticket)
        .where(ticket_clause(viewer), or_(*mine) if mine else false(), Ticket.status.in_(ORDER_STATUSES))
        .order_by(deadline.is_(None), deadline, Ticket.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def deadline_of(ticket: Ticket):
    return ticket.response_due_at if ticket.status == "dispatched" else ticket.handle_due_at
