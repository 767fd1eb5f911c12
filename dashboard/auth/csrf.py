"""CSRF protection for every HTML form (login, logout, the phone pages): one double-submit token.

The first page with a form puts a random token in a cookie (`gcc_csrf`: HttpOnly, SameSite=Lax,
Secure when cookies are Secure, i.e. in production) and the same token in the form's hidden
FIELD. A POST must carry both and they must match. Another site can neither read nor set our
cookie, so it cannot forge the pair. It does not depend on the login session, so the anonymous
/report form is protected the same way as /login, and logging in or out does not expire an open
form.

Dash callbacks and JSON APIs are not forms: a cross-site page cannot send them with the user's
cookie (SameSite=Lax) nor with a JSON content type without a CORS preflight, and the guard also
refuses any unsafe request whose Origin is another site (see guard.same_origin).
"""

from __future__ import annotations

import hmac
import re
import secrets

from flask import Flask, current_app, g, request

COOKIE = "gcc_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
MAX_AGE = 7 * 86400
_SHAPE = re.compile(r"^[A-Za-z0-9_\-]{20,64}$")


def token() -> str:
    """This visitor's token (made now if the cookie has none); put it in every form as FIELD."""
    if "gcc_csrf" not in g:
        existing = request.cookies.get(COOKIE, "")
        g.gcc_csrf = existing if _SHAPE.match(existing) else secrets.token_urlsafe(32)
        g.gcc_csrf_new = g.gcc_csrf != existing
    return g.gcc_csrf


def valid() -> bool:
    """True when the request carries the cookie and the same token in FIELD (or HEADER)."""
    cookie = request.cookies.get(COOKIE, "")
    sent = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    return bool(_SHAPE.match(cookie)) and hmac.compare_digest(cookie.encode(), sent.encode())


def check() -> None:
    """Refuse (403 csrf_failed, the API's error body) a POST without a valid pair."""
    if not valid():
        from dashboard.api.errors import ApiError

        raise ApiError(403, "csrf_failed", "the form has expired or did not come from this site; reload the page")


def install(server: Flask) -> None:
    server.after_request(_set_cookie)


def _set_cookie(response):
    if g.get("gcc_csrf_new"):
        response.set_cookie(
            COOKIE,
            g.gcc_csrf,
            max_age=MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
        g.gcc_csrf_new = False
    return response
