"""Masking by role, done on the server, and unmasking as an audited action with a reason."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dashboard.server import create_app
from data import privacy, users, workflow
from data.access import AccessDenied, Viewer
from data.audit import AuditLog
from data.models import Region, Ticket
from data.placement import Placement
from tests.test_audit import new_ticket

PASSWORD = "mask-pass-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RAW = dict(name="张三丰", phone="13812345678", address="长征社区幸福小区3栋2单元501", id_number="360731199001011234")


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("dispatcher", ("张*丰", "138****5678", RAW["address"], "3***************34")),
        ("admin", ("张*丰", "138****5678", RAW["address"], "3***************34")),
        ("supervisor", ("张*丰", "138****5678", RAW["address"], "3***************34")),
        ("grid_worker", ("张*丰", "138****5678", RAW["address"], "3***************34")),
        ("property", ("张*丰", "138****5678", RAW["address"], "3***************34")),
        ("resident", ("张*丰", "138****5678", RAW["address"], None)),
        ("kiosk", (None, None, "长征社区幸福小区***", None)),
        ("anonymous", (None, None, None, None)),
        ("system", (RAW["name"], RAW["phone"], RAW["address"], RAW["id_number"])),
    ],
)
def test_each_role_sees_personal_data_masked_as_the_table_says(role, expected):
    person = privacy.present_person(Viewer(role=role), **RAW)
    assert (person.name, person.phone, person.address, person.id_number) == expected


def test_two_character_names_and_estate_names():
    person = privacy.present_person(Viewer.kiosk(), name="李四", address="城南花园12栋", estate="城南花园")
    assert (person.name, person.address) == (None, "城南花园***")
    assert privacy.present_person(Viewer(role="supervisor"), name="李四").name == "李*"


def test_key_groups_below_five_are_suppressed_for_the_big_screen_only():
    counts = {"population": 1200, "low_income": 3, "disabled": 5, "elderly_alone": 0}
    assert privacy.present_key_groups(Viewer.kiosk(), counts) == {
        "population": 1200,
        "low_income": "<5",
        "disabled": 5,
        "elderly_alone": 0,
    }
    assert privacy.present_key_groups(Viewer(role="grid_worker", region_id=1), counts) == counts


# --- unmasking ------------------------------------------------------------------------------


@pytest.fixture
def ticket_id(db, district):
    with db.session() as s:
        return new_ticket(s, district).id


def community_viewer(db, district, *, other=False):
    grid = district.grid_ids[0]
    community = district.community_of[grid]
    if other:
        community = next(c for c in district.community_of.values() if c != community)
    return Viewer(role="supervisor", region_id=community, name="社区书记")


def test_unmask_returns_the_raw_value_and_audits_the_reason(db, district, ticket_id):
    viewer = community_viewer(db, district)
    with db.session() as s:
        assert privacy.unmask(s, viewer, ticket_id, "phone", "回访居民核实情况") == "13812345678"
    with db.reader() as s:
        row = s.scalars(select(AuditLog).where(AuditLog.action == "unmask")).one()
        assert (row.target_id, row.detail) == (str(ticket_id), {"field": "phone", "reason": "回访居民核实情况"})


@pytest.mark.parametrize(
    ("viewer_kind", "field", "reason", "error"),
    [
        ("dispatcher", "phone", "回访居民核实", AccessDenied),  # not one of the few roles
        ("kiosk", "phone", "回访居民核实", AccessDenied),
        ("other_community", "phone", "回访居民核实", AccessDenied),  # outside the supervisor's area
        ("community", "phone", "看看", privacy.PrivacyError),  # no real reason
        ("community", "password", "回访居民核实", privacy.PrivacyError),
    ],
)
def test_unmask_is_refused_without_the_right_role_scope_or_reason(
    db, district, ticket_id, viewer_kind, field, reason, error
):
    viewer = {
        "dispatcher": Viewer(role="dispatcher"),
        "kiosk": Viewer.kiosk(),
        "other_community": community_viewer(db, district, other=True),
        "community": community_viewer(db, district),
    }[viewer_kind]
    with pytest.raises(error), db.session() as s:
        privacy.unmask(s, viewer, ticket_id, field, reason)
    with db.reader() as s:
        assert s.scalars(select(AuditLog).where(AuditLog.action == "unmask")).first() is None


@pytest.fixture
def client(db, district, settings):
    with db.session() as s:
        users.create_demo_accounts(s, PASSWORD)
    return create_app(settings, db).server.test_client()


def login(client, username):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303


def test_unmask_route_per_role(db, district, client):
    with db.session() as s:
        community = s.get(Region, users.find_user(s, "community").region_id)
        grid = s.scalars(select(Region).where(Region.parent_id == community.id).order_by(Region.code)).first()
        inside = new_ticket(s, district).id
        assert grid is not None
        placement = Placement(None, None, None, None, "unassigned")
        category_id = s.get(Ticket, inside).category_id
        outside = workflow.create(
            s,
            Viewer.system(),
            workflow.Submission(
                source="resident", category_id=category_id, placement=placement, reporter_phone="13900000000"
            ),
        ).id
        s.get(Ticket, inside).community_id = community.id
    body = {"ticket_id": inside, "field": "phone", "reason": "回访居民核实"}
    assert client.post("/api/unmask", json=body).status_code == 401
    login(client, "dispatcher")
    assert client.post("/api/unmask", json=body).status_code == 403
    client.get("/logout")
    client.post("/logout", data={"csrf_token": CSRF.search(client.get("/logout").get_data(as_text=True)).group(1)})
    login(client, "community")
    answer = client.post("/api/unmask", json=body)
    assert answer.status_code == 200 and answer.get_json()["value"] == "13812345678"
    assert client.post("/api/unmask", json={**body, "ticket_id": outside}).status_code == 403
    assert client.post("/api/unmask", json={**body, "reason": ""}).status_code == 400
    assert client.post("/api/unmask", json={**body, "ticket_id": "1 OR 1=1"}).status_code == 400
    assert client.post("/api/unmask", data=body).status_code == 400  # a form cannot unmask
    with db.reader() as s:
        attempts = [
            (r.ok, r.username, r.target_id, (r.detail or {}).get("refused"))
            for r in s.scalars(select(AuditLog).where(AuditLog.action == "unmask").order_by(AuditLog.id))
        ]
    # Every attempt is audited, refusals too, with why (tests/test_unmask_refusals.py, issue #9).
    assert attempts == [
        (False, None, str(inside), "login"),
        (False, "dispatcher", str(inside), "role"),
        (True, "community", str(inside), None),
        (False, "community", str(outside), "scope"),
        (False, "community", str(inside), "reason"),
        (False, "community", None, "bad_request"),
        (False, "community", None, "bad_request"),
    ]
