"""Who is asking: a logged-in account, the wall screen's kiosk token, a resident's ticket token,
or nobody. Installed as dashboard.viewer's resolver; runs once per request.

- account: flask-login's session cookie holds a login session token; every request looks it up in
  the database (data.sessions): after logout (on any worker), expiry, a password change or a
  disable it no longer loads. A live one gives `data.users.viewer_for(user)`.
- kiosk: `?kiosk=TOKEN` on any page validates the token (stored hashed) and marks the session, so
  the page's callbacks, which do not carry the query string, are the kiosk too. Every request
  re-checks that the token has not been revoked.
- resident: the `/t/<token>` status page of one ticket; the token is the ticket's public token.
"""

from __future__ import annotations

import re

from flask import request, session
from flask_login import LoginManager, UserMixin, current_user

from dashboard.common.context import db
from data import audit, sessions, users
from data.access import Viewer

KIOSK_PARAM = "kiosk"
_RESIDENT_PATH = re.compile(r"^/t/([A-Za-z0-9_\-]{8,64})/?$")


class SessionUser(UserMixin):
    """What flask-login keeps for a request: the login session's token and the account's viewer."""

    def __init__(self, token: str, viewer: Viewer):
        self.id = token
        self.viewer = viewer


def install_login_manager(server) -> LoginManager:
    manager = LoginManager()
    manager.session_protection = "basic"
    manager.init_app(server)

    @manager.user_loader
    def _load(token: str):
        with db().reader() as s:
            user = sessions.load(s, token)
            return SessionUser(token, users.viewer_for(user)) if user is not None else None

    return manager


def resolve() -> Viewer:
    if current_user.is_authenticated:
        return current_user.viewer
    token = request.args.get(KIOSK_PARAM)
    if token:
        with db().reader() as s:
            token_id = users.kiosk_token_id(s, token)
        if token_id is not None:
            if session.get("kiosk") != token_id:
                session.clear()
                session["kiosk"] = token_id
                with db().session() as s:
                    audit.record(s, "kiosk_login", Viewer.kiosk(), target_type="kiosk_token", target_id=token_id)
            session.permanent = True
            return Viewer.kiosk()
    token_id = session.get("kiosk")
    if isinstance(token_id, int):
        with db().reader() as s:
            if users.kiosk_token_active(s, token_id):
                return Viewer.kiosk()
        session.pop("kiosk", None)
    match = _RESIDENT_PATH.match(request.path)
    if match:
        return Viewer(role="resident", ticket_token=match.group(1))
    return Viewer.anonymous()
