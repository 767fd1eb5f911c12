"""Who is asking, and what they may see and do.

Every page, callback, API route and job reads tickets and regions through the clauses built here,
so a scope is enforced inside the database query, never by filtering rows after loading them.
A `Viewer` is resolved once per request by the web layer (dashboard.auth) or built explicitly by
the CLI and the scheduler (`Viewer.system()`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from data.errors import DomainError
from data.models import Region, Ticket

# Roles. Staff roles (data.models.STAFF_ROLES) act inside the workflow; the others are how the web
# layer sees a request that is not staff: the wall screen (kiosk), a resident holding a ticket's
# public token, an anonymous visitor, the public's read-only view of service requests (Open311
# GET without a key, when GCC_OPEN311_PUBLIC_READ is on: every ticket, presented by data.privacy's
# "public" policy with no reporter identity), and the scheduler/CLI (system).
ROLES = (
    "admin",
    "dispatcher",
    "supervisor",
    "grid_worker",
    "grid_head",
    "property",
    "department",
    "kiosk",
    "resident",
    "anonymous",
    "public",
    "system",
)

# What each role may do, by permission name. One table, read by the web layer and the tests.
# Pages: "desk" is the dispatcher's ticket desk, "drilldown" the street/community/grid pages
# (the kiosk has "regions" for the map's polygons but no drill-down); dashboard.auth.permissions
# maps every route, page and callback to one of these names.
_EVERYTHING = frozenset(
    {
        "aggregates",
        "tickets",
        "ticket_actions",
        "regions",
        "profile",
        "unmask",
        "users",
        "audit",
        "export",
        "desk",
        "drilldown",
    }
)
_STAFF = frozenset({"aggregates", "tickets", "ticket_actions", "regions", "profile", "drilldown"})
_FIELD = frozenset({"tickets", "ticket_actions"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": _EVERYTHING,
    "dispatcher": _STAFF | {"export", "desk"},
    "supervisor": _STAFF | {"export", "desk", "unmask"},
    "grid_worker": _STAFF,
    "grid_head": _STAFF,
    "property": _FIELD,
    "department": _FIELD,
    "kiosk": frozenset({"aggregates", "regions"}),
    "resident": frozenset({"own_ticket"}),
    "anonymous": frozenset(),
    "public": frozenset({"public_tickets"}),
    "system": _EVERYTHING,  # the scheduler and the CLI
}


class AccessDenied(DomainError):
    """The viewer may not do this (403; the web guard answers 401 to someone not signed in)."""

    kind = "forbidden"

    def __init__(self, message: str, *, code: str = "forbidden"):
        super().__init__(code, message)


class NotVisible(AccessDenied):
    """No such thing, or the viewer may not see it: answered as "not found" (404) either way, so an
    outsider cannot learn which ids or codes exist."""

    kind = "not_found"

    def __init__(self, message: str):
        super().__init__(message, code="not_found")


@dataclass(frozen=True)
class Viewer:
    role: str
    staff_id: int | None = None
    organisation_id: int | None = None
    region_id: int | None = None  # the area the viewer covers; None = the whole district
    name: str = ""
    ticket_token: str | None = None  # a resident's per-ticket public token
    user_id: int | None = None

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")

    @classmethod
    def system(cls, name: str | None = None) -> Viewer:  # nameless: the pages word the role
        return cls(role="system", name=name)

    @classmethod
    def anonymous(cls) -> Viewer:
        return cls(role="anonymous")

    @classmethod
    def public(cls) -> Viewer:
        return cls(role="public")

    @classmethod
    def kiosk(cls) -> Viewer:
        return cls(role="kiosk")

    @property
    def is_authenticated(self) -> bool:
        return self.role != "anonymous"

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise AccessDenied(f"role {self.role} may not use {permission}")


def ticket_clause(viewer: Viewer) -> ColumnElement[bool]:
    """A WHERE clause limiting `tickets` to what the viewer may see."""
    role = viewer.role
    if role in ("admin", "dispatcher", "system"):
        return _region_clause(viewer.region_id) if viewer.region_id else true()
    if role in ("supervisor", "grid_head"):
        return _region_clause(viewer.region_id) if viewer.region_id else false()
    if role == "grid_worker":
        clauses = []
        if viewer.region_id:
            clauses.append(_region_clause(viewer.region_id))
        if viewer.staff_id:
            clauses.append(Ticket.assignee_staff_id == viewer.staff_id)
        return or_(*clauses) if clauses else false()
    if role in ("property", "department"):
        if viewer.organisation_id:
            return Ticket.assignee_org_id == viewer.organisation_id
        if viewer.staff_id:
            return Ticket.assignee_staff_id == viewer.staff_id
        return false()
    if role == "resident" and viewer.ticket_token:
        return Ticket.public_token == viewer.ticket_token
    if role == "public":
        return true()  # every ticket, but only ever presented by data.privacy's "public" policy
    return false()


def _region_clause(region_id: int) -> ColumnElement[bool]:
    # Tickets carry their grid, community and street, so one indexed equality covers any level
    # below the district; the district itself (one per deployment) covers every ticket, those in
    # the unassigned queue included.
    is_district = exists().where(Region.id == region_id, Region.level == "district")
    return or_(
        Ticket.grid_id == region_id, Ticket.community_id == region_id, Ticket.street_id == region_id, is_district
    )


def region_clause(viewer: Viewer) -> ColumnElement[bool]:
    """A WHERE clause limiting `regions` to the viewer's area: its own region, everything below it
    and the chain above it (so a breadcrumb can be drawn)."""
    if not viewer.can("regions"):
        return false()
    if viewer.region_id is None:
        return true() if viewer.role in ("admin", "dispatcher", "system", "kiosk") else false()
    return Region.id.in_(_scoped_region_ids(viewer.region_id))


def _scoped_region_ids(region_id: int):
    """Subquery of ids: the region, its descendants (up to three levels) and its ancestors."""
    r1 = Region.__table__.alias("r1")
    r2 = Region.__table__.alias("r2")
    r3 = Region.__table__.alias("r3")
    down1 = select(r1.c.id).where(r1.c.parent_id == region_id)
    down2 = select(r2.c.id).where(r2.c.parent_id.in_(down1))
    down3 = select(r3.c.id).where(r3.c.parent_id.in_(down2))
    up1 = select(Region.parent_id).where(Region.id == region_id).scalar_subquery()
    up2 = select(Region.parent_id).where(Region.id == up1).scalar_subquery()
    up3 = select(Region.parent_id).where(Region.id == up2).scalar_subquery()
    return (
        select(Region.id)
        .where(
            or_(
                Region.id == region_id,
                Region.id.in_(down1),
                Region.id.in_(down2),
                Region.id.in_(down3),
                Region.id == up1,
                Region.id == up2,
                Region.id == up3,
            )
        )
        .scalar_subquery()
    )


def grid_ids_in_scope(session: Session, viewer: Viewer) -> list[int] | None:
    """Grid ids the viewer covers, or None for the whole district (no filter needed)."""
    if viewer.region_id is None and viewer.role in ("admin", "dispatcher", "system", "kiosk"):
        return None
    if viewer.region_id is None:
        return []
    stmt = select(Region.id).where(Region.level == "grid", region_clause(viewer))
    region = session.get(Region, viewer.region_id)
    if region is None:
        return []
    return list(session.scalars(stmt))


def load_ticket(session: Session, viewer: Viewer, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """One ticket the viewer may see, or AccessDenied (also when it does not exist: an outsider
    must not learn which ids exist)."""
    stmt = select(Ticket).where(Ticket.id == ticket_id, ticket_clause(viewer))
    if for_update:
        stmt = stmt.with_for_update(of=Ticket)
    ticket = session.scalars(stmt).first()
    if ticket is None:
        raise NotVisible(f"ticket {ticket_id} not found or not visible")
    return ticket
