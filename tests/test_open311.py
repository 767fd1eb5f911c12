"""Open311 GeoReport v2 at /open311/v2: discovery, services, POST with api_key (form-encoded,
as the spec and generic clients send it), GET by service_request_id and token, the list's filters
and default window, the open/closed mapping and our extensions; public reading without a key in
the privacy-safe view (issue #13); every endpoint in XML too; errors in the spec's format."""

from __future__ import annotations

from datetime import timedelta

import pytest

from data import intake, workflow
from data.access import Viewer
from data.clock import utcnow
from data.models import Ticket
from tests.api_fixtures import jpeg_bytes, make_client, new_key, point_in
from tests.helpers import DESK, assignee_viewer


@pytest.fixture
def o311(db, settings, district):
    client = make_client(db, settings)
    client.key = new_key(db, "12345热线", role="dispatcher", source="hotline")
    return client


def assert_error(response, status: int, code: str | None = None) -> dict:
    """An Open311 refusal: the status and the spec's error list [{"code", "description"}] (our
    machine-readable code as the `error` extension)."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    body = response.get_json()
    assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {"code", "description", "error"}, body
    assert body[0]["code"] == status and body[0]["description"]
    if code is not None:
        assert body[0]["error"] == code, body
    return body[0]


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
    # No credentials: the service_request_id (the ticket number) is public, in the public view.
    assert answer["service_request_id"] == str(answer["ticket_id"])
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
        workflow.apply(s, DESK, tid, workflow.ActionInput("accept"))
        workflow.apply(s, DESK, tid, workflow.ActionInput("dispatch"))
    [record] = o311.get(f"/open311/v2/requests/{answer['token']}.json").get_json()
    assert record["status"] == "open" and record["expected_datetime"] is not None
    with db.session() as s:
        worker = assignee_viewer(s, s.get(Ticket, tid))
        workflow.apply(s, worker, tid, workflow.ActionInput("respond"))
        workflow.apply(s, worker, tid, workflow.ActionInput("handle", photos=["demo/site-2.jpg"], note="清理完毕"))
        workflow.apply(s, DESK, tid, workflow.ActionInput("verify_close"))
        workflow.apply(
            s, Viewer(role="resident", ticket_token=answer["token"]), tid, workflow.ActionInput("rate", rating="basic")
        )
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
    assert body["description"].startswith("lat:")
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
        intake.Caller(Viewer.system()),
        intake.Report(category="0201", description="旧"),
        now=utcnow() - timedelta(days=100),
    )
    token_id = _ids(db, tokens)
    ids = [token_id[t] for t in tokens]
    listed = o311.get("/open311/v2/requests.json", query_string={"api_key": o311.key}).get_json()
    assert {r["service_request_id"] for r in listed} == set(ids)  # default: the last 90 days
    start = (utcnow() - timedelta(days=120)).isoformat()
    dated = o311.get("/open311/v2/requests.json", query_string={"api_key": o311.key, "start_date": start}).get_json()
    assert str(old.ticket_id) in {r["service_request_id"] for r in dated}
    codes = o311.get(
        "/open311/v2/requests.json", query_string={"api_key": o311.key, "start_date": start, "service_code": "0201"}
    ).get_json()
    assert [r["service_request_id"] for r in codes] == [str(old.ticket_id)]
    assert (
        o311.get("/open311/v2/requests.json", query_string={"api_key": o311.key, "status": "closed"}).get_json() == []
    )
    some = o311.get(
        "/open311/v2/requests.json", query_string={"api_key": o311.key, "service_request_id": ",".join(ids[:2])}
    ).get_json()
    assert {r["service_request_id"] for r in some} == set(ids[:2])
    assert_error(o311.get("/open311/v2/requests.json", query_string={"api_key": o311.key, "status": "x"}), 400)
    assert_error(o311.get("/open311/v2/requests.json", query_string={"api_key": o311.key, "start_date": "x"}), 400)
    with_header = o311.get("/open311/v2/requests.json", headers={"X-Api-Key": o311.key}).get_json()
    assert len(with_header) == 3


def test_unknown_requests_and_tokens_are_404(o311, db, district):
    assert_error(o311.get("/open311/v2/requests/AAAAAAAAAAAAAAAA.json"), 404)
    assert_error(o311.get("/open311/v2/tokens/AAAAAAAAAAAAAAAA.json"), 404)
    assert_error(o311.get("/open311/v2/requests/99999999.json"), 404)
    assert_error(o311.get("/open311/v2/requests/%C2%B2.json"), 404)  # '²' passes str.isdigit()
    assert_error(o311.get("/open311/v2/requests/" + "9" * 4000 + ".json"), 404)
    [answer] = post_request(o311, db, district).get_json()
    ok = o311.get(f"/open311/v2/requests/{answer['ticket_id']}.json", query_string={"api_key": o311.key})
    assert ok.get_json()[0]["service_request_id"] == str(answer["ticket_id"])
    assert_error(o311.get("/open311/v2/requests.json", query_string={"limit": "²"}), 400, "bad_limit")
    assert_error(o311.get("/open311/v2/requests.json", query_string={"limit": "9" * 4000}), 400, "bad_limit")
    weird = o311.get("/open311/v2/requests.json", query_string={"service_request_id": "²,9" + "9" * 4000})
    assert weird.status_code == 200 and weird.get_json() == []


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


def _ids(db, tokens: list[str]) -> dict[str, str]:
    with db.reader() as s:
        return {t.public_token: str(t.id) for t in s.query(Ticket).filter(Ticket.public_token.in_(tokens))}


def test_reading_is_public_and_privacy_safe_by_default(o311, db, district):
    """Most Open311 clients send no key on GET: they get every request, with no reporter identity,
    phone / ID / plate numbers in descriptions masked, the address to the estate and no photos."""
    described = "车牌赣B12345 堵住消防通道，联系人电话 13987654321，身份证 36073119900101123X"
    [answer] = post_request(o311, db, district, description=described, address_string="幸福小区3栋2单元501").get_json()
    listed = o311.get("/open311/v2/requests.json").get_json()
    [record] = [r for r in listed if r["service_request_id"] == str(answer["ticket_id"])]
    text = str(record)
    for secret in ("13812345678", "13987654321", "赣B12345", "36073119900101123X", "张三", "3栋", answer["token"]):
        assert secret not in text, secret
    assert "138****5678" not in text  # not even masked: the reporter is not in the public view
    assert "139****4321" in record["description"] and "赣B*****" in record["description"]
    assert record["address"] == "幸福小区***" and record["media_urls"] == [] and record["media_url"] == ""
    [one] = o311.get(f"/open311/v2/requests/{answer['ticket_id']}.json").get_json()
    assert one["description"] == record["description"] and "history" in one
    # The reporter, holding the token, sees their own words.
    [own] = o311.get(f"/open311/v2/requests/{answer['token']}.json").get_json()
    assert own["description"] == described


def test_public_reading_can_be_switched_off(db, settings, district):
    closed = make_client(db, settings.model_copy(update={"gcc_open311_public_read": False}))
    assert_error(closed.get("/open311/v2/requests.json"), 401)
    assert_error(closed.get("/open311/v2/requests/1.json"), 401)
    assert closed.get("/open311/v2/services.json").status_code == 200  # the service list stays public


def test_every_endpoint_answers_in_xml(o311, db, district):
    from xml.etree import ElementTree as ET

    discovery = ET.fromstring(o311.get("/open311/v2/discovery.xml").data)
    assert discovery.tag == "discovery" and discovery.find("endpoints/endpoint/specification") is not None
    services = o311.get("/open311/v2/services.xml")
    assert services.mimetype == "text/xml"
    root = ET.fromstring(services.data)
    assert root.tag == "services"
    first = root.find("service")
    assert first.find("service_code").text and first.find("metadata").text == "false"
    definition = ET.fromstring(o311.get("/open311/v2/services/0101.xml").data)
    assert definition.tag == "service_definition" and definition.find("service_code").text == "0101"
    lat, lon = point_in(db, district.grid_ids[2])[::-1]
    posted = o311.post(
        "/open311/v2/requests.xml",
        data={"api_key": o311.key, "service_code": "0101", "lat": str(lat), "long": str(lon), "description": "xml"},
    )
    assert posted.status_code == 200 and posted.mimetype == "text/xml"
    request_id = ET.fromstring(posted.data).find("request/service_request_id").text
    token = ET.fromstring(posted.data).find("request/token").text
    listed = ET.fromstring(o311.get("/open311/v2/requests.xml").data)
    assert listed.tag == "service_requests" and request_id in [r.findtext("service_request_id") for r in listed]
    one = ET.fromstring(o311.get(f"/open311/v2/requests/{request_id}.xml").data)
    assert one.find("request/status").text == "open" and one.find("request/history/event/action").text == "report"
    tokens = ET.fromstring(o311.get(f"/open311/v2/tokens/{token}.xml").data)
    assert tokens.find("request/service_request_id").text == request_id
    error = o311.get("/open311/v2/requests/AAAAAAAAAAAA.xml")
    assert error.status_code == 404 and error.mimetype == "text/xml"
    assert ET.fromstring(error.data).find("error/code").text == "404"
    unknown = o311.get("/open311/v2/nothing.xml")
    assert unknown.status_code == 404 and ET.fromstring(unknown.data).tag == "errors"


def test_a_published_generic_client_reads_in_json_and_xml_without_a_key(db, settings, district):
    """georeport (PyPI), used as published, against the real app served over HTTP."""
    import threading

    from georeport import GeoReport
    from werkzeug.serving import make_server

    from dashboard.server import create_app

    app = create_app(settings, db).server
    key = new_key(db, "generic", role="dispatcher", source="hotline")
    client = app.test_client()
    lat, lon = point_in(db, district.grid_ids[4])[::-1]
    posted = client.post(
        "/open311/v2/requests.json",
        data={"api_key": key, "service_code": "0101", "lat": str(lat), "long": str(lon), "description": "路面垃圾"},
    ).get_json()[0]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        root = f"http://127.0.0.1:{server.server_port}/open311/v2"
        for fmt in ("json", "xml"):
            reader = GeoReport(root, output_format=fmt)
            services = reader.get_service_list()
            assert any(s["service_code"] == "0101" for s in services), fmt
            assert reader.get_service_definition("0101")["service_code"] == "0101"
            requests_ = reader.get_service_requests()
            requests_ = requests_ if isinstance(requests_, list) else [requests_]
            assert posted["service_request_id"] in [r["service_request_id"] for r in requests_], fmt
            one = reader.get_service_request(posted["service_request_id"])
            assert one["service_code"] == "0101" and one["status"] == "open", fmt
            assert "13812345678" not in str(requests_)
    finally:
        server.shutdown()
        thread.join(timeout=5)
