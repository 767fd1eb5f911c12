"""What the administration pages read (issue #9): the accounts (/users, "users" permission) and
the audit log (/audit, "audit" permission), as plain rows. AccessDenied without the permission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import audit, logins
from data.access import Viewer
from data.clock import utcnow
from data.models import Organisation, Region, Staff
from data.users import User

AUDIT_PAGE_LIMIT = 500  # rows the /audit page shows; narrow the filters for older ones


@dataclass(frozen=True)
class AccountRow:
    username: str
    display_name: str
    role: str
    scope_kind: str  # "district" (the whole district), "area" (a region), "organisation", "assigned" (own orders)
    scope_name: str  # the region's or organisation's name, or the staff member's for "assigned"; "" for district
    active: bool
    locked: bool
    demo_password: bool  # still the documented demo password (production refuses to start)
    last_login_at: datetime | None
    created_at: datetime


def accounts(session: Session, viewer: Viewer, *, now: datetime | None = None) -> list[AccountRow]:
    """Every login account, by role then username (no password hash, no counters)."""
    viewer.require("users")
    now = now or utcnow()
    regions = {r.id: r.name for r in session.execute(select(Region.id, Region.name))}
    organisations = {o.id: o.name for o in session.execute(select(Organisation.id, Organisation.name))}
    staff = {p.id: p.name for p in session.execute(select(Staff.id, Staff.name))}
    locked = logins.locked_accounts(session, now=now)  # names locked from at least one address
    out = []
    for user in session.scalars(select(User).order_by(User.role, User.username)):
        if user.region_id is not None:
            scope = ("area", regions.get(user.region_id, str(user.region_id)))
        elif user.organisation_id is not None:
            scope = ("organisation", organisations.get(user.organisation_id, str(user.organisation_id)))
        elif user.role in ("admin", "dispatcher") or user.staff_id is None:
            scope = ("district", "")  # no region: the whole district (data.access)
        else:
            scope = ("assigned", staff.get(user.staff_id, str(user.staff_id)))  # their assigned orders only
        out.append(
            AccountRow(
                username=user.username,
                display_name=user.display_name,
                role=user.role,
                scope_kind=scope[0],
                scope_name=scope[1],
                active=bool(user.active),
                locked=user.username in locked,
                demo_password=bool(getattr(user, "demo_password", False)),
                last_login_at=user.last_login_at,
                created_at=user.created_at,
            )
        )
    return out


def audit_log(session: Session, viewer: Viewer, query: audit.AuditQuery) -> list[dict]:
    """Audit rows matching the query, newest first, as data.audit.as_dict rows."""
    viewer.require("audit")
    wanted = audit.AuditQuery(
        since=query.since,
        until=query.until,
        action=query.action,
        username=query.username,
        limit=min(query.limit, AUDIT_PAGE_LIMIT),
        newest_first=True,
    )
    return [audit.as_dict(row) for row in audit.entries(session, wanted)]
