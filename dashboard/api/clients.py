"""Who is calling the API: an API key (X-Api-Key header, `Authorization: Bearer`, or the
`api_key` parameter Open311 uses) or else the request's viewer (a login session). A key that is
given but wrong is refused (401), never quietly treated as anonymous."""

from __future__ import annotations

from flask import g, request

from dashboard.api.errors import ApiError
from dashboard.common import context
from dashboard.viewer import current_viewer
from data import apikeys
from data.access import Viewer
from data.intake import Caller


def presented_key() -> str | None:
    header = request.headers.get("X-Api-Key")
    if header:
        return header.strip()
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    key = request.args.get("api_key")
    if (
        key is None
        and request.method == "POST"
        and request.mimetype
        in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        )
    ):
        key = request.form.get("api_key")
    return key.strip() if key else None


def client() -> apikeys.ApiClient | None:
    """The API client of this request (cached on g), None when no key was given."""
    if "gcc_api_client" in g:
        return g.gcc_api_client
    key = presented_key()
    found = None
    if key is not None:
        db = context.db()
        with db.reader() as session:
            found = apikeys.authenticate(session, key)
        if found is None:
            raise ApiError(401, "invalid_api_key", "the API key is unknown or revoked")
        if found.stale:
            with db.session() as session:
                apikeys.touch(session, found.id)
    g.gcc_api_client = found
    return found


def require_client() -> apikeys.ApiClient:
    found = client()
    if found is None:
        raise ApiError(
            401,
            "api_key_required",
            "this request needs an API key (X-Api-Key header or api_key parameter)",
            {"WWW-Authenticate": 'ApiKey realm="gcc"'},
        )
    return found


def caller(client: apikeys.ApiClient) -> Caller:
    """The intake's Caller for an API client: its viewer, its idempotency scope and the request's
    Idempotency-Key, its default channel."""
    return Caller(
        client.viewer,
        scope=client.scope,
        idempotency_key=request.headers.get("Idempotency-Key"),
        default_source=client.source,
    )


def viewer() -> Viewer:
    found = client()
    return found.viewer if found is not None else current_viewer()


def require_staff(permission: str = "tickets") -> Viewer:
    """The viewer, who must hold `permission` (401 when nobody is signed in, 403 otherwise)."""
    who = viewer()
    if not who.can(permission):
        if client() is None and who.role in ("anonymous", "resident"):
            raise ApiError(401, "unauthorized", "sign in or give an API key with access to tickets")
        raise ApiError(403, "forbidden", f"role {who.role} may not use {permission}")
    return who
