"""/t/<token>: one ticket's public status (timeline without staff names or internal notes) and,
once it is closed, the resident's rating form (不满意 asks whether to reopen)."""

from __future__ import annotations

from flask import jsonify, render_template

from dashboard import labels
from dashboard.api import uploads
from dashboard.api.errors import ApiError
from dashboard.api.schemas import public_status
from dashboard.auth import csrf
from dashboard.common import context
from dashboard.phone import blueprint, limits
from data import intake
from data.access import Viewer
from data.clock import zone
from data.intake import RatingIn
from data.models import Ticket
from data.read.ticket_records import record_for_token


def _ticket_id(token: str) -> int:
    with context.db().reader() as session:
        ticket_id = intake.ticket_id_for_token(session, token)
    if ticket_id is None:
        raise ApiError(404, "not_found", "no ticket has this token")
    return ticket_id


@blueprint.get("/t/<token>")
def status_page(token: str):
    with context.db().reader() as session:
        record = record_for_token(session, Viewer(role="resident", ticket_token=token), token)
    if record is None:
        raise ApiError(404, "not_found", "no ticket has this token")
    status = public_status(record)
    tz = zone(context.settings().gcc_timezone)
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
        context.db(),
        context.settings(),
        intake.Caller(Viewer(role="resident", ticket_token=token)),
        ticket_id,
        rating,
    )
    with context.db().reader() as session:
        ticket = session.get(Ticket, outcome.ticket_id)
        return jsonify(
            {"ticket_id": ticket.id, "status": ticket.status, "status_label": labels.status_label(ticket.status)}
        )
