"""Issue #9 item 6: every unmask attempt is audited, refusals too, each with why it was refused:
no login, a role without "unmask" (refused by the guard before the handler runs), a ticket
outside the area, an unknown field, a reason too short, a malformed request."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dashboard.server import create_app
from data import users
from data.audit import AuditLog
from tests.test_audit import new_ticket

PASSWORD = "refusal-pass-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(db, district, settings):
    with db.session() as s:
        users.create_demo_accounts(s, PASSWORD)
    return create_app(settings, db).server.test_client()


def login(client, username):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303


def unmask_rows(db):
    with db.reader() as s:
        rows = list(s.scalars(select(AuditLog).where(AuditLog.action == "unmask").order_by(AuditLog.id)))
        s.expunge_all()  # plain objects with their loaded values, read after the session ends
        return rows


def test_a_role_without_unmask_is_refused_and_audited(db, district, client):
    with db.session() as s:
        ticket = new_ticket(s, district).id
    login(client, "worker")  # a grid worker: no "unmask"
    answer = client.post("/api/unmask", json={"ticket_id": ticket, "field": "phone", "reason": "回访居民核实"})
    assert answer.status_code == 403
    [row] = unmask_rows(db)
    assert (row.ok, row.username, row.role, row.target_id) == (False, "worker", "grid_worker", str(ticket))
    assert row.detail == {"refused": "role", "field": "phone", "reason": "回访居民核实"}
    assert row.client == "127.0.0.1"


def test_anonymous_attempt_is_audited(db, district, client):
    answer = client.post("/api/unmask", json={"ticket_id": 5, "field": "name", "reason": "想看看"})
    assert answer.status_code == 401
    [row] = unmask_rows(db)
    assert (row.ok, row.role, row.detail["refused"], row.target_id) == (False, "anonymous", "login", "5")


@pytest.mark.parametrize(
    ("body", "status", "refused", "field", "reason"),
    [
        ({"field": "phone", "reason": "看"}, 400, "reason", "phone", "看"),
        ({"field": "password", "reason": "回访居民核实"}, 400, "field", "password", "回访居民核实"),
        ({"field": "phone", "reason": 12}, 400, "bad_request", "phone", "int"),
        ({"field": "phone", "reason": "x" * 500}, 400, "reason", "phone", "x" * 200),
    ],
)
def test_a_bad_field_or_reason_is_refused_and_audited(db, district, client, body, status, refused, field, reason):
    with db.session() as s:
        ticket = new_ticket(s, district).id
    login(client, "admin")
    assert client.post("/api/unmask", json={"ticket_id": ticket, **body}).status_code == status
    [row] = unmask_rows(db)
    assert (row.ok, row.username, row.target_id) == (False, "admin", str(ticket))
    assert row.detail == {"refused": refused, "field": field, "reason": reason}


def test_a_malformed_body_is_audited_without_a_target(db, district, client):
    login(client, "community")
    assert client.post("/api/unmask", data="not json", content_type="text/plain").status_code == 400
    [row] = unmask_rows(db)
    assert (row.ok, row.target_id, row.detail["refused"]) == (False, None, "bad_request")
