"""The phone pages through the real app: /report (CSRF, rate limits, the intake), /t/<token>
(public timeline, rating, reopen) and /my (a signed-in grid worker's orders, accept, handle)."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from data import users, workflow
from data.models import GridTeam, Region, Ticket
from tests.api_fixtures import assert_error, jpeg_bytes, make_client, point_in
from tests.helpers import DESK

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "test-pass-2026"


@pytest.fixture
def phone(db, settings, district):
    return make_client(db, settings)


def form_token(client, path="/report") -> str:
    page = client.get(path)
    assert page.status_code == 200
    return CSRF.search(page.get_data(as_text=True)).group(1)


def report(phone, db, district, token, grid=0, **fields):
    lon, lat = point_in(db, district.grid_ids[grid])
    data = {
        "csrf_token": token,
        "category": "0102",
        "description": "楼下堆了建筑垃圾",
        "lon": str(lon),
        "lat": str(lat),
        "coord_system": "wgs84",
        **fields,
    }
    return phone.post("/report", data=data, content_type="multipart/form-data", headers={"Accept": "application/json"})


def test_report_page_renders_for_a_phone(phone):
    page = phone.get("/report").get_data(as_text=True)
    assert 'name="viewport"' in page and "随手拍" in page and 'value="0101"' in page
    assert "<script>" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    svg = phone.get("/report/map.svg")
    assert svg.mimetype == "image/svg+xml" and svg.get_data(as_text=True).count("<path") == 12
    assert phone.get("/phone-static/phone.js").status_code == 200


def test_report_submits_through_the_intake_with_photos(phone, db, district):
    token = form_token(phone)
    r = report(phone, db, district, token, photos=[(io.BytesIO(jpeg_bytes()), "a.jpg")], idempotency_key="form-1")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status_url"] == f"/t/{body['token']}"
    with db.reader() as s:
        ticket = s.get(Ticket, body["ticket_id"])
        assert ticket.source == "resident" and len(ticket.photos) == 1 and ticket.grid_id == district.grid_ids[0]
    # A double tap (same form, same idempotency key) makes no second ticket.
    again = report(phone, db, district, token, photos=[(io.BytesIO(jpeg_bytes()), "a.jpg")], idempotency_key="form-1")
    assert again.get_json()["ticket_id"] == body["ticket_id"]


def test_report_needs_the_csrf_pair_and_refuses_foreign_fields(phone, db, district):
    token = form_token(phone)
    assert_error(report(phone, db, district, "forged-token-1234567890"), 403, "csrf_failed")
    fresh = make_client_without_cookie(phone)
    assert_error(report(fresh, db, district, token), 403, "csrf_failed")  # the token without its cookie
    assert_error(report(phone, db, district, token, source="leader"), 422)
    assert_error(report(phone, db, district, token, category="9999"), 422, "unknown_category")
    with db.reader() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 0


def make_client_without_cookie(client):
    return client.application.test_client()


def test_anonymous_reports_are_rate_limited_per_client_and_globally(db, settings, district):
    limited = settings.model_copy(update={"gcc_report_limit_per_client": 3, "gcc_report_limit_global": 5})
    phone = make_client(db, limited)
    token = form_token(phone)
    statuses = [report(phone, db, district, token, grid=i).status_code for i in range(4)]
    assert statuses == [201, 201, 201, 429]
    refused = report(phone, db, district, token)
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1
    # Another address has its own allowance; together they meet the global limit (5): the
    # refused hits above were not counted against it.
    other = make_client(db, limited)
    other_token = form_token(other)

    def post_from(address):
        return other.post(
            "/report",
            data={"csrf_token": other_token, "category": "0101"},
            environ_base={"REMOTE_ADDR": address},
            headers={"Accept": "application/json"},
        )

    assert [post_from(a).status_code for a in ("10.0.0.9", "10.0.0.10")] == [201, 201]
    blocked = post_from("10.0.0.11")
    assert_error(blocked, 429, "rate_limited")
    assert "everybody" in blocked.get_json()["detail"]
    with db.reader() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 5


def close_ticket(db, tid):
    with db.session() as s:
        workflow.apply(s, DESK, tid, workflow.ActionInput("accept"))
        workflow.apply(s, DESK, tid, workflow.ActionInput("dispatch"))
        t = s.get(Ticket, tid)
        from tests.helpers import assignee_viewer

        worker = assignee_viewer(s, t)
        workflow.apply(s, worker, tid, workflow.ActionInput("respond"))
        workflow.apply(s, worker, tid, workflow.ActionInput("comment", note="内部备注：联系了王经理"))
        workflow.apply(s, worker, tid, workflow.ActionInput("handle", photos=["demo/site-1.jpg"], note="已清运"))
        workflow.apply(s, DESK, tid, workflow.ActionInput("verify_close"))


def test_status_page_hides_staff_and_notes_and_rates_with_reopen(phone, db, district):
    body = report(phone, db, district, form_token(phone)).get_json()
    page = phone.get(body["status_url"]).get_data(as_text=True)
    assert "待受理" in page and "rate-form" not in page
    close_ticket(db, body["ticket_id"])
    page = phone.get(body["status_url"]).get_data(as_text=True)
    assert "已结案" in page and "处理反馈" in page and 'id="rate-form"' in page
    assert "王经理" not in page and "已清运" not in page and "测试调度" not in page
    token = CSRF.search(page).group(1)
    assert_error(phone.post(f"/t/{body['token']}/rate", data={"csrf_token": "x" * 30, "rating": "satisfied"}), 403)
    rated = phone.post(
        f"/t/{body['token']}/rate",
        data={"csrf_token": token, "rating": "unsatisfied", "comment": "没清干净", "reopen": "1"},
    )
    assert rated.status_code == 200 and rated.get_json()["status"] == "dispatched"
    page = phone.get(body["status_url"]).get_data(as_text=True)
    assert "重新办理" in page and "rate-form" not in page
    assert_error(phone.get("/t/AAAAAAAAAAAAAAAA"), 404)


@pytest.fixture
def worker(db, district):
    with db.session() as s:
        users.create_demo_accounts(s, PASSWORD)
        user = s.scalars(select(users.User).where(users.User.username == "worker")).one()
        staff_id = user.staff_id
        grid_id = s.scalars(select(GridTeam.grid_id).where(GridTeam.grid_worker_id == staff_id)).first()
        assert grid_id is not None and s.get(Region, grid_id).level == "grid"
    return staff_id, grid_id


def login(client, username):
    token = form_token(client, "/login")
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:300]


def test_my_orders_accept_and_handle_with_a_photo(phone, db, district, worker, settings):
    staff_id, grid_id = worker
    assert phone.get("/my").status_code in (302, 401)  # not signed in
    ids = []
    for category in ("0101", "0201"):  # not property matters: they go to the grid worker
        lon, lat = point_in(db, grid_id)
        from data import intake
        from data.access import Viewer

        out = intake.submit(
            db, settings, intake.Caller(Viewer.system()), intake.Report(category=category, lon=lon, lat=lat)
        )
        with db.session() as s:
            workflow.apply(s, DESK, out.ticket_id, workflow.ActionInput("accept"))
            workflow.apply(s, DESK, out.ticket_id, workflow.ActionInput("dispatch"))
            assert s.get(Ticket, out.ticket_id).assignee_staff_id == staff_id
        ids.append(out.ticket_id)
    login(phone, "worker")
    page = phone.get("/my").get_data(as_text=True)
    assert f"order-{ids[0]}" in page and f"order-{ids[1]}" in page and "接单" in page
    # 违章停车 (0201) must be accepted within 2 h, 暴露垃圾 within 6 h: it comes first.
    assert page.index(f"order-{ids[1]}") < page.index(f"order-{ids[0]}")
    token = CSRF.search(page).group(1)
    assert_error(phone.post(f"/my/{ids[0]}/respond", data={"csrf_token": "bad" * 10}), 403, "csrf_failed")
    assert phone.post(f"/my/{ids[0]}/respond", data={"csrf_token": token}).status_code == 200
    no_photo = phone.post(f"/my/{ids[0]}/handle", data={"csrf_token": token, "note": "好了"})
    assert_error(no_photo, 422, "photo_required")
    done = phone.post(
        f"/my/{ids[0]}/handle",
        data={"csrf_token": token, "note": "已修复", "photos": [(io.BytesIO(jpeg_bytes()), "after.jpg")]},
        content_type="multipart/form-data",
    )
    assert done.status_code == 200, done.get_json()
    with db.reader() as s:
        assert s.get(Ticket, ids[0]).status == "handled"
    page = phone.get("/my").get_data(as_text=True)
    assert f"order-{ids[0]}" not in page and f"order-{ids[1]}" in page


def test_my_is_for_field_roles_only(phone, db, district, worker):
    login(phone, "dispatcher")
    r = phone.get("/my", headers={"Accept": "application/json"})
    assert r.status_code == 403


def test_my_orders_of_a_property_company_by_deadline(db, settings, district):
    from data import intake
    from data.access import Viewer
    from data.field_orders import my_orders

    grid_id = next(g for g in district.grid_ids if district.property_of.get(g))
    company = district.property_of[grid_id]
    lon, lat = point_in(db, grid_id)
    ids = []
    for category in ("0402", "0403"):  # 漏水 (respond in 6 h), 电梯故障 (2 h): property matters
        out = intake.submit(
            db, settings, intake.Caller(Viewer.system()), intake.Report(category=category, lon=lon, lat=lat)
        )
        with db.session() as s:
            workflow.apply(s, DESK, out.ticket_id, workflow.ActionInput("accept"))
            workflow.apply(s, DESK, out.ticket_id, workflow.ActionInput("dispatch"))
        ids.append(out.ticket_id)
    company_viewer = Viewer(role="property", organisation_id=company)
    with db.reader() as s:
        assert [t.id for t in my_orders(s, company_viewer)] == [ids[1], ids[0]]
        assert my_orders(s, Viewer(role="property", organisation_id=company + 1000)) == []
        assert my_orders(s, Viewer(role="dispatcher")) == []
    intake.act(db, settings, intake.Caller(company_viewer), ids[1], intake.Action(action="respond"))
    with db.reader() as s:
        # Once accepted, 电梯故障 is ordered by its handling deadline (24 h): after 漏水's 6 h response one.
        assert [t.id for t in my_orders(s, company_viewer)] == [ids[0], ids[1]]


def test_a_request_larger_than_nine_photos_can_be_is_refused_as_json(phone, db, district):
    token = form_token(phone)
    body = b"x" * (9 * 10_000_000 + 3_000_000)
    r = phone.post(
        "/report",
        data={"csrf_token": token, "category": "0101", "photos": (io.BytesIO(body), "huge.jpg")},
        content_type="multipart/form-data",
    )
    assert_error(r, 413)
