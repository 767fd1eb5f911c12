"""/api/v1: the JSON REST API of the intake. Read the route table top to bottom; the OpenAPI
document at /api/v1/openapi.json is generated from it (dashboard.api.openapi)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, url_for
from sqlalchemy import select

from dashboard.api import clients, uploads
from dashboard.api.errors import ApiError
from dashboard.api.openapi import Api
from dashboard.api.schemas import (
    ActionOut,
    CategoryOut,
    PublicStatusOut,
    Regions,
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
from data import intake, workflow
from data.access import Viewer, load_ticket, ticket_clause
from data.intake import Action, RatingIn, Report
from data.models import OPEN_STATUSES, Category, Region, Ticket

blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")
api = Api(
    blueprint,
    "/api/v1",
    title="网格治理指挥中心 intake API",
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
        doc = current_app.extensions["gcc_openapi"] = api.document()
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
def create_ticket():
    client = clients.require_client()
    report = Report.model_validate(uploads.fields())
    photos = uploads.cleaned_photos()
    outcome = intake.submit(
        _db(),
        _settings(),
        report,
        actor=client.viewer,
        default_source=client.source,
        uploads=photos,
        scope=client.scope,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return submitted(outcome)


def submitted(outcome: intake.Outcome, status: int | None = None):
    """The answer to a report, shared with the /report page."""
    with _db().reader() as session:
        ticket = session.get(Ticket, outcome.ticket_id)
        body = SubmittedOut(
            ticket_id=outcome.ticket_id,
            token=outcome.token,
            status_url=url_for("phone.status_page", token=outcome.token),
            created=outcome.created,
            repeat_alarm=outcome.repeat_alarm,
            replayed=outcome.replayed,
            duplicates=outcome.duplicates,
            notices=outcome.notices,
            ticket=public_status(session, ticket),
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
def list_tickets():
    viewer = clients.require_staff("tickets")
    args = request.args.to_dict(flat=True)
    args.pop("api_key", None)
    query = TicketQuery.model_validate(args)
    stmt = select(Ticket).where(ticket_clause(viewer))
    if query.status:
        stmt = stmt.where(Ticket.status.in_(query.status.split(",")))
    if query.open is not None:
        in_open = Ticket.status.in_(OPEN_STATUSES)
        stmt = stmt.where(in_open if query.open else ~in_open)
    if query.source:
        stmt = stmt.where(Ticket.source == query.source)
    if query.category:
        stmt = stmt.where(Ticket.category_id.in_(select(Category.id).where(Category.code == query.category)))
    if query.grid:
        stmt = stmt.where(Ticket.grid_id.in_(select(Region.id).where(Region.code == query.grid)))
    if query.created_after:
        stmt = stmt.where(Ticket.created_at >= query.created_after)
    if query.created_before:
        stmt = stmt.where(Ticket.created_at < query.created_before)
    if query.updated_after:
        stmt = stmt.where(Ticket.updated_at >= query.updated_after)
    if query.cursor:
        cursor = int(query.cursor)
        if cursor > 2**63 - 1:
            raise ApiError(422, "invalid_request", "bad cursor")
        stmt = stmt.where(Ticket.id < cursor)
    stmt = stmt.order_by(Ticket.id.desc()).limit(query.limit + 1)
    with _db().reader() as session:
        rows = list(session.scalars(stmt))
        page, more = rows[: query.limit], len(rows) > query.limit
        regions = Regions(session, page)
        items = [ticket_out(session, viewer, t, regions) for t in page]
        body = TicketPageOut(items=items, next_cursor=str(page[-1].id) if more else None)
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
        ticket = load_ticket(session, viewer, ticket_id)
        body = ticket_out(session, viewer, ticket, Regions(session, [ticket]), detail=True)
    return jsonify(body.model_dump(mode="json"))


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
def post_action(ticket_id: int):
    client = clients.require_client()
    action = Action.model_validate(uploads.fields())
    photos = uploads.cleaned_photos()
    outcome = intake.act(
        _db(),
        _settings(),
        client.viewer,
        ticket_id,
        action,
        uploads=photos,
        scope=client.scope,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
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
def post_rating(ticket_id: int):
    client = clients.require_client()
    rating = RatingIn.model_validate(uploads.fields())
    outcome = intake.rate(
        _db(),
        _settings(),
        client.viewer,
        ticket_id,
        rating,
        scope=client.scope,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return action_answer(outcome)


def action_answer(outcome: intake.Outcome):
    with _db().reader() as session:
        status = session.scalar(select(Ticket.status).where(Ticket.id == outcome.ticket_id))
    body = ActionOut(
        ticket_id=outcome.ticket_id,
        event_id=outcome.event_id,
        status=status,
        status_label=workflow.STATUS_LABELS.get(status, status),
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
    resident = Viewer(role="resident", ticket_token=token)
    with _db().reader() as session:
        ticket = session.scalars(select(Ticket).where(ticket_clause(resident))).first()
        if ticket is None:
            raise ApiError(404, "not_found", "no ticket has this token")
        body = public_status(session, ticket)
    return jsonify(body.model_dump(mode="json"))
