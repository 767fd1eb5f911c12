"""A work queue as a table (dash-ag-grid): one row selected at a time by a click, sortable and
filterable columns, fifteen rows a page, words from the label catalogue. The desk's ticket queues
and the alerts queue are both this table with their own columns."""

from __future__ import annotations

import dash_ag_grid as dag

from dashboard.labels import ag_grid_text


def queue_grid(table_id: str, columns: list[dict], rows: list[dict]) -> dag.AgGrid:
    return dag.AgGrid(
        id=table_id,
        columnDefs=columns,
        rowData=rows,
        defaultColDef={"sortable": True, "filter": True, "resizable": True},
        dashGridOptions={
            "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
            "pagination": True,
            "paginationPageSize": 15,
            "paginationPageSizeSelector": False,
            "domLayout": "autoHeight",
            "localeText": ag_grid_text(),
        },
        className="gcc-grid",
        style={"width": "100%"},
    )
