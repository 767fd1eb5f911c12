"""Idempotency-Key: a client retrying a POST (a lost answer, a double tap) gets the first result,
not a second ticket. Same key and same request → the stored result; same key and a different
request → IdempotencyConflict (HTTP 422).

`claim` runs first inside the request's own transaction and inserts the key; the unique
(scope, key) index makes a concurrent twin wait for that transaction and then fail with an
IntegrityError, after which the caller reads the winner's record with `replay`. On SQLite the
write transaction is BEGIN IMMEDIATE, so twins are serialised before they even look.
"""

from __future__ import annotations

import hashlib
import json
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.clock import utcnow
from data.errors import DomainError
from data.intake_tables import IdempotencyRecord

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


class IdempotencyConflict(DomainError):
    """The key was used before with a different request."""

    def __init__(self, message: str):
        super().__init__("idempotency_key_reused", message)


class BadIdempotencyKey(DomainError):
    kind = "bad_request"

    def __init__(self, message: str):
        super().__init__("bad_idempotency_key", message)


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not KEY_PATTERN.match(key):
        raise BadIdempotencyKey("Idempotency-Key must be 1 to 255 printable ASCII characters without spaces")
    return key


def fingerprint(*parts) -> str:
    """A stable hash of a request: JSON-able parts (the validated body, photo hashes...)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def replay(session: Session, scope: str, key: str, operation: str, print_: str) -> IdempotencyRecord | None:
    """The stored record for this key, or None. IdempotencyConflict if it was a different request."""
    record = session.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    ).first()
    if record is None:
        return None
    if record.operation != operation or record.fingerprint != print_:
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was already used with a different request; use a new key for a new request"
        )
    return record


def claim(session: Session, scope: str, key: str, operation: str, print_: str) -> IdempotencyRecord:
    """Insert the key for this request (flushes: a concurrent twin blocks here or fails)."""
    record = IdempotencyRecord(
        scope=scope, key=key, operation=operation, fingerprint=print_, result={}, created_at=utcnow()
    )
    session.add(record)
    session.flush()
    return record


def prune(session: Session, older_than) -> int:
    """Forget keys recorded before `older_than` (an aware datetime); returns how many. A retry
    after that is a new request. For a daily job: records are one row per keyed POST."""
    from sqlalchemy import delete

    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < older_than))
    return result.rowcount or 0
