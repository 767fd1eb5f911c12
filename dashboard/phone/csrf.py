"""CSRF for the phone forms, kept inside this blueprint: a double-submit token. The page puts a
random token in a cookie (SameSite=Strict, HttpOnly) and in the form; a POST must carry both and
they must match. Another site can neither read nor set our cookie, so it cannot forge the pair.
Independent of the login session, so the anonymous /report form is protected too."""

from __future__ import annotations

import hmac
import secrets

from flask import g, request

from dashboard.api.errors import ApiError
from dashboard.phone import blueprint

COOKIE = "gcc_phone_csrf"
FIELD = "csrf_token"


def token() -> str:
    """This visitor's token (made now if the cookie has none); put it in every form as FIELD."""
    if "phone_csrf" not in g:
        existing = request.cookies.get(COOKIE, "")
        g.phone_csrf = existing if 20 <= len(existing) <= 64 else secrets.token_urlsafe(24)
        g.phone_csrf_new = g.phone_csrf != existing
    return g.phone_csrf


def check() -> None:
    cookie = request.cookies.get(COOKIE, "")
    sent = request.form.get(FIELD) or request.headers.get("X-CSRF-Token") or ""
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise ApiError(403, "csrf_failed", "the form has expired or did not come from this site; reload the page")


@blueprint.after_request
def _set_cookie(response):
    if g.get("phone_csrf_new"):
        response.set_cookie(COOKIE, g.phone_csrf, httponly=True, samesite="Strict", max_age=7 * 86400)
    return response
