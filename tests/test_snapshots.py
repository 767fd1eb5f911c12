"""The wall's snapshot is computed once per (scope, data version) and shared by every screen and
every worker (issue #14): a second screen, or another worker with nothing in memory, gets the
stored snapshot; a change to the data is a new version."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from data import aggregates
from data.access import Viewer
from data.clock import utcnow
from data.read import snapshots
from data.read.cache import clear_all
from data.read.screen import read_screen
from data.shared import store
from tests.helpers import new_ticket

TZ = "Asia/Shanghai"


@pytest.fixture
def computed(monkeypatch):
    calls = []

    def counting(session, viewer, **kw):
        calls.append(viewer.role)
        return read_screen(session, viewer, **kw)

    monkeypatch.setattr(snapshots, "read_screen", counting)
    return calls


def _screen(db, viewer=None, now=None):
    with db.reader() as s:
        return snapshots.shared_screen(s, viewer or Viewer.kiosk(), tz=TZ, bucket_s=10, now=now)


def _with_tickets(db, district, n=5):
    # The start of a 10 s refresh interval: the test's few seconds later stay in the same one.
    now = datetime.fromtimestamp(int(utcnow().timestamp()) // 10 * 10, tz=UTC)
    with db.session() as s:
        for i in range(n):
            new_ticket(s, district.grid_ids[i % len(district.grid_ids)], at=now - timedelta(hours=i))
    with db.session() as s:
        aggregates.refresh(s, "full", tz=TZ)
    return now


def test_the_snapshot_survives_its_bytes(db, district):
    now = _with_tickets(db, district)
    with db.reader() as s:
        original = read_screen(s, Viewer.kiosk(), now=now, tz=TZ)
    again = snapshots.snapshot_from_bytes(snapshots.snapshot_to_bytes(original))
    assert again == original
    assert again.feed and again.feed[0].at == original.feed[0].at


def test_one_computation_per_version_for_every_screen_and_worker(db, district, computed):
    now = _with_tickets(db, district)
    first = _screen(db, now=now)
    assert _screen(db, now=now + timedelta(seconds=1)) == first  # a second screen, same interval
    clear_all()  # another worker: nothing in memory, the stored snapshot
    assert _screen(db, now=now + timedelta(seconds=2)) == first
    assert len(computed) == 1

    # A new report is a new data version.
    with db.session() as s:
        new_ticket(s, district.grid_ids[0], at=now)
    newer = _screen(db, now=now + timedelta(seconds=3))
    assert len(computed) == 2
    assert newer.feed[0].id != first.feed[0].id
    # The next refresh interval is a new version too (the snapshot depends on the time).
    _screen(db, now=now + timedelta(seconds=20))
    assert len(computed) == 3


def test_a_scope_is_its_own_snapshot(db, district, computed):
    _with_tickets(db, district)
    from sqlalchemy import select

    from data.models import Region

    with db.reader() as s:
        street = s.scalar(select(Region.id).where(Region.level == "street").order_by(Region.id).limit(1))
    whole = _screen(db)
    part = _screen(db, Viewer(role="supervisor", region_id=street))
    assert len(computed) == 2
    assert len(part.grids.codes) < len(whole.grids.codes)


def test_a_worker_waits_for_the_one_computing_instead_of_computing(db, district, computed):
    now = _with_tickets(db, district)
    with db.reader() as s:
        ready = read_screen(s, Viewer.kiosk(), now=now, tz=TZ)
        key = f"screen:{snapshots.FORMAT}:{TZ}:all:{snapshots.data_version(s, now, 10)}"
        shared = store(s.get_bind())
    assert shared.add(key + ":lease", b"1", ttl=snapshots.LEASE_S)  # another worker is computing

    def other_worker_finishes():
        time.sleep(0.3)
        shared.put(key, snapshots.snapshot_to_bytes(ready), ttl=60)

    thread = threading.Thread(target=other_worker_finishes)
    thread.start()
    got = _screen(db, now=now)
    thread.join()
    assert got == ready
    assert computed == []
