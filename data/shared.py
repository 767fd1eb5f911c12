"""Values shared by every process of a deployment (issue #14): web workers on several machines and
the scheduler. No worker keeps state another needs; what one worker computes that others would
compute again (the display geometry of a boundary version, the wall's snapshot of a data version,
the value arrays a browser was sent) is stored here by key, as bytes.

Two stores with one interface (`get`, `put`, `add`):
- `DatabaseStore`: the table `shared_values` of the app's own database (the default: nothing else
  to run, right for SQLite and PostgreSQL alike). Entries may expire; expired rows are pruned now
  and then by the writers.
- `RedisStore`: with GCC_REDIS_URL set, short-lived entries (snapshots, sent values) go to Redis
  instead; the durable display geometry always stays in the database.

Every caller treats the store as a cache: a value that is missing (expired, pruned, a store that
is briefly unreachable) is computed again, never an error.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlalchemy import LargeBinary, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from data.clock import utcnow
from data.models import Base

log = logging.getLogger(__name__)

PRUNE_SHARE = 0.02  # about one write in 50 also deletes expired rows


class SharedValue(Base):
    """A derived value by key (bytes), with an optional expiry."""

    __tablename__ = "shared_values"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]


_checked: set[str] = set()  # databases whose table this process has made sure of


def _ensure_table(engine: Engine) -> None:
    """A database made before this table existed (the schema is one migration, regenerated; an
    older instance folder says it is at head) gets it here, once per process."""
    url = engine.url.render_as_string(hide_password=True)
    if url in _checked:
        return
    _checked.add(url)
    try:
        SharedValue.__table__.create(engine, checkfirst=True)
    except SQLAlchemyError:
        log.warning("shared store: could not create shared_values", exc_info=True)


class DatabaseStore:
    def __init__(self, engine: Engine):
        self.engine = engine
        _ensure_table(engine)

    def get(self, key: str) -> bytes | None:
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(SharedValue.value, SharedValue.expires_at).where(SharedValue.key == key)
                ).first()
                conn.rollback()
        except SQLAlchemyError:
            log.warning("shared store: reading %s failed", key, exc_info=True)
            return None
        if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
            return None
        return bytes(row.value)

    def put(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._write(key, value, ttl, replace=True)

    def add(self, key: str, value: bytes, ttl: float | None = None) -> bool | None:
        """Store unless the key is there and not expired (a value of a version never changes; a
        lease is taken by one process). True when this call stored it, False when the key was
        there, None when the store could not be written (a caller then goes on by itself)."""
        return self._write(key, value, ttl, replace=False)

    def _write(self, key: str, value: bytes, ttl: float | None, *, replace: bool) -> bool | None:
        now = utcnow()
        row = {
            "key": key,
            "value": value,
            "created_at": now,
            "expires_at": now + timedelta(seconds=ttl) if ttl else None,
        }
        insert = sqlite.insert if self.engine.dialect.name == "sqlite" else postgresql.insert
        stmt = insert(SharedValue).values(**row)
        if replace:
            stmt = stmt.on_conflict_do_update(
                index_elements=["key"], set_={k: row[k] for k in ("value", "created_at", "expires_at")}
            )
        else:  # an expired row counts as absent
            stmt = stmt.on_conflict_do_update(
                index_elements=["key"],
                set_={k: row[k] for k in ("value", "created_at", "expires_at")},
                where=SharedValue.expires_at.is_not(None) & (SharedValue.expires_at <= now),
            )
        try:
            with self.engine.begin() as conn:
                stored = conn.execute(stmt.returning(SharedValue.key)).first() is not None
                if random.random() < PRUNE_SHARE:
                    conn.execute(delete(SharedValue).where(SharedValue.expires_at < now))
            return stored
        except SQLAlchemyError:
            log.warning("shared store: writing %s failed", key, exc_info=True)
            return None


class RedisStore:
    def __init__(self, url: str, prefix: str = "gcc:"):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get(self.prefix + key)
        except Exception:  # redis.RedisError and socket errors: a cache miss
            log.warning("shared store: redis get %s failed", key, exc_info=True)
            return None

    def put(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._set(key, value, ttl, nx=False)

    def add(self, key: str, value: bytes, ttl: float | None = None) -> bool | None:
        return self._set(key, value, ttl, nx=True)

    def _set(self, key, value, ttl, *, nx: bool) -> bool | None:
        try:
            ms = max(1, int(ttl * 1000)) if ttl else None
            return bool(self.client.set(self.prefix + key, value, px=ms, nx=nx))
        except Exception:
            log.warning("shared store: redis set %s failed", key, exc_info=True)
            return None


_redis: dict[str, RedisStore] = {}  # one client (and its connection pool) per URL and process


def store(engine: Engine, redis_url: str = "") -> DatabaseStore | RedisStore:
    """The store for short-lived shared values: Redis when GCC_REDIS_URL is set, else the database."""
    if not redis_url:
        return DatabaseStore(engine)
    found = _redis.get(redis_url)
    if found is None:
        found = _redis[redis_url] = RedisStore(redis_url)
    return found
