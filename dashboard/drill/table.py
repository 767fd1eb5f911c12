"""The ticket table (dash-ag-grid): sortable, filterable per column, paginated. Rows come from
data.read.tickets.ticket_table; the CSV download is made on the server (dashboard.drill.export),
never by the grid in the browser.

No column uses a JavaScript expression string (cellClassRules, valueGetter...): AG Grid compiles
those with `new Function`, which the content security policy forbids."""

from __future__ import annotations

import dash_ag_grid as dag

from dashboard.common.fmt import local
from dashboard.labels import ag_grid_text, source_label, status_label, t


def column_defs() -> list[dict]:
    return [
        {"field": "link", "headerName": t("table.id"), "cellRenderer": "markdown", "width": 110},
        {"field": "created", "headerName": t("table.created"), "width": 150, "sort": "desc", "cellDataType": "text"},
        {"field": "category", "headerName": t("table.category"), "width": 120},
        {"field": "status_label", "headerName": t("table.status"), "width": 100},
        {"field": "grid", "headerName": t("table.grid"), "width": 170},
        {"field": "source", "headerName": t("table.source"), "width": 120},
        {"field": "address", "headerName": t("table.address"), "flex": 1, "minWidth": 160},
        {"field": "assignee", "headerName": t("table.assignee"), "width": 160},
        {"field": "due", "headerName": t("table.due"), "width": 150, "cellDataType": "text"},
        {"field": "overdue_label", "headerName": t("table.overdue"), "width": 80},
        {"field": "escalation", "headerName": t("table.escalation"), "width": 100},
    ]


def row_data(rows: list[dict], tz: str) -> list[dict]:
    return [
        {
            "id": r["id"],
            "link": f"[#{r['id']}](/ticket/{r['id']})",
            "created": local(r["created_at"], tz),
            "category": r["category"],
            "status_label": status_label(r["status"]),
            "overdue": bool(r["overdue"]),
            "grid": r["grid"],
            "source": source_label(r["source"]),
            "address": r["address"],
            "assignee": r["assignee"],
            "due": local(r["handle_due_at"], tz),
            "overdue_label": t("table.yes") if r["overdue"] else t("table.no"),
            "escalation": t(f"escalation.{r['escalation_level']}") if r["escalation_level"] else "",
        }
        for r in rows
    ]


def table(grid_id: str, rows: list[dict], tz: str, *, page_size: int = 20) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        columnDefs=column_defs(),
        rowData=row_data(rows, tz),
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "floatingFilter": True},
        dashGridOptions={
            "pagination": True,
            "paginationPageSize": page_size,
            "paginationPageSizeSelector": [20, 50, 100],
            "animateRows": False,
            "domLayout": "autoHeight",
            "localeText": ag_grid_text(),
        },
        className="gcc-grid",
        style={"width": "100%"},
    )
