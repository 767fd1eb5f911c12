"""/t/<token>: one ticket's public status (timeline without staff names or internal notes) and,
once it is closed, the resident's rating form (不满意 asks whether to reopen)."""

from __future__ import annotations

from flask import current_app, jsonify, render_template

from dashboard.api import uploads
from dashboard.api.errors import ApiError
from dashboard.api.schemas import public_status
from dashboard.phone import blueprint, csrf, limits
from data import intake, workflow
from data.access import Viewer
from data.clock import zone
from data.intake import RatingIn
from data.models import Ticket


def _ticket_id(token: str) -> int:
    with current_app.extensions["gcc_db"].reader() as session:
        ticket_id = intake.ticket_id_for_token(session, token)
    if ticket_id is None:
        raise ApiError(404, "not_found", "no ticket has this token")
    return ticket_id


@blueprint.get("/t/<token>")
def status_page(token: str):
    ticket_id = _ticket_id(token)
    with current_app.extensions["gcc_db"].reader() as session:
        status = public_status(session, session.get(Ticket, ticket_id))
    tz = zone(current_app.extensions["gcc_settings"].gcc_timezone)
    return render_template("phone/status.html", s=status, tz=tz, csrf_token=csrf.token())


@blueprint.post("/t/<token>/rate")
def rate(token: str):
    csrf.check()
    limits.check_anonymous()
    ticket_id = _ticket_id(token)
    fields = uploads.fields(ignore=(csrf.FIELD,))
    fields["reopen"] = fields.get("reopen") in ("1", "true", "on", True)
    rating = RatingIn.model_validate({**fields, "token": token})
    outcome = intake.rate(
        current_app.extensions["gcc_db"],
        current_app.extensions["gcc_settings"],
        Viewer(role="resident", ticket_token=token, name="居民"),
        ticket_id,
        rating,
    )
    with current_app.extensions["gcc_db"].reader() as session:
        ticket = session.get(Ticket, outcome.ticket_id)
        return jsonify(
            {"ticket_id": ticket.id, "status": ticket.status, "status_label": workflow.STATUS_LABELS[ticket.status]}
        )
