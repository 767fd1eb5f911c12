"""Issue #9 item 6: the drill-down table's CSV download is made on the server through the read
layer, only for roles with the "export" permission (no button otherwise, and the callback refuses
a forged request), and every download is audited with who, the region, the filters and the rows."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from dashboard.server import create_app
from data import users
from data.audit import AuditLog
from data.read.directory import directory
from tests.helpers import new_ticket
from tests.page_render import find_id, render_page

PASSWORD = "export-pass-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
OUTPUT = "..drill-download.data...drill-exported.children.."


@pytest.fixture
def app(db, district, settings):
    with db.session() as s:
        users.create_demo_accounts(s, PASSWORD)
    return create_app(settings, db)


def client_as(app, username):
    client = app.server.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303
    return client


def download(client, code, level, *, period="30d", status=None, clicks=1):
    body = {
        "output": OUTPUT,
        "outputs": [{"id": "drill-download", "property": "data"}, {"id": "drill-exported", "property": "children"}],
        "inputs": [{"id": "drill-csv", "property": "n_clicks", "value": clicks}],
        "state": [
            {"id": "drill-period", "property": "value", "value": period},
            {"id": "drill-category", "property": "value", "value": None},
            {"id": "drill-status", "property": "value", "value": status},
            {"id": "drill-region", "property": "data", "value": {"level": level, "code": code}},
        ],
        "changedPropIds": ["drill-csv.n_clicks"],
    }
    return client.post("/_dash-update-component", json=body)


def export_rows(db):
    with db.reader() as s:
        return [
            (r.username, r.target_id, r.detail) for r in s.scalars(select(AuditLog).where(AuditLog.action == "export"))
        ]


def worker_grid(db):
    with db.reader() as s:
        grid_id = users.find_user(s, "worker").region_id
        return directory(s).get(grid_id)


def test_a_role_with_export_downloads_the_table_from_the_server_and_it_is_audited(db, district, app):
    grid = worker_grid(db)
    with db.session() as s:
        ids = [new_ticket(s, grid.id, reporter_phone="13812345678", address="幸福小区3栋").id for _ in range(3)]
    client = client_as(app, "dispatcher")
    page = render_page(client, f"/grid/{grid.code}")
    assert find_id(page, "drill-csv") is not None and find_id(page, "drill-download") is not None
    answer = download(client, grid.code, "grid", period="365d")
    assert answer.status_code == 200
    data = answer.get_json()["response"]["drill-download"]["data"]
    assert data["filename"] == f"tickets-{grid.code}-365d.csv"
    assert data["content"].startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(data["content"].lstrip("\ufeff"))))
    assert rows[0][0] == "工单号"  # the table's own headers
    assert sorted(int(r[0]) for r in rows[1:]) == sorted(ids)
    assert "13812345678" not in data["content"]  # presented as on the page: no raw phone
    assert export_rows(db) == [
        (
            "dispatcher",
            grid.code,
            {"what": "drill_table", "level": "grid", "filters": {"period": "365d"}, "rows": 3, "total": 3},
        )
    ]


def test_a_role_without_export_gets_no_button_and_the_callback_refuses(db, district, app):
    grid = worker_grid(db)
    with db.session() as s:
        new_ticket(s, grid.id)
    client = client_as(app, "worker")  # a grid worker: drill-down and tickets, no "export"
    page = render_page(client, f"/grid/{grid.code}")
    assert find_id(page, "drill-tickets") is not None  # the table is there...
    assert find_id(page, "drill-csv") is None and find_id(page, "drill-download") is None  # ...no download
    answer = download(client, grid.code, "grid")
    assert answer.status_code == 403
    assert "drill-download" not in answer.get_data(as_text=True)
    assert export_rows(db) == []


def test_a_forged_region_outside_the_area_exports_nothing(db, district, app):
    grid = worker_grid(db)
    client = client_as(app, "community")  # a community supervisor: has "export"
    with db.reader() as s:
        community_id = users.find_user(s, "community").region_id
        tree = directory(s)
        foreign = next(g for g in tree.grids() if not tree.within(g.id, community_id))
    answer = download(client, foreign.code, "grid")
    assert answer.status_code == 200 and "drill-download" not in answer.get_json()["response"]
    assert export_rows(db) == []
    assert grid.code != foreign.code
