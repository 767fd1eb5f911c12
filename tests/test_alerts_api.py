"""/api/v1/alerts through the real app: a burst posted through /api/v1 becomes an alert the
list shows (scoped to the key's area), and a state change is permitted, checked and audited."""

from __future__ import annotations

from sqlalchemy import select

from data.alerts import job
from data.audit import AuditLog
from data.models import Region
from tests.api_fixtures import assert_error, make_client, new_key, point_in


def post_burst(client, db, district, key, n=5, category="0402"):
    lon, lat = point_in(db, district.grid_ids[0])
    for i in range(n):
        body = {"category": category, "description": f"楼道漏水 {i}", "lon": lon, "lat": lat}
        response = client.post("/api/v1/tickets", json=body, headers={"X-Api-Key": key})
        assert response.status_code == 201, response.get_data(as_text=True)


def test_a_burst_posted_through_the_api_is_listed_and_changed(db, settings, district):
    client = make_client(db, settings)
    key = new_key(db, "12345热线", role="dispatcher", source="hotline")
    post_burst(client, db, district, key)
    with db.session() as s:
        assert job.run(s, settings)["raised"] == 1
    page = client.get("/api/v1/alerts?state=new", headers={"X-Api-Key": key}).get_json()
    (alert,) = page["items"]
    assert alert["kind"] == "surge" and alert["category"] == "0402" and alert["evidence_count"] == 5
    assert len(alert["evidence"]) == 5 and "acknowledge" in alert["actions"]
    with db.reader() as s:
        grid = s.get(Region, district.grid_ids[0])
        other = s.scalars(select(Region.code).where(Region.level == "community", Region.id != grid.parent_id)).first()
        own = s.get(Region, grid.parent_id).code
    outsider = new_key(db, "别的社区", role="dispatcher", source="patrol", region_code=other)
    assert client.get("/api/v1/alerts", headers={"X-Api-Key": outsider}).get_json()["items"] == []
    assert_error(
        client.post(
            f"/api/v1/alerts/{alert['id']}/state", json={"action": "acknowledge"}, headers={"X-Api-Key": outsider}
        ),
        404,
    )
    worker = new_key(db, "居民应用", role="resident", source="resident")
    assert_error(
        client.post(
            f"/api/v1/alerts/{alert['id']}/state", json={"action": "acknowledge"}, headers={"X-Api-Key": worker}
        ),
        403,
    )
    supervisor = new_key(db, "本社区", role="dispatcher", source="patrol", region_code=own)
    url = f"/api/v1/alerts/{alert['id']}/state"
    assert_error(
        client.post(url, json={"action": "dismiss"}, headers={"X-Api-Key": supervisor}), 422, "reason_required"
    )
    done = client.post(url, json={"action": "resolve", "reason": "已修复"}, headers={"X-Api-Key": supervisor})
    assert done.status_code == 200 and done.get_json()["state"] == "resolved"
    assert_error(client.post(url, json={"action": "acknowledge"}, headers={"X-Api-Key": supervisor}), 409)
    assert client.get("/api/v1/alerts?state=new,acknowledged", headers={"X-Api-Key": key}).get_json()["items"] == []
    with db.reader() as s:
        row = s.scalars(select(AuditLog).where(AuditLog.action == "alert")).one()
        assert (row.detail["to"], row.detail["reason"], row.role) == ("resolved", "已修复", "dispatcher")


def test_alerts_need_a_login_or_key_and_validate_their_query(db, settings, district):
    client = make_client(db, settings)
    assert_error(client.get("/api/v1/alerts"), 401)
    key = new_key(db, "12345热线", role="dispatcher", source="hotline")
    assert_error(client.get("/api/v1/alerts?state=open", headers={"X-Api-Key": key}), 422)
    assert_error(client.get("/api/v1/alerts?colour=red", headers={"X-Api-Key": key}), 422)
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/alerts" in doc["paths"] and "/alerts/{alert_id}/state" in doc["paths"]
