"""The intake: one path from a report to a ticket, shared by /api/v1, /open311/v2 and the /report
page — validate (the `Report` model, which also writes the OpenAPI document) → convert the point
to WGS84 → place it in a grid → create the ticket through data.workflow → suggest duplicates →
remember the Idempotency-Key. IoT alarms repeated by one device within a window update its open
ticket instead of opening another. Ticket actions and ratings with photos and idempotency go
through here too, so every way in behaves the same.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from data import duplicates, idempotency, photos, workflow
from data.access import Viewer
from data.clock import utcnow
from data.db import Database
from data.demo.reference import SOURCE_LABELS
from data.errors import DomainError
from data.intake_tables import IotAlarmState
from data.locate import locator
from data.models import OPEN_STATUSES, RATINGS, Category, Ticket
from data.settings import Settings
from geo.coords import to_wgs84

SOURCES = tuple(SOURCE_LABELS)
COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")
# Text a person typed: any character but control characters (NUL breaks PostgreSQL; the rest
# breaks displays and logs). Also written into the OpenAPI document as the fields' pattern.
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
LINE = r"^[^\x00-\x1f\x7f]*$"
MAX_ID = 2**31 - 1
TRIES = 5  # attempts of one submission against concurrent twins (see _with_retries)


class Report(BaseModel):
    """A new report (上报). Either `category` or, for an IoT alarm, `alarm_type` names what it is."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="Report")

    category: str | None = Field(
        None,
        pattern=r"^[0-9A-Za-z_.-]{1,32}$",
        description="Sub-category (小类) code: see GET /api/v1/categories.",
        examples=["0101"],
    )
    description: str = Field("", max_length=2000, pattern=TEXT, description="What is wrong, in the reporter's words.")
    lon: float | None = Field(
        None, ge=-180, le=180, allow_inf_nan=False, description="Longitude in `coord_system`.", examples=[115.41]
    )
    lat: float | None = Field(
        None, ge=-90, le=90, allow_inf_nan=False, description="Latitude in `coord_system`.", examples=[25.96]
    )
    coord_system: Literal["wgs84", "gcj02", "bd09"] = Field(
        "wgs84", description="wgs84 (GPS), gcj02 (AMap/Tencent/WeChat), bd09 (Baidu); stored as WGS84."
    )
    address: str | None = Field(None, max_length=255, pattern=LINE, description="Address as the reporter gave it.")
    source: Literal["resident", "patrol", "hotline", "iot", "leader", "import"] | None = Field(
        None, description="Channel (渠道); default: the API key's source."
    )
    priority: int = Field(2, ge=1, le=3, description="1 urgent, 2 normal, 3 low.")
    reporter_name: str | None = Field(None, max_length=64, pattern=LINE)
    reporter_phone: str | None = Field(None, pattern=r"^\+?[0-9][0-9 -]{2,19}$")
    external_id: str | None = Field(
        None, pattern=r"^[\x21-\x7e]{1,128}$", description="The caller's own id (unique per source)."
    )
    device_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="IoT device (source iot).")
    alarm_type: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="IoT alarm type.")

    @model_validator(mode="after")
    def _point_is_whole(self):
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        return self


class IntakeError(DomainError):
    """A refused submission (invalid by default; conflict when a twin exists)."""


@dataclass
class Outcome:
    ticket_id: int
    token: str
    created: bool = True  # False: an IoT alarm added to an open ticket, or a replay
    repeat_alarm: bool = False
    replayed: bool = False
    duplicates: list[dict] = field(default_factory=list)  # [{"ticket_id", "distance_m"}]
    notices: list[str] = field(default_factory=list)
    event_id: int | None = None  # for actions


def wgs84_point(lon: float | None, lat: float | None, system: str) -> tuple[float | None, float | None]:
    if lon is None or lat is None:
        return None, None
    x, y = to_wgs84(lon, lat, system)
    x, y = float(x), float(y)
    if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        raise IntakeError("bad_location", f"({lon}, {lat}) in {system} is not a point on Earth")
    return round(x, 7), round(y, 7)


# ----------------------------------------------------------------------------------------------
# Reports.


