"""CSRF protection for HTML forms: a per-session token in a hidden field, checked on POST.

Dash callbacks and JSON APIs are not forms: a cross-site page cannot send them with the user's
cookie (SameSite=Lax) nor with a JSON content type without a CORS preflight, and the guard also
refuses any unsafe request whose Origin is another site (see guard.same_origin).
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def csrf_token() -> str:
    """The current session's token (made on first use). Put it in every form as FIELD."""
    token = session.get("_csrf")
    if not token:
        token = session["_csrf"] = secrets.token_urlsafe(32)
    return token


def valid() -> bool:
    expected = session.get("_csrf")
    sent = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    return bool(expected) and hmac.compare_digest(expected, sent)
