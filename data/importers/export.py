"""Tickets out as CSV: one row per ticket the viewer may see, streamed.

The file is UTF-8 with a byte-order mark so Excel on Chinese Windows opens Chinese text correctly
(without it Excel guesses GBK and shows mojibake); our own importer and every CSV library read it.
Times are local ISO 8601 with their offset (2026-11-23T14:05:12+08:00); lon/lat are WGS84.

`overdue` is true when the handling deadline passed before the ticket was closed: closed after
due_at, or still open (not rejected / duplicate) and past it now, or flagged by the deadline sweep.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from data.access import Viewer, ticket_clause
from data.clock import utcnow, zone
from data.models import Category, Region, Ticket

COLUMNS = (
    "external_id",
    "source",
    "ticket_id",
    "grid_code",
    "community_code",
    "street_code",
    "status",
    "category_code",
    "category",
    "created_at",
    "closed_at",
    "due_at",
    "overdue",
    "lon",
    "lat",
    "location_match",
    "system",
    "source_status",
    "data_quality",
)
NOT_WORKED = ("rejected", "duplicate")
CLOSED = ("closed", "rated")


def is_overdue(status: str, due_at, closed_at, flagged: bool, now: datetime) -> bool:
    if flagged:
        return True
    if due_at is None or status in NOT_WORKED:
        return False
    if closed_at is None and status in CLOSED:
        return False  # closed without a close time (an imported record): unknown, not overdue
    return closed_at > due_at if closed_at is not None else due_at < now


def ticket_rows(
    session: Session,
    viewer: Viewer,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> Iterator[dict]:
    """Export rows (dicts keyed by COLUMNS) for the tickets in the viewer's scope, created at or
    after `since`, in ticket id order. Raises AccessDenied without the export permission."""
    viewer.require("export")
    now = now or utcnow()
    local = zone(tz)
    grid, community, street = aliased(Region), aliased(Region), aliased(Region)
    stmt = (
        select(
            Ticket.id,
            Ticket.external_id,
            Ticket.source,
            Ticket.status,
            Ticket.created_at,
            Ticket.closed_at,
            Ticket.handle_due_at,
            Ticket.overdue,
            Ticket.lon,
            Ticket.lat,
            Ticket.location_match,
            Ticket.system,
            Ticket.source_status,
            Ticket.data_quality,
            grid.code,
            community.code,
            street.code,
            Category.code,
            Category.name,
        )
        .join(Category, Category.id == Ticket.category_id)
        .outerjoin(grid, grid.id == Ticket.grid_id)
        .outerjoin(community, community.id == Ticket.community_id)
        .outerjoin(street, street.id == Ticket.street_id)
        .where(ticket_clause(viewer))
        .order_by(Ticket.id)
        .execution_options(yield_per=5000)
    )
    if since is not None:
        stmt = stmt.where(Ticket.created_at >= since)

    def when(value):
        return value.astimezone(local).isoformat(timespec="seconds") if value is not None else ""

    for r in session.execute(stmt):
        yield {
            "external_id": r[1] or "",
            "source": r[2],
            "ticket_id": r[0],
            "grid_code": r[14] or "",
            "community_code": r[15] or "",
            "street_code": r[16] or "",
            "status": r[3],
            "category_code": r[17],
            "category": r[18],
            "created_at": when(r[4]),
            "closed_at": when(r[5]),
            "due_at": when(r[6]),
            "overdue": "true" if is_overdue(r[3], r[6], r[5], r[7], now) else "false",
            "lon": "" if r[8] is None else repr(float(r[8])),
            "lat": "" if r[9] is None else repr(float(r[9])),
            "location_match": r[10],
            "system": r[11] or "",
            "source_status": r[12] or "",
            "data_quality": " ".join(r[13] or []),
        }


def write_csv(rows, out: TextIO) -> int:
    """Write rows as CSV with a BOM to a text stream (open files with newline=""); returns the count."""
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
