"""Which tickets: one `TicketFilter` for every list of tickets (the API, Open311, the drill-down
table, the desk queues, the export), turned into SQL conditions in one place. Every condition is
optional and they are ANDed; the viewer's scope (data.access.ticket_clause) is always one of them,
so a filter can narrow what a viewer sees but never widen it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from data.access import Viewer, ticket_clause
from data.models import OPEN_STATUSES, WORKING_STATUSES, Category, Region, Ticket
from data.read.directory import RegionInfo, categories, directory
from data.read.scope import effective, grids_under

# Groups of statuses a person filters by (the drill-down table's `status`).
STATUS_GROUPS = {
    "open": OPEN_STATUSES,
    "overdue": WORKING_STATUSES,  # and past the handling deadline
    "closed": ("closed", "rated"),
    "void": ("rejected", "duplicate"),
}


@dataclass(frozen=True)
class TicketFilter:
    ids: tuple[int, ...] | None = None
    tokens: tuple[str, ...] | None = None  # public tokens (Open311 service_request_id)
    statuses: tuple[str, ...] | None = None
    status_group: str | None = None  # a STATUS_GROUPS key; "overdue" compares with `now`
    open: bool | None = None
    escalated: bool | None = None  # escalation level above 0 (督办中)
    unplaced: bool | None = None  # in no grid (the unassigned queue)
    source: str | None = None
    category_codes: tuple[str, ...] | None = None  # sub-category (小类) codes
    main_category: str | None = None  # a 大类 code: all its sub-categories
    grid_codes: tuple[str, ...] | None = None
    region: RegionInfo | None = None  # tickets of this region (any level)
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    created_until: datetime | None = None  # inclusive (Open311's end_date)
    updated_after: datetime | None = None
    before_id: int | None = None  # cursor: ids below this one


def ticket_conditions(session: Session, viewer: Viewer, f: TicketFilter, now: datetime) -> list[ColumnElement]:
    """The WHERE conditions of `f` for this viewer (always within the viewer's scope)."""
    where: list[ColumnElement] = [ticket_clause(effective(session, viewer))]
    if f.ids is not None or f.tokens is not None:
        either = []
        if f.ids:
            either.append(Ticket.id.in_(f.ids))
        if f.tokens:
            either.append(Ticket.public_token.in_(f.tokens))
        where.append(or_(*either) if either else false())
    if f.statuses is not None:
        where.append(Ticket.status.in_(f.statuses))
    if f.status_group == "overdue":
        where += [Ticket.status.in_(WORKING_STATUSES), Ticket.handle_due_at < now]
    elif f.status_group is not None:
        where.append(Ticket.status.in_(STATUS_GROUPS[f.status_group]))
    if f.open is not None:
        in_open = Ticket.status.in_(OPEN_STATUSES)
        where.append(in_open if f.open else ~in_open)
    if f.escalated is not None:
        where.append(Ticket.escalation_level > 0 if f.escalated else Ticket.escalation_level == 0)
    if f.unplaced is not None:
        where.append(Ticket.grid_id.is_(None) if f.unplaced else Ticket.grid_id.is_not(None))
    if f.source is not None:
        where.append(Ticket.source == f.source)
    if f.category_codes is not None:
        where.append(Ticket.category_id.in_(select(Category.id).where(Category.code.in_(f.category_codes))))
    if f.main_category is not None:
        cats = categories(session)
        subs = [c.id for c in cats.values() if c.parent_id is not None and cats[c.parent_id].code == f.main_category]
        where.append(Ticket.category_id.in_(subs) if subs else false())
    if f.grid_codes is not None:
        where.append(Ticket.grid_id.in_(select(Region.id).where(Region.code.in_(f.grid_codes))))
    if f.region is not None:
        where.append(_region_condition(session, f.region))
    if f.created_after is not None:
        where.append(Ticket.created_at >= f.created_after)
    if f.created_before is not None:
        where.append(Ticket.created_at < f.created_before)
    if f.created_until is not None:
        where.append(Ticket.created_at <= f.created_until)
    if f.updated_after is not None:
        where.append(Ticket.updated_at >= f.updated_after)
    if f.before_id is not None:
        where.append(Ticket.id < f.before_id)
    return where


def _region_condition(session: Session, region: RegionInfo) -> ColumnElement:
    # An indexed column for each level; a street goes through its grids (tickets.street_id has no
    # index of its own).
    if region.level == "district":
        return true()
    if region.level == "grid":
        return Ticket.grid_id == region.id
    if region.level == "community":
        return Ticket.community_id == region.id
    grid_ids = [g.id for g in grids_under(directory(session), region.id)]
    return Ticket.grid_id.in_(grid_ids) if grid_ids else false()
