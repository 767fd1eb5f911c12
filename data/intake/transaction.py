"""What every intake operation shares: who calls (`Caller`), what it answers (`Outcome`), its
errors, and `run`: one write transaction that replays a repeated Idempotency-Key, retries when a
concurrent twin won a unique index, and removes the photo files of an attempt that failed."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from data import idempotency, photos
from data.access import Viewer
from data.db import Database
from data.errors import DomainError
from data.settings import Settings
from geo.coords import to_wgs84

TRIES = 5  # attempts of one submission against concurrent twins


class IntakeError(DomainError):
    """A refused submission (invalid by default; conflict when a twin exists)."""


@dataclass(frozen=True)
class Caller:
    """Who submits and how their repeats are recognised: the viewer acting, the client's
    idempotency scope ("key:<api key id>", "form:report", ...) and the key it sent, and the
    channel of its reports when a report names none."""

    viewer: Viewer
    scope: str = "anonymous"
    idempotency_key: str | None = None
    default_source: str = "resident"


@dataclass
class Outcome:
    ticket_id: int
    token: str
    created: bool = True  # False: an IoT alarm added to an open ticket, or a replay
    repeat_alarm: bool = False
    replayed: bool = False
    duplicates: list[dict] = field(default_factory=list)  # [{"ticket_id", "distance_m"}]
    notices: list[dict] = field(default_factory=list)  # notice(code, **values): words are the dashboard's
    event_id: int | None = None  # for actions


def notice(code: str, **values) -> dict:
    """Something the submitter should know, as a code and its values (JSON, so an idempotent replay
    returns it too). The words are the dashboard's: dashboard.labels "notice.<code>"."""
    return {"code": code, **values}


class PhotoFiles:
    """Photos stored by one attempt, so a failed attempt leaves no file behind."""

    def __init__(self, settings: Settings):
        self.settings, self.refs = settings, []

    def store(self, uploads: list[photos.CleanPhoto]) -> list[str]:
        for upload in uploads:
            self.refs.append(photos.store(self.settings, upload))
        return self.refs[-len(uploads) :] if uploads else []

    def discard(self) -> None:
        photos.discard(self.settings, self.refs)


def wgs84_point(lon: float | None, lat: float | None, system: str) -> tuple[float | None, float | None]:
    if lon is None or lat is None:
        return None, None
    x, y = to_wgs84(lon, lat, system)
    x, y = float(x), float(y)
    if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        raise IntakeError("bad_location", f"({lon}, {lat}) in {system} is not a point on Earth")
    return round(x, 7), round(y, 7)


def check_photo_count(settings: Settings, uploads: list, what: str) -> None:
    if len(uploads) > settings.gcc_photos_per_ticket:
        raise IntakeError("too_many_photos", f"at most {settings.gcc_photos_per_ticket} photos per {what}")


def run(
    db: Database,
    settings: Settings,
    caller: Caller,
    operation: str,
    print_: str,
    work: Callable[[Session, PhotoFiles], Outcome],
) -> Outcome:
    """Run `work(session, files)` once per idempotency key in a write transaction.

    A replay of the same request returns the first outcome; the same key with another request is
    IdempotencyConflict. A unique-index conflict means a concurrent twin won (same key, same IoT
    device, same external id): try again and find its result. PostgreSQL deadlock victims are
    retried too (nothing was written)."""
    key = idempotency.check_key(caller.idempotency_key)
    for tries in range(TRIES):
        files = PhotoFiles(settings)
        try:
            with db.session() as session:
                return _once(session, files, caller.scope, key, operation, print_, work)
        except (IntegrityError, OperationalError) as exc:
            files.discard()
            if isinstance(exc, OperationalError) and not _deadlock(exc):
                raise
            if tries == TRIES - 1:
                raise IntakeError(
                    "conflict", "a concurrent request changed the same data; try again", kind="conflict"
                ) from None
        except BaseException:
            files.discard()
            raise
    raise AssertionError("unreachable")


def _once(
    session: Session, files: PhotoFiles, scope: str, key: str | None, operation: str, print_: str, work
) -> Outcome:
    record = None
    if key:
        prior = idempotency.replay(session, scope, key, operation, print_)
        if prior is not None:
            return Outcome(**{**prior.result, "replayed": True, "created": False})
        record = idempotency.claim(session, scope, key, operation, print_)
    outcome = work(session, files)
    if record is not None:
        record.ticket_id = outcome.ticket_id
        record.result = asdict(outcome)
    return outcome


def _deadlock(exc: OperationalError) -> bool:
    """PostgreSQL chose this transaction as a deadlock's victim (or a serialisation failure):
    nothing was written, and running it again is the documented remedy."""
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")
