"""The drill-down table's filters (in the URL) and rows, and deadlines as a page shows them. Rows
are mapped from data.read.ticket_records, the one ticket projection (scoped by the viewer, personal
data presented for the viewer's role on the server: a page never receives more)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from data.access import Viewer
from data.clock import utcnow
from data.read.directory import RegionInfo, categories
from data.read.ticket_filter import STATUS_GROUPS, TicketFilter
from data.read.ticket_records import TicketRecord, count_tickets, ticket_records

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
ROW_LIMIT = 2000
EXPORT_LIMIT = 50_000  # rows in one CSV download of the drill-down table


@dataclass(frozen=True)
class TicketFilters:
    """The drill-down table's filters, as they stand in its URL."""

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

    def for_region(self, region: RegionInfo, now: datetime) -> TicketFilter:
        """These filters as the read layer's TicketFilter, for one region."""
        return TicketFilter(
            region=region,
            created_after=now - timedelta(days=PERIODS[self.period]),
            main_category=self.category,
            status_group=self.status,
        )


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
    now = now or utcnow()
    wanted = filters.for_region(region, now)
    total = count_tickets(session, viewer, wanted, now=now)
    records = ticket_records(session, viewer, wanted, limit=limit, now=now)
    return TicketTable(total=total, rows=[table_row(r, now) for r in records])


def export_table(
    session: Session,
    viewer: Viewer,
    region: RegionInfo,
    filters: TicketFilters,
    *,
    now: datetime | None = None,
    limit: int = EXPORT_LIMIT,
) -> TicketTable:
    """The drill-down table's rows for a CSV download: the same filters and scope as
    `ticket_table`, more rows, and the "export" permission (AccessDenied without it)."""
    viewer.require("export")
    now = now or utcnow()
    wanted = filters.for_region(region, now)
    total = count_tickets(session, viewer, wanted, now=now)
    records = ticket_records(session, viewer, wanted, limit=limit, now=now, permission="export")
    return TicketTable(total=total, rows=[table_row(r, now) for r in records])


def table_row(r: TicketRecord, now: datetime) -> dict:
    place = r.place
    return {
        "id": r.id,
        "created_at": r.created_at,
        "category": r.category.name,
        "main_category": r.group.name if r.group else r.category.name,
        "status": r.status,
        "grid": place.name if place else "",
        "grid_code": place.code if place else "",
        "source": r.source,
        "address": r.reporter.address or "",
        "assignee": r.assignee or "",
        "handle_due_at": r.handle_due_at,
        "overdue": r.overdue_at(now),
        "escalation_level": r.escalation_level,
        "lon": r.lon,
        "lat": r.lat,
    }


def main_categories(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every 大类, for filter choices."""
    return sorted((c.code, c.name) for c in categories(session).values() if c.parent_id is None)


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