def submit(
    db: Database,
    settings: Settings,
    report: Report,
    *,
    actor: Viewer,
    default_source: str = "resident",
    uploads: list[photos.CleanPhoto] | None = None,
    scope: str = "anonymous",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Turn a validated report into a ticket (or into an update of an IoT alarm's open ticket)."""
    uploads = list(uploads or [])
    if len(uploads) > settings.gcc_photos_per_ticket:
        raise IntakeError("too_many_photos", f"at most {settings.gcc_photos_per_ticket} photos per report")
    source = report.source or default_source
    if source == "iot" and not (report.device_id and report.alarm_type):
        raise IntakeError("iot_needs_device", "an IoT alarm (source iot) needs device_id and alarm_type")
    lon, lat = wgs84_point(report.lon, report.lat, report.coord_system)
    key = idempotency.check_key(idempotency_key)
    print_ = idempotency.fingerprint(
        "report", report.model_dump(mode="json"), source, [p.upload_sha256 for p in uploads]
    )
    return _with_retries(
        db,
        settings,
        lambda session, written: _submit_once(
            session, settings, report, actor, source, lon, lat, uploads, scope, key, print_, now or utcnow(), written
        ),
    )


def _with_retries(db: Database, settings: Settings, attempt) -> Outcome:
    """Run `attempt(session, written_refs)` in a write transaction. A unique-index conflict means a
    concurrent twin won (same Idempotency-Key, same IoT device, same external id): try again and
    find its result. Photo files of a failed attempt are removed."""
    for tries in range(TRIES):
        written: list[str] = []
        try:
            with db.session() as session:
                return attempt(session, written)
        except (IntegrityError, OperationalError) as exc:
            photos.discard(settings, written)
            if isinstance(exc, OperationalError) and not _deadlock(exc):
                raise
            if tries == TRIES - 1:
                raise IntakeError(
                    "conflict", "a concurrent request changed the same data; try again", kind="conflict"
                ) from None
        except BaseException:
            photos.discard(settings, written)
            raise
    raise AssertionError("unreachable")


def _deadlock(exc: OperationalError) -> bool:
    """PostgreSQL chose this transaction as a deadlock's victim (or a serialisation failure):
    nothing was written, and running it again is the documented remedy."""
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


def _once_per_key(session, scope: str, key: str | None, operation: str, print_: str, work) -> Outcome:
    """Run `work()` once per idempotency key: a replay of the same request returns the first
    outcome; without a key, `work()` just runs."""
    record = None
    if key:
        prior = idempotency.replay(session, scope, key, operation, print_)
        if prior is not None:
            return Outcome(**{**prior.result, "replayed": True, "created": False})
        record = idempotency.claim(session, scope, key, operation, print_)
    outcome = work()
    if record is not None:
        record.ticket_id = outcome.ticket_id
        record.result = asdict(outcome)
    return outcome


def _submit_once(session, settings, report, actor, source, lon, lat, uploads, scope, key, print_, now, written):
    return _once_per_key(
        session,
        scope,
        key,
        "report",
        print_,
        lambda: _submit(session, settings, report, actor, source, lon, lat, uploads, now, written),
    )


def _submit(session, settings, report, actor, source, lon, lat, uploads, now, written) -> Outcome:
    category = resolve_category(session, settings, report, source)
    if report.external_id and session.scalar(
        select(Ticket.id).where(Ticket.source == source, Ticket.external_id == report.external_id)
    ):
        raise IntakeError(
            "external_id_taken", f"a {source} ticket with external_id {report.external_id!r} exists already",
            kind="conflict",
        )
    outcome = alarm = None
    if source == "iot":
        # Locked until commit: a concurrent alarm of the device waits here, then sees our result.
        alarm = session.get(IotAlarmState, (report.device_id, report.alarm_type), with_for_update=True)
        outcome = _repeat_alarm(session, settings, report, actor, alarm, now)
    if outcome is None:
        outcome = _create(session, settings, report, actor, source, category, lon, lat, uploads, now, written)
        if source == "iot":
            _remember_alarm(session, report, alarm, outcome.ticket_id, now)
    return outcome


def resolve_category(session: Session, settings: Settings, report: Report, source: str) -> Category:
    code = report.category
    if code is None and report.alarm_type:
        table = settings.gcc_iot_alarm_categories
        code = table.get(f"{report.device_id}/{report.alarm_type}") or table.get(report.alarm_type)
        if code is None:
            raise IntakeError("unknown_alarm_type", f"alarm type {report.alarm_type!r} is not in the alarm table")
    if code is None:
        raise IntakeError("category_required", "category is required (a sub-category code from /api/v1/categories)")
    category = session.scalars(select(Category).where(Category.code == code)).first()
    if category is None or category.parent_id is None:
        raise IntakeError("unknown_category", f"{code!r} is not a sub-category (小类) code")
    return category


def _create(session, settings, report, actor, source, category, lon, lat, uploads, now, written) -> Outcome:
    placement = locator(session).place(lon, lat)
    found = duplicates.candidates(
        session,
        category_id=category.id,
        lon=lon,
        lat=lat,
        now=now,
        radius_m=settings.gcc_duplicate_radius_m,
        hours=settings.gcc_duplicate_hours,
    )
    refs = []
    for upload in uploads:
        refs.append(photos.store(settings, upload))
        written.append(refs[-1])
    ticket = workflow.create_ticket(
        session,
        actor,
        source=source,
        category_id=category.id,
        description=report.description,
        lon=lon,
        lat=lat,
        placement=placement,
        address=report.address,
        priority=report.priority,
        photos=refs,
        reporter_name=report.reporter_name,
        reporter_phone=report.reporter_phone,
        external_id=report.external_id,
        at=now,
    )
    photos.record(session, ticket.id, "report", list(zip(refs, uploads, strict=True)))
    duplicates.remember(session, ticket.id, found, now)
    notices = []
    if found:
        notices.append(f"附近 {settings.gcc_duplicate_radius_m:g} 米内已有同类工单在办，可能是重复上报")
    if placement.grid_id is None:
        notices.append("位置不在任何网格内，工单进入待分配队列")
    return Outcome(
        ticket_id=ticket.id,
        token=ticket.public_token,
        duplicates=[{"ticket_id": tid, "distance_m": m} for tid, m in found],
        notices=notices,
    )


# ----------------------------------------------------------------------------------------------
# IoT alarms.


def _repeat_alarm(session, settings, report, actor, state, now) -> Outcome | None:
    """If this device's alarm of this type opened a ticket that is still open and last alarmed
    less than the window ago, add the alarm to it (a comment event) and return it."""
    if state is None or now - state.last_at > timedelta(minutes=settings.gcc_iot_repeat_minutes):
        return None
    ticket = session.get(Ticket, state.ticket_id)
    if ticket is None or ticket.status not in OPEN_STATUSES:
        return None
    state.alarms += 1
    state.last_at = now
    note = f"设备 {report.device_id} 再次告警（{report.alarm_type}，第 {state.alarms} 次）"
    if report.description:
        note += f"：{report.description}"
    event = workflow.apply(session, Viewer.system(actor.name or "物联感知"), ticket.id, "comment", note=note, at=now)
    return Outcome(
        ticket_id=ticket.id,
        token=ticket.public_token,
        created=False,
        repeat_alarm=True,
        event_id=event.id,
        notices=[f"同一设备的重复告警已并入工单 {ticket.id}（第 {state.alarms} 次）"],
    )


def _remember_alarm(session, report, state, ticket_id, now) -> None:
    """Point the device's alarm at its new ticket. `state` is the row read (and locked) before
    the ticket was made; None means there was none, and a concurrent first alarm that inserts it
    first makes our insert fail, so the whole submission retries and finds that alarm's ticket
    (in READ COMMITTED a second read here could already see the other one's row: never re-read)."""
    if state is None:
        session.add(
            IotAlarmState(
                device_id=report.device_id,
                alarm_type=report.alarm_type,
                ticket_id=ticket_id,
                first_at=now,
                last_at=now,
                alarms=1,
            )
        )
    else:
        state.ticket_id, state.first_at, state.last_at, state.alarms = ticket_id, now, now, 1
    session.flush()  # a concurrent first alarm of the same device fails here and retries


# ----------------------------------------------------------------------------------------------
# Actions and ratings on existing tickets.


class Action(BaseModel):
    """A state transition or an update (`comment`) on a ticket, checked by the state machine."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="Action")

    action: Literal[tuple(workflow.TRANSITIONS)] = Field(  # type: ignore[valid-type]
        description="Workflow action, e.g. accept, dispatch, respond, handle, verify_close, comment, mark_duplicate."
    )
    note: str | None = Field(None, max_length=2000, pattern=TEXT, description="Reason, result or comment text.")
    assignee_staff_id: int | None = Field(None, ge=1, le=MAX_ID)
    assignee_org_id: int | None = Field(None, ge=1, le=MAX_ID)
    duplicate_of: int | None = Field(None, ge=1, le=2**63 - 1, description="The original ticket (mark_duplicate).")
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False, description="New point (relocate).")
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    coord_system: Literal["wgs84", "gcj02", "bd09"] = "wgs84"


class RatingIn(BaseModel):
    """The resident's evaluation of a closed ticket; `reopen` (only with unsatisfied) sends it back."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="Rating")

    rating: Literal["satisfied", "basic", "unsatisfied"] = Field(description="满意 / 基本满意 / 不满意")
    comment: str | None = Field(None, max_length=1000, pattern=TEXT)
    reopen: bool = Field(False, description="Ask for the ticket to be handled again (unsatisfied only).")
    token: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{8,64}$", description="The ticket's public token: rate as its resident."
    )

    @model_validator(mode="after")
    def _reopen_only_unsatisfied(self):
        if self.reopen and self.rating != "unsatisfied":
            raise ValueError("reopen is possible only with rating unsatisfied (不满意)")
        return self


def act(
    db: Database,
    settings: Settings,
    viewer: Viewer,
    ticket_id: int,
    action: Action,
    *,
    uploads: list[photos.CleanPhoto] | None = None,
    scope: str = "anonymous",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Apply one workflow action as `viewer` (photos go with handle feedback and comments).
    Raises workflow.WorkflowError / access.AccessDenied / IntakeError; on any, nothing is kept."""
    uploads = list(uploads or [])
    if len(uploads) > settings.gcc_photos_per_ticket:
        raise IntakeError("too_many_photos", f"at most {settings.gcc_photos_per_ticket} photos per action")
    if (action.lon is None) != (action.lat is None):
        raise IntakeError("bad_location", "give both lon and lat, or neither")
    lon, lat = wgs84_point(action.lon, action.lat, action.coord_system)
    key = idempotency.check_key(idempotency_key)
    print_ = idempotency.fingerprint(
        "action", ticket_id, action.model_dump(mode="json"), [p.upload_sha256 for p in uploads]
    )

    def once(session, written):
        return _once_per_key(session, scope, key, "action", print_, lambda: act(session, written))

    def act(session, written):
        refs = []
        for upload in uploads:
            refs.append(photos.store(settings, upload))
            written.append(refs[-1])
        placement = locator(session).place(lon, lat) if lon is not None else None
        event = workflow.apply(
            session,
            viewer,
            ticket_id,
            action.action,
            note=action.note,
            photos=refs,
            assignee_staff_id=action.assignee_staff_id,
            assignee_org_id=action.assignee_org_id,
            duplicate_of=action.duplicate_of,
            placement=placement,
            lon=lon,
            lat=lat,
            at=now or utcnow(),
        )
        stage = "result" if action.action == "handle" else "update"
        photos.record(session, ticket_id, stage, list(zip(refs, uploads, strict=True)))
        ticket = session.get(Ticket, ticket_id)
        return Outcome(ticket_id=ticket_id, token=ticket.public_token, created=False, event_id=event.id)

    return _with_retries(db, settings, once)


def rate(
    db: Database,
    settings: Settings,
    viewer: Viewer,
    ticket_id: int,
    rating: RatingIn,
    *,
    scope: str = "anonymous",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Rate a closed ticket (as the resident when `rating.token` is given) and reopen it if asked."""
    if rating.token:
        viewer = Viewer(role="resident", ticket_token=rating.token, name="居民")
    key = idempotency.check_key(idempotency_key)
    print_ = idempotency.fingerprint("rating", ticket_id, rating.model_dump(mode="json"))

    def once(session, written):
        return _once_per_key(session, scope, key, "rating", print_, lambda: rate_once(session))

    def rate_once(session):
        at = now or utcnow()
        event = workflow.apply(session, viewer, ticket_id, "rate", rating=rating.rating, note=rating.comment, at=at)
        if rating.reopen:
            event = workflow.apply(session, viewer, ticket_id, "reopen", note=rating.comment, at=at)
        ticket = session.get(Ticket, ticket_id)
        return Outcome(ticket_id=ticket_id, token=ticket.public_token, created=False, event_id=event.id)

    return _with_retries(db, settings, once)


def ticket_id_for_token(session: Session, token: str) -> int | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", token or ""):
        return None
    return session.scalar(select(Ticket.id).where(Ticket.public_token == token))


RATING_LABELS = RATINGS
