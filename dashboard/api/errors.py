"""Every refusal of the intake routes is JSON: `{"error": code, "detail": ...}` with a 4xx status
(issue #5). A data-layer refusal is a data.errors.DomainError whose `kind` gives the status through
data.errors.HTTP_STATUS, the one table; nothing here reads a message to choose a status."""

from __future__ import annotations

import logging

from flask import Response, jsonify, request
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from werkzeug.exceptions import HTTPException

from dashboard.api import open311_format
from dashboard.labels import t
from data.errors import HTTP_STATUS, DomainError, Unavailable

log = logging.getLogger(__name__)

# Paths whose errors (also Flask's own 404/405/413) are answered in JSON.
JSON_PREFIXES = ("/api/v1/", "/open311/v2/", "/photos/", "/report", "/my", "/t/")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


KIND_OF_STATUS = {status: kind for kind, status in HTTP_STATUS.items()}


class ApiError(DomainError):
    """A refusal decided by the HTTP layer itself (no key, a malformed parameter), by status."""

    def __init__(self, status: int, code: str, detail, headers: dict | None = None):
        super().__init__(code, str(detail), kind=KIND_OF_STATUS[status], detail=detail)
        self.headers = headers or {}


def error_response(status: int, code: str, detail, headers: dict | None = None):
    if request.path.startswith("/open311/v2/"):  # the spec's own error list, in JSON or XML
        fmt = "xml" if request.path.endswith(".xml") else "json"
        body, mimetype = open311_format.error_body(status, code, detail, fmt)
        response = Response(body, status=status, mimetype=mimetype)
    else:
        response = jsonify({"error": code, "detail": detail})
        response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_detail(exc: ValidationError) -> list[dict]:
    """Pydantic's errors without the echoed input (which may be huge or personal)."""
    return [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def to_response(exc: Exception):
    """The JSON response for a known exception, or None."""
    if isinstance(exc, DomainError):
        headers = dict(getattr(exc, "headers", None) or {})
        if getattr(exc, "retry_after", None):
            headers["Retry-After"] = str(exc.retry_after)
        detail = exc.detail if exc.detail is not None else str(exc)
        return error_response(exc.status, exc.code, detail, headers)
    if isinstance(exc, ValidationError):
        return error_response(422, "invalid_request", validation_detail(exc))
    if isinstance(exc, HTTPException):
        status = exc.code or 400
        headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else None
        return error_response(status, HTTP_CODES.get(status, "http_error"), exc.description or exc.name, headers)
    return None


def install(server) -> None:
    """JSON errors for the intake's paths, app-wide (Flask's routing 404/405 never reach a
    blueprint's handlers). Other paths keep whatever the app answers by default."""

    def _handle(exc: Exception):
        if not request.path.startswith(JSON_PREFIXES):
            if isinstance(exc, HTTPException):
                return exc
            raise exc
        response = to_response(exc)
        if response is None:
            log.exception("intake route failed: %s %s", request.method, request.path)
            return error_response(500, "internal_error", "an internal error; it has been logged")
        return response

    own_paths_only(server)
    server.register_error_handler(HTTPException, _handle)
    # A database that does not answer within GCC_DB_WAIT_SECONDS (locked, down, a pool exhausted)
    # is a 503 with Retry-After on every path — the transaction rolled back, nothing written.
    for kind in (OperationalError, SQLAlchemyTimeoutError):
        server.register_error_handler(kind, _unavailable)
    for kind in (DomainError, ValidationError):
        server.register_error_handler(kind, _handle)


def _unavailable(exc: Exception):
    log.warning("database unavailable for %s %s: %s", request.method, request.path, str(exc).splitlines()[0][:200])
    busy = Unavailable()
    headers = {"Retry-After": str(busy.retry_after)}
    if request.path.startswith(JSON_PREFIXES) or request.path.startswith("/_dash") or request.is_json:
        return error_response(busy.status, busy.code, str(busy), headers)
    page = UNAVAILABLE_PAGE.format(lang=t("app.html_lang"), message=t("error.busy"))
    return Response(page, status=busy.status, mimetype="text/html", headers=headers)


UNAVAILABLE_PAGE = '<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>503</title><p>{message}</p></html>'

OWN_PATHS = {"/api/v1/": "api_v1", "/open311/v2/": "open311", "/photos/": "photos"}


def own_paths_only(server) -> None:
    """Paths under the intake's prefixes are answered by the intake's routes only: an unknown one
    is a JSON 404 (405 with the right Allow when the path exists for other methods), instead of
    falling through to the Dash app's catch-all page."""
    from werkzeug.routing import Map

    maps: dict = {}

    @server.before_request
    def _own_paths_only():
        prefix = next((p for p in OWN_PATHS if request.path.startswith(p)), None)
        if prefix is None:
            return None
        rule = request.url_rule
        if request.method != "OPTIONS" and rule is not None and rule.endpoint.split(".")[0] == OWN_PATHS[prefix]:
            return None
        if "map" not in maps:
            own = set(OWN_PATHS.values())
            maps["map"] = Map([r.empty() for r in server.url_map.iter_rules() if r.endpoint.split(".")[0] in own])
        allowed = maps["map"].bind("localhost").allowed_methods(request.path)
        if allowed and request.method == "OPTIONS":
            # Flask's automatic answer would also list the Dash catch-all's methods.
            return "", 204, {"Allow": ", ".join(allowed)}
        if allowed and request.method not in allowed:  # (werkzeug lists methods even when a converter refuses)
            return error_response(
                405, "method_not_allowed", f"{request.method} is not allowed here", {"Allow": ", ".join(allowed)}
            )
        return error_response(404, "not_found", f"no such resource: {request.path[:200]}")
