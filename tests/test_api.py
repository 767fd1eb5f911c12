"""/api/v1 end to end through the real app (guard, blueprints, JSON errors) on the real database:
keys, create, read, list with cursor pagination and scope, actions, rating, idempotency,
duplicates, IoT alarms and the OpenAPI document's link to the models."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from data import apikeys, workflow
from data.clock import utcnow
from data.intake import Action, RatingIn, Report
from data.models import Region, Ticket
from geo.coords import from_wgs84
from tests.api_fixtures import assert_error, make_client, new_key, point_in
from tests.helpers import DESK, assignee_viewer


@pytest.fixture
def api(db, settings, district):
    client = make_client(db, settings)
    client.key = new_key(db, "12345热线", role="dispatcher", source="hotline")
    client.auth = {"X-Api-Key": client.key}
    return client


def report_body(db, district, grid=0, **kw):
    lon, lat = point_in(db, district.grid_ids[grid])
    return {"category": "0101", "description": "路边垃圾", "lon": lon, "lat": lat, **kw}


def create(api, body, **headers):
    return api.post("/api/v1/tickets", json=body, headers={**api.auth, **headers})


def tickets(db) -> int:
    with db.reader() as s:
        return s.scalar(select(func.count(Ticket.id)))


def test_openapi_document_is_generated_from_the_validating_models(api):
    doc = api.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    schemas = doc["components"]["schemas"]
    for model in (Report, Action, RatingIn):
        assert set(schemas[model.__name__]["properties"]) == set(model.model_fields)
    create_op = doc["paths"]["/tickets"]["post"]
    assert create_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/Report")
    assert "multipart/form-data" in create_op["requestBody"]["content"]
    assert {"401", "422", "201"} <= set(create_op["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in create_op["parameters"])


def test_every_view_takes_exactly_what_its_declaration_documents():
    """The decorator validates and injects what it documents; a view that read another input (or
    ignored a documented one) would make the document lie, so its signature must match."""
    import inspect
    import re

    from dashboard.api.v1 import api as v1

    assert v1.operations
    for op in v1.operations:
        params = set(inspect.signature(op.view).parameters)
        expected = set(re.findall(r"\{(\w+)\}", op.path)) | op.injected()
        assert params == expected, f"{op.method.upper()} {op.path}: view takes {params}, declared {expected}"


def test_undocumented_inputs_are_refused(api, db, district):
    assert_error(api.get("/api/v1/categories", query_string={"colour": "red"}), 422, "invalid_request")
    assert_error(api.get("/api/v1/tickets", query_string={"colour": "red"}, headers=api.auth), 422)
    assert_error(create(api, report_body(db, district, colour="red")), 422, "invalid_request")
    assert api.get("/api/v1/categories", query_string={"api_key": api.key}).status_code == 200  # a credential


def test_photo_limits_in_the_document_follow_the_settings(db, settings, district):
    narrow = make_client(db, settings.model_copy(update={"gcc_photos_per_ticket": 3, "gcc_photo_max_mb": 2.5}))
    doc = narrow.get("/api/v1/openapi.json").get_json()
    form = doc["paths"]["/tickets"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["photos"]["maxItems"] == 3 and "2.5 MB" in form["properties"]["photos"]["description"]


def test_a_post_without_a_valid_key_is_refused(api, db, district):
    body = report_body(db, district)
    assert_error(api.post("/api/v1/tickets", json=body), 401, "api_key_required")
    assert_error(api.post("/api/v1/tickets", json=body, headers={"X-Api-Key": "gcc_wrong"}), 401, "invalid_api_key")
    with db.session() as s:
        apikeys.revoke(s, "12345热线")
    assert_error(create(api, body), 401, "invalid_api_key")
    assert tickets(db) == 0


def test_create_read_and_public_status(api, db, district):
    r = create(api, report_body(db, district, grid=2, reporter_name="张三丰", reporter_phone="13812345678"))
    assert r.status_code == 201
    body = r.get_json()
    assert body["created"] and body["ticket"]["status"] == "reported" and body["status_url"] == f"/t/{body['token']}"
    detail = api.get(f"/api/v1/tickets/{body['ticket_id']}", headers=api.auth).get_json()
    assert detail["source"] == "hotline"  # the key's source
    assert detail["grid"]["id"] == district.grid_ids[2]
    assert detail["reporter_phone"] == "138****5678" and detail["reporter_name"] == "张*丰"  # masked
    assert [e["action"] for e in detail["history"]] == ["report"]
    assert "accept" in detail["allowed_actions"]
    public = api.get(f"/api/v1/status/{body['token']}").get_json()
    assert public["ticket_id"] == body["ticket_id"] and "reporter_phone" not in public
    assert_error(api.get("/api/v1/status/AAAAAAAAAAAAAAAA"), 404, "not_found")


def test_system_key_sees_personal_data_unmasked(api, db, district):
    system = new_key(db, "市平台", role="system")
    r = create(api, report_body(db, district, reporter_phone="13812345678"))
    detail = api.get(f"/api/v1/tickets/{r.get_json()['ticket_id']}", headers={"X-Api-Key": system}).get_json()
    assert detail["reporter_phone"] == "13812345678"


def test_gcj02_input_is_stored_as_wgs84(api, db, district):
    lon, lat = point_in(db, district.grid_ids[4])
    x, y = from_wgs84(lon, lat, "gcj02")
    r = create(api, {"category": "0303", "lon": float(x), "lat": float(y), "coord_system": "gcj02"})
    detail = api.get(f"/api/v1/tickets/{r.get_json()['ticket_id']}", headers=api.auth).get_json()
    assert abs(detail["lon"] - lon) < 1e-5 and abs(detail["lat"] - lat) < 1e-5
    assert detail["grid"]["id"] == district.grid_ids[4]


def test_list_filters_and_cursor_pagination(api, db, district):
    ids = [create(api, report_body(db, district, grid=i)).get_json()["ticket_id"] for i in range(5)]
    create(api, report_body(db, district, category="0201"))
    seen, cursor = [], None
    while True:
        query = {"limit": 2, "category": "0101", **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/tickets", query_string=query, headers=api.auth).get_json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    grid_code = api.get(f"/api/v1/tickets/{ids[3]}", headers=api.auth).get_json()["grid"]["code"]
    only = api.get("/api/v1/tickets", query_string={"grid": grid_code}, headers=api.auth).get_json()["items"]
    assert [t["id"] for t in only] == [ids[3]]
    later = (utcnow() + timedelta(hours=1)).isoformat()
    assert api.get("/api/v1/tickets", query_string={"created_after": later}, headers=api.auth).get_json()["items"] == []
    assert_error(api.get("/api/v1/tickets", query_string={"status": "nope"}, headers=api.auth), 422)
    assert_error(api.get("/api/v1/tickets", query_string={"created_after": "2026-01-01"}, headers=api.auth), 422)
    assert_error(api.get("/api/v1/tickets", query_string={"limit": 0}, headers=api.auth), 422)
    assert_error(api.get("/api/v1/tickets"), 401)


def test_a_regional_key_sees_only_its_community(api, db, district):
    with db.reader() as s:
        community = s.get(Region, district.community_of[district.grid_ids[0]])
        community_code = community.code
    inside = next(
        g for g in district.grid_ids if district.community_of[g] == district.community_of[district.grid_ids[0]]
    )
    outside = next(
        g for g in district.grid_ids if district.community_of[g] != district.community_of[district.grid_ids[0]]
    )
    a = create(api, report_body(db, district, grid=district.grid_ids.index(inside))).get_json()["ticket_id"]
    b = create(api, report_body(db, district, grid=district.grid_ids.index(outside))).get_json()["ticket_id"]
    regional = {"X-Api-Key": new_key(db, "社区平台", role="dispatcher", region_code=community_code)}
    listed = [t["id"] for t in api.get("/api/v1/tickets", headers=regional).get_json()["items"]]
    assert listed == [a]
    assert_error(api.get(f"/api/v1/tickets/{b}", headers=regional), 404)
    assert_error(api.post(f"/api/v1/tickets/{b}/actions", json={"action": "accept"}, headers=regional), 404)


def test_a_resident_key_submits_but_reads_only_by_token(api, db, district):
    resident = {"X-Api-Key": new_key(db, "小程序", role="resident", source="resident")}
    r = api.post("/api/v1/tickets", json=report_body(db, district), headers=resident)
    assert r.status_code == 201
    assert_error(api.get("/api/v1/tickets", headers=resident), 403)
    assert_error(api.get(f"/api/v1/tickets/{r.get_json()['ticket_id']}", headers=resident), 403)
    assert api.get(f"/api/v1/status/{r.get_json()['token']}").status_code == 200
    action = api.post(
        f"/api/v1/tickets/{r.get_json()['ticket_id']}/actions", json={"action": "accept"}, headers=resident
    )
    assert_error(action, 404)


def test_actions_follow_the_state_machine(api, db, district):
    tid = create(api, report_body(db, district)).get_json()["ticket_id"]
    assert_error(api.post(f"/api/v1/tickets/{tid}/actions", json={"action": "dispatch"}, headers=api.auth), 409)
    assert_error(api.post(f"/api/v1/tickets/{tid}/actions", json={"action": "fly"}, headers=api.auth), 422)
    assert_error(api.post(f"/api/v1/tickets/{tid}/actions", json={"action": "reject"}, headers=api.auth), 422)
    for action in ("accept", "dispatch"):
        r = api.post(f"/api/v1/tickets/{tid}/actions", json={"action": action}, headers=api.auth)
        assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "dispatched"
    comment = api.post(
        f"/api/v1/tickets/{tid}/actions", json={"action": "comment", "note": "已电话联系"}, headers=api.auth
    )
    assert comment.status_code == 200 and comment.get_json()["status"] == "dispatched"
    # A dispatcher key may not respond (接单) for the grid worker.
    assert_error(api.post(f"/api/v1/tickets/{tid}/actions", json={"action": "respond"}, headers=api.auth), 403)
    assert_error(api.post("/api/v1/tickets/999999/actions", json={"action": "accept"}, headers=api.auth), 404)


def test_rating_by_token_and_reopen(api, db, district):
    tid = create(api, report_body(db, district)).get_json()["ticket_id"]
    with db.session() as s:
        workflow.apply(s, DESK, tid, workflow.ActionInput("accept"))
        workflow.apply(s, DESK, tid, workflow.ActionInput("dispatch"))
        worker = assignee_viewer(s, s.get(Ticket, tid))
        workflow.apply(s, worker, tid, workflow.ActionInput("respond"))
        workflow.apply(s, worker, tid, workflow.ActionInput("handle", photos=["demo/site-1.jpg"]))
        token = s.get(Ticket, tid).public_token
    resident_app = {"X-Api-Key": new_key(db, "小程序", role="resident", source="resident")}
    early = api.post(
        f"/api/v1/tickets/{tid}/rating", json={"rating": "satisfied", "token": token}, headers=resident_app
    )
    assert_error(early, 409)  # not closed yet
    with db.session() as s:
        workflow.apply(s, DESK, tid, workflow.ActionInput("verify_close"))
    assert_error(
        api.post(f"/api/v1/tickets/{tid}/rating", json={"rating": "satisfied", "reopen": True}, headers=api.auth), 422
    )
    r = api.post(
        f"/api/v1/tickets/{tid}/rating",
        json={"rating": "unsatisfied", "comment": "还是脏", "reopen": True, "token": token},
        headers=resident_app,
    )
    assert r.status_code == 200 and r.get_json()["status"] == "dispatched"
    public = api.get(f"/api/v1/status/{token}").get_json()
    assert public["rating"] == "unsatisfied" and [e["action"] for e in public["timeline"]][-2:] == ["rate", "reopen"]


def test_idempotency_key_over_http(api, db, district):
    body = report_body(db, district)
    first = create(api, body, **{"Idempotency-Key": "order-77"})
    again = create(api, body, **{"Idempotency-Key": "order-77"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["ticket_id"] == first.get_json()["ticket_id"]
    other = create(api, {**body, "description": "不同"}, **{"Idempotency-Key": "order-77"})
    assert_error(other, 422, "idempotency_key_reused")
    assert_error(create(api, body, **{"Idempotency-Key": "bad key with spaces"}), 400, "bad_idempotency_key")
    assert tickets(db) == 1
    # Actions too: a retried accept is answered from the record, not refused as a second accept.
    tid = first.get_json()["ticket_id"]
    a1 = api.post(
        f"/api/v1/tickets/{tid}/actions", json={"action": "accept"}, headers={**api.auth, "Idempotency-Key": "a1"}
    )
    a2 = api.post(
        f"/api/v1/tickets/{tid}/actions", json={"action": "accept"}, headers={**api.auth, "Idempotency-Key": "a1"}
    )
    assert a1.status_code == a2.status_code == 200 and a1.get_json()["event_id"] == a2.get_json()["event_id"]


def test_duplicates_are_suggested_in_the_answer_and_the_detail(api, db, district):
    first = create(api, report_body(db, district)).get_json()["ticket_id"]
    second = create(api, report_body(db, district, description="同一处"))
    assert [d["ticket_id"] for d in second.get_json()["duplicates"]] == [first]
    assert second.get_json()["notices"]
    sid = second.get_json()["ticket_id"]
    detail = api.get(f"/api/v1/tickets/{sid}", headers=api.auth).get_json()
    assert [d["ticket_id"] for d in detail["duplicate_candidates"]] == [first]
    link = api.post(
        f"/api/v1/tickets/{sid}/actions", json={"action": "mark_duplicate", "duplicate_of": first}, headers=api.auth
    )
    assert link.get_json()["status"] == "duplicate"
    assert api.get(f"/api/v1/tickets/{sid}", headers=api.auth).get_json()["duplicate_of"] == first


def test_iot_alarms_through_the_api(api, db, district):
    iot = {"X-Api-Key": new_key(db, "物联平台", role="system", source="iot")}
    lon, lat = point_in(db, district.grid_ids[1])
    alarm = {"device_id": "MH-3", "alarm_type": "manhole_displaced", "lon": lon, "lat": lat}
    first = api.post("/api/v1/tickets", json=alarm, headers=iot)
    repeat = api.post("/api/v1/tickets", json=alarm, headers=iot)
    assert first.status_code == 201 and repeat.status_code == 200
    assert repeat.get_json()["repeat_alarm"] and repeat.get_json()["ticket_id"] == first.get_json()["ticket_id"]
    assert_error(
        api.post("/api/v1/tickets", json={**alarm, "alarm_type": "ufo"}, headers=iot), 422, "unknown_alarm_type"
    )
    assert tickets(db) == 1


@pytest.mark.parametrize(
    "kwargs, status",
    [
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"data": "[1, 2]", "content_type": "application/json"}, 400),
        ({"data": "category=0101", "content_type": "text/plain"}, 415),
        ({"json": {"category": "0101", "colour": "red"}}, 422),
        ({"json": {"category": "0101", "lon": 115.4}}, 422),
        ({"json": {"category": "0101", "lon": 1e308, "lat": 0}}, 422),
        ({"json": {"category": "0101", "description": "a\x00b"}}, 422),
        ({"json": {"category": "0101", "description": "x" * 5000}}, 422),
        ({"json": {"category": "0101", "coord_system": "mars"}}, 422),
        ({"json": {"category": "9999"}}, 422),
        ({"json": {"description": "no category"}}, 422),
        ({"json": {"category": "0101", "priority": "urgent"}}, 422),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(api, db, district, kwargs, status):
    assert_error(api.post("/api/v1/tickets", headers=api.auth, **kwargs), status)
    assert tickets(db) == 0


def test_unknown_paths_and_methods_answer_json(api):
    assert_error(api.get("/api/v1/nothing/here"), 404, "not_found")
    r = api.delete("/api/v1/tickets", headers=api.auth)
    assert_error(r, 405, "method_not_allowed")
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert_error(api.get("/api/v1/tickets/99999999999999999999999", headers=api.auth), 404)
    assert_error(api.get("/api/v1/tickets/-1", headers=api.auth), 404)
    unknown = api.get("/open311/v2/unknown.json")  # Open311 answers in the spec's own error format
    assert unknown.status_code == 404 and unknown.get_json()[0]["code"] == 404
