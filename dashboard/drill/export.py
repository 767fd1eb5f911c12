"""The drill-down table as a CSV download, made on the server (issue #9): only for a role with
the "export" permission, read through data.read.tickets.export_table (the viewer's scope, personal
data presented for the role, as on the page), and written to the audit log with who, which region
and filters, and how many rows.

The file is UTF-8 with a byte-order mark so Excel on Chinese Windows opens it correctly, with the
table's own columns and headers (data.importers.export writes the machine-readable export)."""

from __future__ import annotations

import csv
import io

from dashboard.drill.table import column_defs, row_data
from data import audit
from data.access import Viewer
from data.read.directory import RegionInfo
from data.read.tickets import TicketFilters, TicketTable

COLUMNS = (
    "id",
    "created",
    "category",
    "status_label",
    "grid",
    "source",
    "address",
    "assignee",
    "due",
    "overdue_label",
    "escalation",
)


def csv_text(rows: list[dict], tz: str) -> str:
    """The table's rows (data.read.tickets.table_row) as CSV text with a header row."""
    headers = {c["field"]: c["headerName"] for c in column_defs()}
    headers["id"] = headers.pop("link")
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([headers[c] for c in COLUMNS])
    for row in row_data(rows, tz):
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    return out.getvalue()


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet: written as text (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def file_name(region: RegionInfo, filters: TicketFilters) -> str:
    parts = [region.code, filters.period, filters.category or "", filters.status or ""]
    return "tickets-" + "-".join(p for p in parts if p) + ".csv"


def record(session, viewer: Viewer, region: RegionInfo, filters: TicketFilters, result: TicketTable) -> None:
    """The audit row of one download (in the caller's transaction)."""
    audit.record(
        session,
        "export",
        viewer,
        target_type="region",
        target_id=region.code,
        detail={
            "what": "drill_table",
            "level": region.level,
            "filters": filters.query(),
            "rows": len(result.rows),
            "total": result.total,
        },
    )
