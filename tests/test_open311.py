"""Open311 GeoReport v2 at /open311/v2: discovery, services, POST with api_key (form-encoded,
as the spec and generic clients send it), GET by service_request_id and token, the list's filters
and default window, the open/closed mapping and our extensions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from data import intake, workflow
from data.access import Viewer
from data.clock import utcnow
from data.models import Ticket
from tests.api_fixtures import assert_error, jpeg_bytes, make_client, new_key, point_in
from tests.helpers import DESK, assignee_viewer


@pytest.fixture
def o311(db, settings, district):
    client = make_client(db, settings)
    client.key = new_key(db, "12345热线", role="dispatcher", source="hotline")
    return client


def post_request(o311, db, district, grid=0, **fields):
    lat_lon = point_in(db, district.grid_ids[grid])
    form = {
        "api_key": o311.key,
        "service_code": "0101",
        "lat": str(lat_lon[1]),
        "long": str(lat_lon[0]),
        "description": "路灯下有垃圾",
        "first_name": "三",
        "last_name": "张",
        "phone": "13812345678",
        **fields,
    }
    return o311.post("/open311/v2/requests.json", data=form)


def test_discovery_and_services(o311):
    discovery = o311.get("/open311/v2/discovery.json").get_json()
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert discovery["endpoints"][0]["url"].endswith("/open311/v2")
    services = o311.get("/open311/v2/services.json").get_json()
    by_code = {s["service_code"]: s for s in services}
    assert by_code["0101"]["service_name"] == "暴露垃圾" and by_code["0101"]["group"] == "市容环境"
    assert all(s["metadata"] is False and s["type"] == "realtime" for s in services)
    assert "01" not in by_code  # a 大类 is a group, not a service
    assert o311.get("/open311/v2/services/0101.json").get_json() == {"service_code": "0101", "attributes": []}
    assert_error(o311.get("/open311/v2/services/9999.json"), 404)


def test_a_generic_client_posts_and_follows_its_request(o311, db, district):
    r = post_request(o311, db, district, grid=3)
    assert r.status_code == 200
    [answer] = r.get_json()
    assert set(answer) >= {"service_request_id", "token", "service_notice", "account_id"}
    token = answer["token"]
    assert o311.get(f"/open311/v2/tokens/{token}.json").get_json() == [
        {"service_request_id": answer["service_request_id"], "token": token}
    ]
    # No credentials: the service_request_id (the public token) is what the client holds.
    [record] = o311.get(f"/open311/v2/requests/{answer['service_request_id']}.json").get_json()
    assert record["status"] == "open" and record["service_code"] == "0101" and record["service_name"] == "暴露垃圾"
    assert record["requested_datetime"].endswith("+08:00")
    assert record["lat"] and record["long"]
    # Extensions.
    assert record["detailed_status"] == "reported" and record["detailed_status_label"] == "待受理"
    assert record["grid_code"] and record["ticket_id"] == answer["ticket_id"] and record["source"] == "hotline"
    assert [h["action"] for h in record["history"]] == ["report"]
    assert "phone" not in record and "13812345678" not in str(record)
    with db.reader() as s:
        ticket = s.get(Ticket, answer["ticket_id"])
        assert ticket.reporter_name == "张三" and ticket.reporter_phone == "13812345678"
        assert ticket.grid_id == district.grid_ids[3]


def test_status_maps_to_open_and_closed_with_deadline_and_history(o311, db, district):
    [answer] = post_request(o311, db, district).get_json()
    tid = answer["ticket_id"]
    with db.session() as s:
        workflow.apply(s, DESK, tid, "accept")
        workflow.apply(s, DESK, tid, "dispatch")
    [record] = o311.get(f"/open311/v2/requests/{answer['token']}.json").get_json()
    assert record["status"] == "open" and record["expected_datetime"] is not None
    with db.session() as s:
        worker = assignee_viewer(s, s.get(Ticket, tid))
        workflow.apply(s, worker, tid, "respond")
        workflow.apply(s, worker, tid, "handle", photos=["demo/site-2.jpg"], note="清理完毕")
        workflow.apply(s, DESK, tid, "verify_close")
        workflow.apply(s, Viewer(role="resident", ticket_token=answer["token"]), tid, "rate", rating="basic")
    [record] = o311.get(f"/open311/v2/requests/{answer['token']}.json").get_json()
    assert record["status"] == "closed" and record["detailed_status"] == "rated"
    assert record["rating"] == "basic" and record["rating_label"] == "基本满意"
    assert record["media_url"].endswith(f"?t={answer['token']}") and len(record["media_urls"]) == 1
    assert [h["action"] for h in record["history"]][-3:] == ["handle", "verify_close", "rate"]
    assert "清理完毕" not in str(record)  # notes stay internal


def test_post_needs_a_key_a_service_and_a_location(o311, db, district):
    assert_error(post_request(o311, db, district, api_key=""), 401, "api_key_required")
    assert_error(post_request(o311, db, district, api_key="nope"), 401, "invalid_api_key")
    assert_error(post_request(o311, db, district, service_code="9999"), 422, "unknown_category")
    body = assert_error(post_request(o311, db, district, lat="north"), 422, "invalid_request")
    assert body["detail"][0]["loc"] == ["lat"]
    no_place = {"api_key": o311.key, "service_code": "0101", "description": "x"}
    assert_error(o311.post("/open311/v2/requests.json", data=no_place), 422, "location_required")
    assert_error(post_request(o311, db, district, colour="red"), 422)
    address_only = o311.post("/open311/v2/requests.json", data={**no_place, "address_string": "幸福路 1 号"})
    assert address_only.status_code == 200  # placed nowhere: the unassigned queue, never dropped


def test_post_with_media_files_and_a_media_url_notice(o311, db, district):
    r = post_request(o311, db, district, media_url="http://example.invalid/a.jpg")
    assert "media_url" in r.get_json()[0]["service_notice"]
    lat_lon = point_in(db, district.grid_ids[0])
    form = {"api_key": o311.key, "service_code": "0301", "lat": str(lat_lon[1]), "long": str(lat_lon[0])}
    import io

    form["media"] = (io.BytesIO(jpeg_bytes()), "pothole.jpg")
    r = o311.post("/open311/v2/requests.json", data=form, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    [record] = o311.get(f"/open311/v2/requests/{r.get_json()[0]['token']}.json").get_json()
    assert len(record["media_urls"]) == 1
    assert o311.get(record["media_url"].split("localhost", 1)[1]).mimetype == "image/jpeg"


def test_open311_extensions_on_post(o311, db, district):
    from geo.coords import from_wgs84

    lon, lat = point_in(db, district.grid_ids[6])
    x, y = from_wgs84(lon, lat, "bd09")
    r = post_request(o311, db, district, lat=str(float(y)), long=str(float(x)), coord_system="bd09", external_id="H-1")
    [record] = o311.get(f"/open311/v2/requests/{r.get_json()[0]['token']}.json").get_json()
    assert abs(record["long"] - lon) < 1e-5 and abs(record["lat"] - lat) < 1e-5
    assert_error(post_request(o311, db, district, external_id="H-1"), 409, "external_id_taken")


def test_get_requests_lists_with_the_specs_filters(o311, db, district, settings):
    tokens = [post_request(o311, db, district, grid=i).get_json()[0]["token"] for i in range(3)]
    old = intake.submit(
        db,
        settings,
        intake.Report(category="0201", description="旧"),
        actor=Viewer.system(),
        now=utcnow() - timedelta(days=100),
    )
    assert_error(o311.get("/open311/v2/requests.json"), 401)
    listed = o311.get("/open311/v2/requests.json", query_string={"api_key": o311.key}).get_json()
    assert {r["service_request_id"] for r in listed} == set(tokens)  # default: the last 90 days
    start = (utcnow() - timedelta(days=120)).isoformat()
    dated = o311.get("/open311/v2/requests.json", query_string={"api_key": o311.key, "start_date": start}).get_json()
    assert old.token in {r["service_request_id"] for r in dated}
    codes = o311.get(
        "/open311/v2/requests.json", query_string={"api_key": o311.key, "start_date": start, "service_code": "0201"}
    ).get_json()
    assert [r["service_request_id"] for r in codes] == [old.token]
    assert (
        o311.get("/open311/v2/requests.json", query_string={"api_key": o311.key, "status": "closed"}).get_json() == []
    )
    some = o311.get(
        "/open311/v2/requests.json", query_string={"api_key": o311.key, "service_request_id": ",".join(tokens[:2])}
    ).get_json()
    assert {r["service_request_id"] for r in some} == set(tokens[:2])
    assert_error(o311.get("/open311/v2/requests.json", query_string={"api_key": o311.key, "status": "x"}), 400)
    assert_error(o311.get("/open311/v2/requests.json", query_string={"api_key": o311.key, "start_date": "x"}), 400)
    with_header = o311.get("/open311/v2/requests.json", headers={"X-Api-Key": o311.key}).get_json()
    assert len(with_header) == 3


def test_unknown_requests_and_tokens_are_404(o311, db, district):
    assert_error(o311.get("/open311/v2/requests/AAAAAAAAAAAAAAAA.json"), 404)
    assert_error(o311.get("/open311/v2/tokens/AAAAAAAAAAAAAAAA.json"), 404)
    [answer] = post_request(o311, db, district).get_json()
    # A numeric ticket id needs a client that may read tickets.
    assert_error(o311.get(f"/open311/v2/requests/{answer['ticket_id']}.json"), 404)
    ok = o311.get(f"/open311/v2/requests/{answer['ticket_id']}.json", query_string={"api_key": o311.key})
    assert ok.get_json()[0]["service_request_id"] == answer["token"]


def test_idempotent_open311_posts(o311, db, district):
    a = o311.post(
        "/open311/v2/requests.json",
        data={"api_key": o311.key, "service_code": "0101", "address_string": "x"},
        headers={"Idempotency-Key": "k-1"},
    )
    b = o311.post(
        "/open311/v2/requests.json",
        data={"api_key": o311.key, "service_code": "0101", "address_string": "x"},
        headers={"Idempotency-Key": "k-1"},
    )
    assert a.get_json()[0]["token"] == b.get_json()[0]["token"] and b.headers["Idempotent-Replayed"] == "true"
