"""The wall's snapshot computed once per (scope, data version) and served to every screen
(issue #14): dozens of wall screens of one district show the same data, so their refreshes share
one `read_screen` instead of each running its queries.

The data version is what the snapshot is made of: the newest ticket and ticket event (every
change to a ticket is an event), the newest aggregate run, the boundary and region versions, and
the refresh interval the clock is in (the snapshot depends on the time too: today's hours, the
last 24 hours, how long orders are overdue). Reading it is five index lookups.

The snapshot of a version is stored in the shared store (the database, or Redis with
GCC_REDIS_URL) and kept in this process's memory too. The first process to need a version takes
a short lease and computes it; the others wait for what it stores (or compute it themselves if it
does not come within the lease), so several workers do not each compute the same snapshot.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from dataclasses import asdict, fields
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.access import Viewer
from data.clock import utcnow
from data.models import Ticket, TicketEvent
from data.read.cache import Memo
from data.read.directory import directory
from data.read.geometry import stored_key
from data.read.scope import StatScope, stat_scope
from data.read.screen import FeedItem, GridValues, Kpis, RankRow, Ratio, ScreenSnapshot, data_as_of, read_screen
from data.shared import store as shared_store

FORMAT = 1
LEASE_S = 10.0  # how long the computing process has before others compute it themselves
POLL_S = 0.05
TTL_FACTOR = 6  # a stored snapshot outlives its interval a little (a late screen still finds it)

_local: Memo[ScreenSnapshot] = Memo(max_entries=64, ttl=120)


def scope_key(scope: StatScope) -> str:
    if scope.whole_district:
        return "all"
    return hashlib.sha1(",".join(map(str, sorted(scope.grid_ids))).encode()).hexdigest()[:12]


def data_version(session: Session, now: datetime, bucket_s: int) -> str:
    newest_event = session.scalar(select(func.max(TicketEvent.id)))
    newest_ticket = session.scalar(select(func.max(Ticket.id)))
    as_of = data_as_of(session)
    parts = (
        newest_event,
        newest_ticket,
        as_of.isoformat() if as_of else "",
        stored_key(session),  # the boundary version, without the database URL
        directory(session).version[1:],  # (region count, newest region id)
        int(now.timestamp() // max(1, bucket_s)),
    )
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def shared_screen(
    session: Session,
    viewer: Viewer,
    *,
    tz: str,
    bucket_s: int,
    redis_url: str = "",
    now: datetime | None = None,
) -> ScreenSnapshot:
    """The viewer's scope's snapshot of the current data version: from this process's memory,
    else the shared store, else computed once (by whichever process takes the lease)."""
    now = now or utcnow()
    scope = stat_scope(session, viewer)
    key = f"screen:{FORMAT}:{tz}:{scope_key(scope)}:{data_version(session, now, bucket_s)}"
    store = shared_store(session.get_bind(), redis_url)
    ttl = max(30, bucket_s * TTL_FACTOR)

    def build() -> ScreenSnapshot:
        raw = store.get(key)
        if raw is not None:
            return snapshot_from_bytes(raw)
        if store.add(key + ":lease", b"1", ttl=LEASE_S) is False:  # another process computes it
            deadline = time.monotonic() + LEASE_S
            while time.monotonic() < deadline:
                time.sleep(POLL_S)
                raw = store.get(key)
                if raw is not None:
                    return snapshot_from_bytes(raw)
        snapshot = read_screen(session, viewer, now=now, tz=tz)
        store.put(key, snapshot_to_bytes(snapshot), ttl=ttl)
        return snapshot

    return _local.get_or_build(key, build)


# ----------------------------------------------------------------------------------------------
# Bytes: JSON (no pickle: what is read back from a shared store must never run code), compressed.


def _encode(value):
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    raise TypeError(f"cannot store {type(value).__name__}")


def _decode(obj: dict):
    if "$dt" in obj and len(obj) == 1:
        return datetime.fromisoformat(obj["$dt"])
    if "$d" in obj and len(obj) == 1:
        return date.fromisoformat(obj["$d"])
    return obj


def snapshot_to_bytes(snapshot: ScreenSnapshot) -> bytes:
    raw = json.dumps(asdict(snapshot), default=_encode, separators=(",", ":"), ensure_ascii=False)
    return zlib.compress(raw.encode(), 1)


def snapshot_from_bytes(raw: bytes) -> ScreenSnapshot:
    d = json.loads(zlib.decompress(raw), object_hook=_decode)
    k = d["kpis"]
    for f in fields(Kpis):
        if isinstance(k.get(f.name), dict):
            k[f.name] = Ratio(**k[f.name])
    d["kpis"] = Kpis(**k)
    d["grids"] = GridValues(**d["grids"])
    d["ranking_best"] = [RankRow(**r) for r in d["ranking_best"]]
    d["ranking_worst"] = [RankRow(**r) for r in d["ranking_worst"]]
    d["feed"] = [FeedItem(**f) for f in d["feed"]]
    d["categories"] = [tuple(c) for c in d["categories"]]
    d["sources"] = [tuple(c) for c in d["sources"]]
    return ScreenSnapshot(**d)
