"""Idempotency and IoT folding under real concurrency: the real server (waitress, the way a user
starts it; the session's shared `live` server) on the real database of each backend — PostgreSQL
when TEST_DATABASE_URL is set — and 50 client threads released at once by a barrier."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from data.models import Ticket
from tests.api_fixtures import point_in

N = 50


@pytest.fixture(scope="module")
def key(live):
    return live.api_key("dispatcher", "--source", "hotline")


def all_at_once(send) -> list[requests.Response]:
    barrier = threading.Barrier(N)

    def one(i):
        barrier.wait(timeout=60)
        return send(i)

    with ThreadPoolExecutor(N) as pool:
        return list(pool.map(one, range(N)))


def some_point(live):
    with live.database.reader() as s:
        grid_id = s.scalar(select(Ticket.grid_id).where(Ticket.grid_id.is_not(None)).limit(1))
    return point_in(live.database, grid_id)


def count(live, **where) -> int:
    with live.database.reader() as s:
        stmt = select(func.count(Ticket.id))
        for name, value in where.items():
            stmt = stmt.where(getattr(Ticket, name) == value)
        return s.scalar(stmt)


def test_50_concurrent_identical_submissions_create_one_ticket(live, key):
    marker = f"并发同一请求 {uuid.uuid4().hex}"
    lon, lat = some_point(live)
    body = {"category": "0101", "description": marker, "lon": lon, "lat": lat}
    headers = {"X-Api-Key": key, "Idempotency-Key": uuid.uuid4().hex}
    responses = all_at_once(
        lambda i: requests.post(f"{live.url}/api/v1/tickets", json=body, headers=headers, timeout=90)
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 201}, statuses
    assert statuses.count(201) == 1 and statuses.count(200) == N - 1
    assert len({r.json()["ticket_id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == N - 1
    assert count(live, description=marker) == 1


def test_the_same_key_with_different_bodies_at_once_keeps_only_one(live, key):
    marker = f"不同内容 {uuid.uuid4().hex}"
    lon, lat = some_point(live)
    headers = {"X-Api-Key": key, "Idempotency-Key": uuid.uuid4().hex}

    def send(i):
        body = {"category": "0101", "description": f"{marker} {i % 2}", "lon": lon, "lat": lat}
        return requests.post(f"{live.url}/api/v1/tickets", json=body, headers=headers, timeout=90)

    responses = all_at_once(send)
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 201, 422}, statuses
    assert statuses.count(201) == 1 and 0 < statuses.count(422) < N
    assert all(r.json()["error"] == "idempotency_key_reused" for r in responses if r.status_code == 422)
    with live.database.reader() as s:
        assert s.scalar(select(func.count(Ticket.id)).where(Ticket.description.like(f"{marker}%"))) == 1


def test_50_concurrent_alarms_of_one_device_fold_into_one_ticket(live, key):
    lon, lat = some_point(live)
    device = f"WELL-{uuid.uuid4().hex[:8]}"
    alarm = {"source": "iot", "device_id": device, "alarm_type": "manhole_displaced", "lon": lon, "lat": lat}
    headers = {"X-Api-Key": key}
    responses = all_at_once(
        lambda i: requests.post(f"{live.url}/api/v1/tickets", json=alarm, headers=headers, timeout=90)
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 201}, statuses
    assert statuses.count(201) == 1
    assert len({r.json()["ticket_id"] for r in responses}) == 1
    assert count(live, source="iot", description="") >= 1
    with live.database.reader() as s:
        ticket = s.get(Ticket, responses[0].json()["ticket_id"])
        assert len(ticket.events) == N  # the report and 49 repeated-alarm events
