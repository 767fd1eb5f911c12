"""API keys: a client of /api/v1 and /open311/v2 (the 12345 hotline system, an IoT platform, a
resident mini-program's backend). A key is 32 random bytes, so a plain SHA-256 is a safe way to
store it (nothing to brute-force); the key is shown once, when created.

A key carries a data.access role: `resident` (submit only; reads a ticket only through its public
token), `dispatcher` (reads and acts on the district, or on --region), `system` (a trusted system:
everything, personal data unmasked).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Viewer
from data.clock import utcnow
from data.demo.reference import SOURCE_LABELS
from data.errors import DomainError
from data.intake_tables import ApiKey
from data.models import Region

KEY_ROLES = ("resident", "dispatcher", "system")
PREFIX = "gcc_"
TOUCH_EVERY = timedelta(minutes=10)


class ApiKeyError(DomainError):
    """Bad API key input; the message says what to fix."""

    def __init__(self, message: str):
        super().__init__("bad_api_key", message)


@dataclass(frozen=True)
class ApiClient:
    """Who a valid key belongs to, and how it acts."""

    id: int
    name: str
    role: str
    source: str
    region_id: int | None
    stale: bool = False  # last use recorded long ago: record this one (apikeys.touch)

    @property
    def viewer(self) -> Viewer:
        return Viewer(role=self.role, region_id=self.region_id, name=self.name)

    @property
    def scope(self) -> str:
        """The namespace of this client's Idempotency-Keys."""
        return f"key:{self.id}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create(
    session: Session, name: str, *, role: str = "resident", source: str = "resident", region_code: str | None = None
) -> str:
    """Store a new key for `name` and return it (the only time it is readable)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise ApiKeyError("a key name must be 1 to 64 characters")
    if role not in KEY_ROLES:
        raise ApiKeyError(f"role must be one of {', '.join(KEY_ROLES)}")
    if source not in SOURCE_LABELS:
        raise ApiKeyError(f"source must be one of {', '.join(SOURCE_LABELS)}")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ApiKeyError(f"a key named {name!r} exists already (revoke it first, or choose another name)")
    region_id = None
    if region_code:
        region_id = session.scalar(select(Region.id).where(Region.code == region_code))
        if region_id is None:
            raise ApiKeyError(f"no region with code {region_code!r}")
    key = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            name=name,
            key_hash=hash_key(key),
            prefix=key[:10],
            role=role,
            source=source,
            region_id=region_id,
            created_at=utcnow(),
        )
    )
    session.flush()
    return key


def revoke(session: Session, name: str) -> bool:
    """Revoke the active key named `name`; False if there is none. The row stays (and keeps its
    name) so the history of who submitted what remains readable."""
    row = session.scalars(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))).first()
    if row is None:
        return False
    row.revoked_at = utcnow()
    row.name = f"{row.name}#revoked-{row.id}"[:64]  # frees the name for a replacement key
    return True


def listing(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.name)))


def authenticate(session: Session, key: str) -> ApiClient | None:
    """The client of an active key, or None."""
    if not key or len(key) > 200:
        return None
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    if row is None or row.revoked_at is not None:
        return None
    stale = row.last_used_at is None or utcnow() - row.last_used_at > TOUCH_EVERY
    return ApiClient(row.id, row.name, row.role, row.source, row.region_id, stale)


def touch(session: Session, client_id: int) -> None:
    """Record that a key was used (callers do it at most every TOUCH_EVERY: reads stay reads)."""
    row = session.get(ApiKey, client_id)
    if row is not None:
        row.last_used_at = utcnow()
