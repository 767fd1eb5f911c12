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

from sqlalchemy.orm import Session

from data.access import Viewer
from data.clock import utcnow, zone
from data.read.ticket_filter import TicketFilter
from data.read.ticket_records import iter_ticket_records

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
    after `since`, in ticket id order, mapped from the read layer's records (streamed). Raises
    AccessDenied without the export permission."""
    now = now or utcnow()
    local = zone(tz)

    def when(value):
        return value.astimezone(local).isoformat(timespec="seconds") if value is not None else ""

    wanted = TicketFilter(created_after=since)
    for r in iter_ticket_records(session, viewer, wanted, order="id", now=now, permission="export"):
        yield {
            "external_id": r.external_id or "",
            "source": r.source,
            "ticket_id": r.id,
            "grid_code": r.grid.code if r.grid else "",
            "community_code": r.community.code if r.community else "",
            "street_code": r.street.code if r.street else "",
            "status": r.status,
            "category_code": r.category.code,
            "category": r.category.name,
            "created_at": when(r.created_at),
            "closed_at": when(r.closed_at),
            "due_at": when(r.handle_due_at),
            "overdue": "true" if is_overdue(r.status, r.handle_due_at, r.closed_at, r.overdue, now) else "false",
            "lon": "" if r.lon is None else repr(float(r.lon)),
            "lat": "" if r.lat is None else repr(float(r.lat)),
            "location_match": r.location_match,
            "system": r.system or "",
            "source_status": r.source_status or "",
            "data_quality": " ".join(r.data_quality),
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
