"""/api/v1: the JSON REST API of the intake. Read the route table top to bottom; the OpenAPI
document at /api/v1/openapi.json is generated from it (dashboard.api.openapi)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, url_for

from dashboard import labels
from dashboard.api import clients, uploads
from dashboard.api.errors import ApiError
from dashboard.api.openapi import Api
from dashboard.api.schemas import (
    ActionOut,
    CategoryOut,
    PublicStatusOut,
    SubmittedOut,
    TicketDetailOut,
    TicketPageOut,
    TicketQuery,
    categories,
    public_status,
    ticket_out,
)
from dashboard.common.context import db as _db
from dashboard.common.context import settings as _settings
from data import duplicates, intake
from data.access import Viewer
from data.intake import Action, RatingIn, Report
from data.read.ticket_filter import TicketFilter
from data.read.ticket_records import record_for_token, ticket_record, ticket_records

blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")
api = Api(
    blueprint,
    "/api/v1",
    title="Grid Command Center (网格治理指挥中心) intake API",
    version="1.0",
    description="Reports in, tickets out. POST needs an API key (X-Api-Key header or api_key parameter); "
    'GET accepts a key or a login session. Every 4xx answer is {"error": code, "detail": ...}.',
)


@blueprint.before_request
def _upload_limits():
    uploads.allow_upload_size()


@blueprint.get("/openapi.json")
def openapi_document():
    doc = current_app.extensions.get("gcc_openapi")
    if doc is None:
        doc = current_app.extensions["gcc_openapi"] = api.document(_settings())
    return jsonify(doc)


@api.operation("get", "/categories", summary="Sub-categories (小类) a report may name", responses={200: [CategoryOut]})
def list_categories():
    with _db().reader() as session:
        return jsonify([c.model_dump(mode="json") for c in categories(session)])


@api.operation(
    "post",
    "/tickets",
    summary="Report a problem (creates a ticket, or adds a repeated IoT alarm to its open ticket)",
    body=Report,
    multipart=True,
    auth="required",
    idempotent=True,
    responses={201: SubmittedOut, 200: SubmittedOut},
    errors=(409,),
    tags=["tickets"],
)
def create_ticket(client, body: Report, photos):
    outcome = intake.submit(_db(), _settings(), clients.caller(client), body, uploads=photos)
    return submitted(outcome)


def submitted(outcome: intake.Outcome, status: int | None = None):
    """The answer to a report, shared with the /report page."""
    with _db().reader() as session:
        ticket = record_for_token(session, Viewer(role="resident", ticket_token=outcome.token), outcome.token)
        body = SubmittedOut(
            ticket_id=outcome.ticket_id,
            token=outcome.token,
            status_url=url_for("phone.status_page", token=outcome.token),
            created=outcome.created,
            repeat_alarm=outcome.repeat_alarm,
            replayed=outcome.replayed,
            duplicates=outcome.duplicates,
            notices=labels.notices_text(outcome.notices),
            ticket=public_status(ticket),
        )
    response = jsonify(body.model_dump(mode="json"))
    response.status_code = status or (201 if outcome.created else 200)
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@api.operation(
    "get",
    "/tickets",
    summary="Tickets visible to the client, newest first, with cursor pagination",
    query=TicketQuery,
    auth="optional",
    responses={200: TicketPageOut},
    tags=["tickets"],
)
def list_tickets(query: TicketQuery):
    viewer = clients.require_staff("tickets")
    cursor = int(query.cursor) if query.cursor else None
    if cursor is not None and cursor > 2**63 - 1:
        raise ApiError(422, "invalid_request", "bad cursor")
    wanted = TicketFilter(
        statuses=tuple(query.status.split(",")) if query.status else None,
        open=query.open,
        source=query.source,
        category_codes=(query.category,) if query.category else None,
        grid_codes=(query.grid,) if query.grid else None,
        created_after=query.created_after,
        created_before=query.created_before,
        updated_after=query.updated_after,
        before_id=cursor,
    )
    with _db().reader() as session:
        rows = ticket_records(session, viewer, wanted, order="id_desc", limit=query.limit + 1)
    page, more = rows[: query.limit], len(rows) > query.limit
    body = TicketPageOut(items=[ticket_out(viewer, t) for t in page], next_cursor=str(page[-1].id) if more else None)
    return jsonify(body.model_dump(mode="json"))


@api.operation(
    "get",
    "/tickets/{ticket_id}",
    summary="One ticket with its history and duplicate suggestions",
    auth="optional",
    responses={200: TicketDetailOut},
    tags=["tickets"],
)
def get_ticket(ticket_id: int):
    viewer = clients.require_staff("tickets")
    with _db().reader() as session:
        ticket = ticket_record(session, viewer, ticket_id)
        candidates = duplicates.suggestions_for(session, viewer, ticket_id)
    return jsonify(ticket_out(viewer, ticket, candidates).model_dump(mode="json"))


@api.operation(
    "post",
    "/tickets/{ticket_id}/actions",
    summary="Perform a workflow action or post an update (comment), checked by the state machine",
    body=Action,
    multipart=True,
    auth="required",
    idempotent=True,
    responses={200: ActionOut},
    errors=(403, 409),
    tags=["tickets"],
)
def post_action(ticket_id: int, client, body: Action, photos):
    outcome = intake.act(_db(), _settings(), clients.caller(client), ticket_id, body, uploads=photos)
    return action_answer(outcome)


@api.operation(
    "post",
    "/tickets/{ticket_id}/rating",
    summary="Rate a closed ticket (满意/基本满意/不满意); unsatisfied may ask to reopen",
    body=RatingIn,
    auth="required",
    idempotent=True,
    responses={200: ActionOut},
    errors=(403, 409),
    tags=["tickets"],
)
def post_rating(ticket_id: int, client, body: RatingIn):
    outcome = intake.rate(_db(), _settings(), clients.caller(client), ticket_id, body)
    return action_answer(outcome)


def action_answer(outcome: intake.Outcome):
    status = intake.current_status(_db(), outcome.ticket_id)
    body = ActionOut(
        ticket_id=outcome.ticket_id,
        event_id=outcome.event_id,
        status=status,
        status_label=labels.status_label(status),
        replayed=outcome.replayed,
    )
    response = jsonify(body.model_dump(mode="json"))
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@api.operation(
    "get",
    "/status/{token}",
    summary="A ticket's public status by its token (the JSON twin of /t/<token>)",
    responses={200: PublicStatusOut},
    tags=["public"],
)
def get_status(token: str):
    with _db().reader() as session:
        ticket = record_for_token(session, Viewer(role="resident", ticket_token=token), token)
    if ticket is None:
        raise ApiError(404, "not_found", "no ticket has this token")
    return jsonify(public_status(ticket).model_dump(mode="json"))
