"""A locked or unreachable database (issue #9): requests wait at most GCC_DB_WAIT_SECONDS, then
answer 503 with Retry-After and write nothing; /healthz answers 503 "degraded" within a second
naming what fails, and names jobs that have stopped succeeding."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from data.clock import utcnow
from data.models import JobStatus, Ticket
from tests.api_fixtures import make_client, new_key, point_in

WAIT = 1.0


@pytest.fixture
def client(db, settings, district):
    client = make_client(db, settings.model_copy(update={"gcc_db_wait_seconds": WAIT}))
    client.key = new_key(db, "locked", role="dispatcher", source="hotline")
    return client


def _count(db) -> int:
    with db.reader() as s:
        return s.scalar(select(func.count(Ticket.id)))


class Lock:
    """Another process's lock on the database, held until released: the write lock, or (SQLite:
    exclusive locking mode; PostgreSQL: ACCESS EXCLUSIVE on tickets) reads blocked too."""

    def __init__(self, db, *, reads: bool):
        self.db, self.reads, self.release_event = db, reads, threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self):
        if self.db.is_sqlite:
            conn = sqlite3.connect(self.db.url.split("///", 1)[1], isolation_level=None, timeout=30)
            if self.reads:
                # Exclusive locking mode in WAL needs the file closed elsewhere: close the pool's
                # idle connections first (the app opens new ones, which then wait and give up).
                self.db.engine.dispose()
                conn.execute("PRAGMA locking_mode=EXCLUSIVE")
                conn.execute("BEGIN EXCLUSIVE")
                conn.execute("UPDATE app_state SET value = value WHERE 1 = 0")
            else:
                conn.execute("BEGIN IMMEDIATE")
            self.ready.set()
            self.release_event.wait(60)
            conn.execute("ROLLBACK")
            conn.close()
            return
        engine = create_engine(self.db.url)
        with engine.connect() as conn:
            mode = "ACCESS EXCLUSIVE" if self.reads else "EXCLUSIVE"
            conn.execute(text(f"LOCK TABLE tickets, ticket_events IN {mode} MODE"))
            self.ready.set()
            self.release_event.wait(60)
            conn.rollback()
        engine.dispose()

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(30)
        return self

    def __exit__(self, *exc):
        self.release_event.set()
        self.thread.join(30)


def test_a_write_behind_a_held_lock_is_a_quick_503_and_writes_nothing(client, db, district):
    lon, lat = point_in(db, district.grid_ids[0])
    before = _count(db)
    with Lock(db, reads=False):
        started = time.monotonic()
        r = client.post(
            "/api/v1/tickets", json={"category": "0101", "lon": lon, "lat": lat}, headers={"X-Api-Key": client.key}
        )
        took = time.monotonic() - started
    assert r.status_code == 503, r.get_data(as_text=True)[:300]
    assert r.headers["Retry-After"].isdigit() and r.get_json()["error"] == "unavailable"
    assert took < WAIT + 4, took
    assert _count(db) == before
    after = client.post(
        "/api/v1/tickets", json={"category": "0101", "lon": lon, "lat": lat}, headers={"X-Api-Key": client.key}
    )
    assert after.status_code == 201 and _count(db) == before + 1


def test_reads_behind_an_exclusive_lock_are_a_quick_503(client, db, district):
    with Lock(db, reads=True):
        started = time.monotonic()
        listing = client.get("/api/v1/tickets", headers={"X-Api-Key": client.key})
        page = client.get("/district", headers={"Accept": "text/html"})
        took = time.monotonic() - started
    assert listing.status_code == 503 and listing.headers["Retry-After"]
    assert page.status_code in (401, 503)  # a page answers the login first, or 503 — never a 500
    assert took < 2 * WAIT + 6, took


def test_healthz_is_degraded_within_a_second_and_says_why(client, db):
    assert client.get("/healthz").status_code == 200
    # Reads blocked (both backends); on SQLite also only its one write lock held elsewhere.
    for reads in (True, False) if db.is_sqlite else (True,):
        with Lock(db, reads=reads):
            started = time.monotonic()
            r = client.get("/healthz")
            took = time.monotonic() - started
        body = r.get_json()
        assert r.status_code == 503 and body["status"] == "degraded" and r.headers["Retry-After"]
        assert took < 1.5, took
        assert any("database" in f for f in body["failing"]), body["failing"]
        assert client.get("/healthz").status_code == 200


def test_healthz_names_jobs_that_stopped_succeeding(client, db):
    long_ago = utcnow() - timedelta(hours=3)
    with db.session() as s:
        s.add(
            JobStatus(
                job_id="refresh_aggregates",
                last_started_at=long_ago,
                last_finished_at=long_ago,
                last_ok_at=long_ago,
                last_ok=True,
                runs=40,
                last_summary={},
            )
        )
        s.add(
            JobStatus(
                job_id="sweep_deadlines",
                last_started_at=utcnow(),
                last_finished_at=utcnow(),
                last_ok_at=None,
                last_ok=False,
                runs=3,
                last_error="boom",
                last_summary={},
            )
        )
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded"
    assert any(f.startswith("job refresh_aggregates has not succeeded since") for f in body["failing"])
    assert any(f.startswith("job sweep_deadlines has never succeeded: boom") for f in body["failing"])
    with db.session() as s:
        for row in s.scalars(select(JobStatus)):
            row.last_ok_at = row.last_finished_at = utcnow()
            row.last_ok = True
    assert client.get("/healthz").get_json()["status"] == "ok"
