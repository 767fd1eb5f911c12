"""Open311 GeoReport v2 at /open311/v2 (JSON), over the same intake as /api/v1.

Mapping: service = sub-category (小类), service_code = its code; service_request_id = the ticket's
public token (unguessable, so a generic client can follow its own report without credentials,
as the spec's GET has no api_key); status = open | closed (closed: 已结案, 已评价, 已作废, 重复件).
Extensions in each request record: ticket_id, detailed_status(_label), grid_code, grid_name,
source, media_urls (several photos), rating(_label), expected_datetime (the handling deadline),
and `history` on requests/<id>.json. POST also takes coord_system, source, alarm_type,
external_id, priority and photo files named `media`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, jsonify, request
from pydantic import ValidationError
from sqlalchemy import or_, select

from dashboard.api import clients, uploads
from dashboard.api.errors import ApiError
from dashboard.api.schemas import ACTION_LABELS, photo_out
from dashboard.common.context import db as _db
from dashboard.common.context import settings as _settings
from data import intake, workflow
from data.access import Viewer, ticket_clause
from data.clock import UTC, utcnow, zone
from data.intake import Report
from data.models import OPEN_STATUSES, RATINGS, Category, Region, Ticket, TicketEvent

blueprint = Blueprint("open311", __name__, url_prefix="/open311/v2")
SPEC = "http://wiki.open311.org/GeoReport_v2"
DEFAULT_DAYS = 90  # the spec: without dates, the last 90 days
MAX_REQUESTS = 1000  # the spec's suggested cap per answer
# Open311's field names → ours, for POST and for error messages.
FIELD_MAP = {
    "service_code": "category",
    "lat": "lat",
    "long": "lon",
    "address_string": "address",
    "description": "description",
    "phone": "reporter_phone",
    "coord_system": "coord_system",
    "source": "source",
    "alarm_type": "alarm_type",
    "external_id": "external_id",
    "priority": "priority",
}
BACK = {ours: theirs for theirs, ours in FIELD_MAP.items()}
IGNORED = ("jurisdiction_id", "api_key", "address_id", "email", "account_id", "media_url")


@blueprint.before_request
def _upload_limits():
    uploads.allow_upload_size()


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(zone(_settings().gcc_timezone)).replace(microsecond=0).isoformat()


@blueprint.get("/discovery.json")
def discovery():
    base = request.host_url.rstrip("/") + "/open311/v2"
    return jsonify(
        {
            "changeset": "2026-11-23T00:00:00+08:00",
            "contact": "网格治理指挥中心 / dispatch center",
            "key_service": "python app.py api-keys create NAME (ask the dispatch center)",
            "endpoints": [
                {
                    "specification": SPEC,
                    "url": base,
                    "changeset": "2026-11-23T00:00:00+08:00",
                    "type": "production",
                    "formats": ["application/json"],
                }
            ],
        }
    )


def _service(category: Category, group: Category | None) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{group.name if group else ''}/{category.name}：处置时限 {category.handling_hours:g} 小时",
        "metadata": False,
        "type": "realtime",
        "keywords": category.kind,
        "group": group.name if group else "",
    }


@blueprint.get("/services.json")
def services():
    with _db().reader() as session:
        rows = list(session.scalars(select(Category).order_by(Category.code)))
        by_id = {c.id: c for c in rows}
        return jsonify([_service(c, by_id.get(c.parent_id)) for c in rows if c.parent_id is not None])


@blueprint.get("/services/<code>.json")
def service_definition(code: str):
    with _db().reader() as session:
        category = session.scalars(select(Category).where(Category.code == code[:32])).first()
        if category is None or category.parent_id is None:
            raise ApiError(404, "not_found", f"no service {code!r}")
        return jsonify({"service_code": category.code, "attributes": []})


# ----------------------------------------------------------------------------------------------
# Requests.


def request_record(session, ticket: Ticket, *, history: bool = False) -> dict:
    token = ticket.public_token
    media = [request.host_url.rstrip("/") + photo_out(r, token=token).url for r in ticket.photos or []]
    grid = session.get(Region, ticket.grid_id) if ticket.grid_id else None
    community = session.get(Region, ticket.community_id) if ticket.community_id else None
    record = {
        "service_request_id": token,
        "status": "open" if ticket.status in OPEN_STATUSES else "closed",
        "status_notes": workflow.STATUS_LABELS.get(ticket.status, ticket.status),
        "service_name": ticket.category.name,
        "service_code": ticket.category.code,
        "description": ticket.description or "",
        "agency_responsible": community.name if community else "",
        "service_notice": "",
        "requested_datetime": _iso(ticket.created_at),
        "updated_datetime": _iso(ticket.updated_at),
        "expected_datetime": _iso(ticket.handle_due_at) if ticket.status in OPEN_STATUSES else None,
        "address": ticket.address or "",
        "address_id": "",
        "zipcode": "",
        "lat": ticket.lat,
        "long": ticket.lon,
        "media_url": media[0] if media else "",
        # Extensions (documented in the README).
        "ticket_id": ticket.id,
        "detailed_status": ticket.status,
        "detailed_status_label": workflow.STATUS_LABELS.get(ticket.status, ticket.status),
        "grid_code": grid.code if grid else None,
        "grid_name": grid.name if grid else None,
        "source": ticket.source,
        "media_urls": media,
        "rating": ticket.rating,
        "rating_label": RATINGS.get(ticket.rating) if ticket.rating else None,
    }
    if history:
        events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))
        record["history"] = [
            {
                "datetime": _iso(e.at),
                "action": e.action,
                "label": ACTION_LABELS.get(e.action, e.action),
                "status": e.to_status,
            }
            for e in events
            if e.action != "comment"  # internal notes stay internal
        ]
    return record


def _parse_date(name: str) -> datetime | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if at.tzinfo is None:
            at = at.replace(tzinfo=zone(_settings().gcc_timezone))
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ApiError(400, "bad_date", f"{name} must be a W3C date-time, e.g. 2026-11-23T08:00:00+08:00") from None


@blueprint.get("/requests.json")
def list_requests():
    viewer = clients.require_staff("tickets")
    stmt = select(Ticket).where(ticket_clause(viewer))
    ids = [x.strip() for x in request.args.get("service_request_id", "").split(",") if x.strip()]
    if ids:
        # The spec: service_request_id overrides every other parameter.
        numeric = [int(x) for x in ids if x.isdigit() and len(x) < 19]
        stmt = stmt.where(or_(Ticket.public_token.in_([x[:64] for x in ids[:MAX_REQUESTS]]), Ticket.id.in_(numeric)))
    else:
        start, end = _parse_date("start_date"), _parse_date("end_date")
        if start is None and end is None:
            start = utcnow() - timedelta(days=DEFAULT_DAYS)
        if start is not None:
            stmt = stmt.where(Ticket.created_at >= start)
        if end is not None:
            stmt = stmt.where(Ticket.created_at <= end)
        codes = [c.strip()[:32] for c in request.args.get("service_code", "").split(",") if c.strip()]
        if codes:
            stmt = stmt.where(Ticket.category_id.in_(select(Category.id).where(Category.code.in_(codes))))
        wanted = {s.strip() for s in request.args.get("status", "").split(",") if s.strip()}
        if wanted - {"open", "closed"}:
            raise ApiError(400, "bad_status", "status must be open, closed or open,closed")
        if wanted == {"open"}:
            stmt = stmt.where(Ticket.status.in_(OPEN_STATUSES))
        elif wanted == {"closed"}:
            stmt = stmt.where(~Ticket.status.in_(OPEN_STATUSES))
    limit = request.args.get("limit", str(MAX_REQUESTS))
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_REQUESTS:
        raise ApiError(400, "bad_limit", f"limit must be 1..{MAX_REQUESTS}")
    stmt = stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(int(limit))
    with _db().reader() as session:
        return jsonify([request_record(session, t) for t in session.scalars(stmt)])


def _find(session, request_id: str) -> Ticket:
    """A request by its service_request_id (the public token: the token is the credential) or, for
    a client that may read tickets, by the numeric ticket id."""
    if request_id.isdigit() and len(request_id) < 19:
        viewer = clients.viewer()
        stmt = select(Ticket).where(Ticket.id == int(request_id), ticket_clause(viewer))
    else:
        resident = Viewer(role="resident", ticket_token=request_id[:64])
        stmt = select(Ticket).where(ticket_clause(resident))
    ticket = session.scalars(stmt).first()
    if ticket is None:
        raise ApiError(404, "not_found", f"no service request {request_id[:64]!r}")
    return ticket


@blueprint.get("/requests/<request_id>.json")
def get_request(request_id: str):
    with _db().reader() as session:
        return jsonify([request_record(session, _find(session, request_id), history=True)])


@blueprint.get("/tokens/<token>.json")
def get_token(token: str):
    with _db().reader() as session:
        ticket = _find(session, token) if not token.isdigit() else None
        if ticket is None:
            raise ApiError(404, "not_found", "unknown token")
        return jsonify([{"service_request_id": ticket.public_token, "token": ticket.public_token}])


@blueprint.post("/requests.json")
def post_request():
    client = clients.require_client()
    form = uploads.fields()
    source = form.get("source") or client.source
    body, notices = {}, []
    for theirs, value in form.items():
        if theirs in FIELD_MAP:
            body[FIELD_MAP[theirs]] = value
        elif theirs == "device_id":
            if source == "iot":
                body["device_id"] = value  # Open311's device id is the phone's; an IoT platform's is the sensor's
        elif theirs in ("first_name", "last_name"):
            continue
        elif theirs in IGNORED or theirs.startswith("attribute["):
            if theirs == "media_url":
                notices.append("media_url is not fetched (intranet): upload the photo as a `media` file")
        else:
            raise ApiError(422, "invalid_request", [{"loc": [theirs], "msg": "unknown field", "type": "extra"}])
    parts = [p for p in (form.get("last_name"), form.get("first_name")) if p]
    name = ("" if all(ord(c) > 0x2E80 for p in parts for c in p) else " ").join(parts)  # 张三, Smith John
    if name:
        body["reporter_name"] = name
    if "address" not in body and form.get("address_id"):
        body["address"] = str(form["address_id"])
    if "lat" not in body and "lon" not in body and "address" not in body:
        raise ApiError(422, "location_required", "give lat and long, or address_string (GeoReport v2)")
    try:
        report = Report.model_validate(body)
    except ValidationError as exc:
        detail = [
            {"loc": [BACK.get(str(p), str(p)) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise ApiError(422, "invalid_request", detail) from None
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
    notice = "；".join([*outcome.notices, *notices]) or "已受理上报，请保存 token 查询进度"
    response = jsonify(
        [
            {
                "service_request_id": outcome.token,
                "token": outcome.token,
                "service_notice": notice,
                "account_id": None,
                "ticket_id": outcome.ticket_id,
                "duplicates": outcome.duplicates,
                "repeat_alarm": outcome.repeat_alarm,
            }
        ]
    )
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
