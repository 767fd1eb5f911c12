"""A report becomes a ticket: validate (data.intake.models.Report) → convert the point to WGS84 →
place it in a grid → create the ticket through data.workflow → suggest duplicates → remember the
Idempotency-Key. IoT alarms repeated by one device within a window update its open ticket
instead (data.intake.iot)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import duplicates, idempotency, photos, workflow
from data.clock import utcnow
from data.db import Database
from data.intake import iot
from data.intake.models import Report
from data.intake.transaction import (
    Caller,
    IntakeError,
    Outcome,
    PhotoFiles,
    check_photo_count,
    notice,
    run,
    wgs84_point,
)
from data.locate import locator
from data.models import Category, Ticket
from data.settings import Settings


@dataclass(frozen=True)
class ReportJob:
    """One validated report on its way in: the report, its channel, its WGS84 point, its photos,
    when it arrived and who sent it."""

    report: Report
    source: str
    lon: float | None
    lat: float | None
    uploads: tuple[photos.CleanPhoto, ...]
    at: datetime
    caller: Caller


def submit(
    db: Database,
    settings: Settings,
    caller: Caller,
    report: Report,
    *,
    uploads: list[photos.CleanPhoto] | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Turn a validated report into a ticket (or into an update of an IoT alarm's open ticket)."""
    uploads = list(uploads or [])
    check_photo_count(settings, uploads, "report")
    source = report.source or caller.default_source
    if source == "iot" and not (report.device_id and report.alarm_type):
        raise IntakeError("iot_needs_device", "an IoT alarm (source iot) needs device_id and alarm_type")
    lon, lat = wgs84_point(report.lon, report.lat, report.coord_system)
    job = ReportJob(report, source, lon, lat, tuple(uploads), now or utcnow(), caller)
    print_ = idempotency.fingerprint(
        "report", report.model_dump(mode="json"), source, [p.upload_sha256 for p in uploads]
    )
    return run(db, settings, caller, "report", print_, lambda session, files: _take(session, settings, files, job))


def _take(session: Session, settings: Settings, files: PhotoFiles, job: ReportJob) -> Outcome:
    category = resolve_category(session, settings, job.report, job.source)
    external_id = job.report.external_id
    if external_id and session.scalar(
        # Unique per channel among the tickets made here (system NULL; data.models.Ticket).
        select(Ticket.id).where(
            Ticket.system.is_(None), Ticket.source == job.source, Ticket.external_id == external_id
        )
    ):
        raise IntakeError(
            "external_id_taken",
            f"a {job.source} ticket with external_id {external_id!r} exists already",
            kind="conflict",
        )
    if job.source != "iot":
        return _create(session, settings, files, job, category)
    # Locked until commit: a concurrent alarm of the device waits here, then sees our result.
    alarm = iot.lock_state(session, job.report)
    repeat = iot.repeat(session, settings, job.caller.viewer, job.report, alarm, job.at)
    if repeat is not None:
        return repeat
    outcome = _create(session, settings, files, job, category)
    iot.remember(session, job.report, alarm, outcome.ticket_id, job.at)
    return outcome


def resolve_category(session: Session, settings: Settings, report: Report, source: str) -> Category:
    code = report.category
    if code is None and report.alarm_type:
        code = iot.category_code(settings, report)
    if code is None:
        raise IntakeError("category_required", "category is required (a sub-category code from /api/v1/categories)")
    category = session.scalars(select(Category).where(Category.code == code)).first()
    if category is None or category.parent_id is None:
        raise IntakeError("unknown_category", f"{code!r} is not a sub-category (小类) code")
    return category


def _create(session: Session, settings: Settings, files: PhotoFiles, job: ReportJob, category: Category) -> Outcome:
    report = job.report
    placement = locator(session).place(job.lon, job.lat)
    found = duplicates.candidates(
        session,
        category_id=category.id,
        lon=job.lon,
        lat=job.lat,
        now=job.at,
        radius_m=settings.gcc_duplicate_radius_m,
        hours=settings.gcc_duplicate_hours,
    )
    refs = files.store(list(job.uploads))
    ticket = workflow.create(
        session,
        job.caller.viewer,
        workflow.Submission(
            source=job.source,
            category_id=category.id,
            description=report.description,
            lon=job.lon,
            lat=job.lat,
            placement=placement,
            address=report.address,
            priority=report.priority,
            photos=tuple(refs),
            reporter_name=report.reporter_name,
            reporter_phone=report.reporter_phone,
            external_id=report.external_id,
            at=job.at,
        ),
    )
    photos.record(session, ticket.id, "report", list(zip(refs, job.uploads, strict=True)))
    duplicates.remember(session, ticket.id, found, job.at)
    notices = []
    if found:
        notices.append(notice("possible_duplicate", radius_m=f"{settings.gcc_duplicate_radius_m:g}"))
    if placement.grid_id is None:
        notices.append(notice("outside_grids"))
    return Outcome(
        ticket_id=ticket.id,
        token=ticket.public_token,
        duplicates=[{"ticket_id": tid, "distance_m": m} for tid, m in found],
        notices=notices,
    )
