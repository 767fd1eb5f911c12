"""Open311 GeoReport v2 at /open311/v2, in JSON and XML, over the same intake and read layer as
/api/v1 (formats in dashboard.api.open311_format).

Mapping: service = sub-category (小类), service_code = its code; service_request_id = the ticket
number; status = open | closed (closed: 已结案, 已评价, 已作废, 重复件). Reading services and
requests is public by default (GCC_OPEN311_PUBLIC_READ): a client without a key sees every
request in the privacy-safe public view (no reporter identity, the address to the estate, phone /
ID / plate numbers in descriptions masked, no photos); a key or a login sees its own scope as its
role may. POST needs a key. The reporter's `token` (in POST's answer) opens the request as its
resident (requests/<token>.json, the /t/<token> page). Extensions: docs/api.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, Response, request
from pydantic import ValidationError

from dashboard import labels
from dashboard.api import clients, uploads
from dashboard.api.errors import ApiError
from dashboard.api.open311_format import discovery, render, request_record, service
from dashboard.api.schemas import photo_out
from dashboard.common.context import db as _db
from dashboard.common.context import settings as _settings
from dashboard.common.inputs import parse_id
from data import intake
from data.access import Viewer
from data.clock import UTC, utcnow, zone
from data.intake import Report
from data.read.directory import categories
from data.read.ticket_filter import TicketFilter
from data.read.ticket_records import TicketRecord, record_for_token, ticket_records

blueprint = Blueprint("open311", __name__, url_prefix="/open311/v2")
FMT = "<any(json, xml):fmt>"
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


def answer(data, fmt: str, root: str, status: int = 200) -> Response:
    body, mimetype = render(data, fmt, root)
    return Response(body, status=status, mimetype=mimetype)


def reader() -> Viewer:
    """Who reads: the key's or the login's viewer; without either, the public when
    GCC_OPEN311_PUBLIC_READ is on (else 401)."""
    who = clients.viewer()
    if who.can("tickets"):
        return who
    if clients.client() is None and who.role in ("anonymous", "resident") and _settings().gcc_open311_public_read:
        return Viewer.public()
    return clients.require_staff("tickets")


@blueprint.get(f"/discovery.{FMT}")
def get_discovery(fmt: str):
    base = request.host_url.rstrip("/") + "/open311/v2"
    key_service = "python app.py api-keys create NAME (ask the dispatch center)"
    return answer(discovery(base, key_service, labels.current_locale()), fmt, "discovery")


@blueprint.get(f"/services.{FMT}")
def get_services(fmt: str):
    with _db().reader() as session:
        cats = categories(session)
    subs = sorted((c for c in cats.values() if c.parent_id is not None), key=lambda c: c.code)
    return answer([service(c, cats.get(c.parent_id), labels.current_locale()) for c in subs], fmt, "services")


@blueprint.get(f"/services/<code>.{FMT}")
def get_service_definition(code: str, fmt: str):
    with _db().reader() as session:
        found = next((c for c in categories(session).values() if c.code == code[:32] and c.parent_id), None)
    if found is None:
        raise ApiError(404, "not_found", f"no service {code[:32]!r}")
    return answer({"service_code": found.code, "attributes": []}, fmt, "service_definition")


# ----------------------------------------------------------------------------------------------
# Requests.


def _records_out(records: list[TicketRecord], viewer: Viewer, *, history: bool = False) -> list[dict]:
    tz = zone(_settings().gcc_timezone)
    host = request.host_url.rstrip("/")
    out = []
    for t in records:
        # The public view shows no photos (faces, plates); the reporter's view links them by token.
        if viewer.role == "public":
            media = []
        elif viewer.role == "resident":
            media = [host + photo_out(r, token=t.public_token).url for r in t.photos]
        else:
            media = [host + photo_out(r, ticket_id=t.id).url for r in t.photos]
        out.append(request_record(t, tz, media=media, history=history, locale=labels.current_locale()))
    return out


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


def _wanted() -> TicketFilter:
    ids = [x.strip() for x in request.args.get("service_request_id", "").split(",") if x.strip()][:MAX_REQUESTS]
    if ids:
        # The spec: service_request_id overrides every other parameter.
        numbers = tuple(n for n in map(parse_id, ids) if n is not None)
        return TicketFilter(ids=numbers)
    start, end = _parse_date("start_date"), _parse_date("end_date")
    if start is None and end is None:
        start = utcnow() - timedelta(days=DEFAULT_DAYS)
    codes = tuple(c.strip()[:32] for c in request.args.get("service_code", "").split(",") if c.strip())
    wanted = {s.strip() for s in request.args.get("status", "").split(",") if s.strip()}
    if wanted - {"open", "closed"}:
        raise ApiError(400, "bad_status", "status must be open, closed or open,closed")
    return TicketFilter(
        created_after=start,
        created_until=end,
        category_codes=codes or None,
        open=True if wanted == {"open"} else False if wanted == {"closed"} else None,
    )


@blueprint.get(f"/requests.{FMT}")
def list_requests(fmt: str):
    viewer = reader()
    limit = request.args.get("limit", str(MAX_REQUESTS))
    if not (limit.isascii() and limit.isdigit() and len(limit) <= 4 and 1 <= int(limit) <= MAX_REQUESTS):
        raise ApiError(400, "bad_limit", f"limit must be 1..{MAX_REQUESTS}")
    wanted = _wanted()
    permission = "public_tickets" if viewer.role == "public" else "tickets"
    with _db().reader() as session:
        records = ticket_records(session, viewer, wanted, limit=int(limit), permission=permission)
    return answer(_records_out(records, viewer), fmt, "service_requests")


def _find(request_id: str) -> tuple[TicketRecord, Viewer]:
    """A request by its number (as whoever reads), or by the reporter's token (as its resident)."""
    number = parse_id(request_id)
    with _db().reader() as session:
        if number is not None:
            viewer = reader()
            permission = "public_tickets" if viewer.role == "public" else "tickets"
            found = ticket_records(session, viewer, TicketFilter(ids=(number,)), detail=True, permission=permission)
            record = found[0] if found else None
        else:
            viewer = Viewer(role="resident", ticket_token=request_id[:64])
            record = record_for_token(session, viewer, request_id[:64])
    if record is None:
        raise ApiError(404, "not_found", f"no service request {request_id[:64]!r}")
    return record, viewer


@blueprint.get(f"/requests/<request_id>.{FMT}")
def get_request(request_id: str, fmt: str):
    record, viewer = _find(request_id)
    return answer(_records_out([record], viewer, history=True), fmt, "service_requests")


@blueprint.get(f"/tokens/<token>.{FMT}")
def get_token(token: str, fmt: str):
    if parse_id(token) is not None:
        raise ApiError(404, "not_found", "unknown token")
    record, _ = _find(token)
    return answer([{"service_request_id": str(record.id), "token": record.public_token}], fmt, "service_requests")


@blueprint.post(f"/requests.{FMT}")
def post_request(fmt: str):
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
                notices.append(intake.notice("media_url_ignored"))
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
    outcome = intake.submit(_db(), _settings(), clients.caller(client), report, uploads=uploads.cleaned_photos())
    words = labels.notices_text([*outcome.notices, *notices])
    notice = labels.t("notice.join").join(words) or labels.t("notice.received")
    response = answer(
        [
            {
                "service_request_id": str(outcome.ticket_id),
                "token": outcome.token,
                "service_notice": notice,
                "account_id": None,
                "ticket_id": outcome.ticket_id,
                "duplicates": outcome.duplicates,
                "repeat_alarm": outcome.repeat_alarm,
            }
        ],
        fmt,
        "service_requests",
    )
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
