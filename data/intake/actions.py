"""Actions and ratings on existing tickets, from the API, the phone pages and the desk: the
transport model becomes a data.workflow.ActionInput inside one retried, idempotent transaction
(data.intake.transaction.run), photos stored with it."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import idempotency, photos, workflow
from data.access import Viewer
from data.clock import utcnow
from data.db import Database
from data.intake.models import Action, RatingIn
from data.intake.transaction import Caller, IntakeError, Outcome, PhotoFiles, check_photo_count, run, wgs84_point
from data.locate import locator
from data.models import Ticket
from data.settings import Settings


def act(
    db: Database,
    settings: Settings,
    caller: Caller,
    ticket_id: int,
    action: Action,
    *,
    uploads: list[photos.CleanPhoto] | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Apply one workflow action as the caller's viewer (photos go with handle feedback and
    comments). Raises WorkflowError / AccessDenied / IntakeError; on any, nothing is kept."""
    uploads = list(uploads or [])
    check_photo_count(settings, uploads, "action")
    if (action.lon is None) != (action.lat is None):
        raise IntakeError("bad_location", "give both lon and lat, or neither")
    lon, lat = wgs84_point(action.lon, action.lat, action.coord_system)
    at = now or utcnow()
    print_ = idempotency.fingerprint(
        "action", ticket_id, action.model_dump(mode="json"), [p.upload_sha256 for p in uploads]
    )

    def work(session: Session, files: PhotoFiles) -> Outcome:
        refs = files.store(uploads)
        inp = workflow.ActionInput(
            action.action,
            note=action.note,
            photos=tuple(refs),
            assignee_staff_id=action.assignee_staff_id,
            assignee_org_id=action.assignee_org_id,
            duplicate_of=action.duplicate_of,
            placement=locator(session).place(lon, lat) if lon is not None else None,
            lon=lon,
            lat=lat,
            at=at,
        )
        event = workflow.apply(session, caller.viewer, ticket_id, inp)
        stage = "result" if action.action == "handle" else "update"
        photos.record(session, ticket_id, stage, list(zip(refs, uploads, strict=True)))
        return Outcome(ticket_id=ticket_id, token=_token(session, ticket_id), created=False, event_id=event.id)

    return run(db, settings, caller, "action", print_, work)


def rate(
    db: Database,
    settings: Settings,
    caller: Caller,
    ticket_id: int,
    rating: RatingIn,
    *,
    now: datetime | None = None,
) -> Outcome:
    """Rate a closed ticket (as the resident when `rating.token` is given) and reopen it if asked."""
    viewer = Viewer(role="resident", ticket_token=rating.token) if rating.token else caller.viewer
    at = now or utcnow()
    print_ = idempotency.fingerprint("rating", ticket_id, rating.model_dump(mode="json"))

    def work(session: Session, files: PhotoFiles) -> Outcome:
        given = workflow.ActionInput("rate", rating=rating.rating, note=rating.comment, at=at)
        event = workflow.apply(session, viewer, ticket_id, given)
        if rating.reopen:
            event = workflow.apply(
                session, viewer, ticket_id, workflow.ActionInput("reopen", note=rating.comment, at=at)
            )
        return Outcome(ticket_id=ticket_id, token=_token(session, ticket_id), created=False, event_id=event.id)

    return run(db, settings, caller, "rating", print_, work)


def _token(session: Session, ticket_id: int) -> str:
    return session.scalar(select(Ticket.public_token).where(Ticket.id == ticket_id))


def current_status(db, ticket_id: int) -> str | None:
    """The ticket's status now (what an action's answer reports; a replayed answer too)."""
    with db.reader() as session:
        return session.scalar(select(Ticket.status).where(Ticket.id == ticket_id))


def ticket_id_for_token(session: Session, token: str) -> int | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", token or ""):
        return None
    return session.scalar(select(Ticket.id).where(Ticket.public_token == token))
