"""/login and /logout: plain HTML forms (no Dash, no script), Chinese, local assets only.

A successful login starts a fresh session (no fixation) with a login session row in the database
(data.sessions) that `POST /logout` revokes on every worker. A failure counts towards the lockout
of data.users.authenticate (per account name and address, and per address: data.logins); an
unknown name, a wrong password and a disabled account get the same answer. Every attempt is
audited with the client address.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session
from flask_login import current_user, login_user, logout_user

from dashboard import labels
from dashboard.auth import csrf
from dashboard.auth.resolver import SessionUser
from dashboard.common.context import db, settings
from dashboard.labels import t
from dashboard.viewer import client_address, current_viewer
from data import audit, sessions, users
from data.access import Viewer

blueprint = Blueprint(
    "auth", __name__, template_folder="templates", static_folder="static", static_url_path="/auth-static"
)

# Where each role lands after logging in.
HOME = {
    "admin": "/screen",
    "dispatcher": "/desk",
    "supervisor": "/screen",
    "grid_head": "/screen",
    "grid_worker": "/my",
    "property": "/my",
    "department": "/my",
    "kiosk": "/screen",
}


def safe_next(target: str | None) -> str | None:
    """Only a local path may follow a login (never //evil.example or https://...)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@blueprint.app_context_processor
def words() -> dict:
    """The auth templates (login, logout, refused; rendered from the guard too) speak through the
    label catalogue, like every other page (GCC_LOCALE)."""
    return {"t": labels.t, "role_label": labels.role_label}


def login_page(
    status: int = 200,
    *,
    error: str | None = None,
    username: str = "",
    next_url: str | None = None,
    reason: str | None = None,
):
    return (
        render_template(
            "auth/login.html",
            error=error,
            reason=reason,
            username=username,
            next_url=safe_next(next_url) or "",
            csrf_token=csrf.token(),
            csrf_field=csrf.FIELD,
        ),
        status,
    )


@blueprint.get("/login")
def login_form():
    return login_page(next_url=request.args.get("next"))


@blueprint.post("/login")
def login_submit():
    username = (request.form.get("username") or "").strip()[:64]
    password = request.form.get("password") or ""
    next_url = request.form.get("next")
    if not csrf.valid():
        return login_page(400, error=t("auth.form_expired"), username=username, next_url=next_url)
    if not username or not password:
        return login_page(400, error=t("auth.missing_fields"), username=username, next_url=next_url)
    config = settings()
    lockout = timedelta(minutes=config.gcc_login_lockout_minutes)
    policy = users.LoginPolicy(
        max_failures=config.gcc_login_max_failures,
        address_max_failures=config.gcc_login_max_failures_per_address,
        lockout=lockout,
    )
    with db().session() as s:
        result = users.authenticate(s, username, password, policy, address=client_address())
        user = result.user
        who = users.viewer_for(user) if user is not None else Viewer.anonymous()
        if result.ok:
            audit.record(s, "login", who, username=username)
            token = sessions.start(s, user, timedelta(hours=config.gcc_session_hours))
            viewer = users.viewer_for(user)
        elif result.outcome == "lockout":
            minutes = config.gcc_login_lockout_minutes
            audit.record(s, "lockout", who, ok=False, username=username, detail={"minutes": minutes})
        else:
            audit.record(s, "login_failed", who, ok=False, username=username, detail={"reason": result.outcome})
    # Unknown name, wrong password, disabled account: one answer, so names cannot be told apart.
    if result.outcome in ("lockout", "locked"):
        minutes = config.gcc_login_lockout_minutes
        return login_page(429, error=t("auth.locked", minutes=minutes), username=username)
    if not result.ok:
        return login_page(401, error=t("auth.failed"), username=username, next_url=next_url)
    session.clear()  # a new session on login: a planted cookie cannot be fixed in
    session.permanent = True
    login_user(SessionUser(token, viewer))
    return redirect(safe_next(next_url) or HOME.get(viewer.role, "/"), code=303)


@blueprint.get("/logout")
def logout_form():
    return render_template("auth/logout.html", csrf_token=csrf.token(), csrf_field=csrf.FIELD, viewer=current_viewer())


@blueprint.post("/logout")
def logout_submit():
    if not csrf.valid():
        return render_template(
            "auth/logout.html", csrf_token=csrf.token(), csrf_field=csrf.FIELD, viewer=current_viewer()
        ), 400
    viewer = current_viewer()
    token = current_user.get_id() if current_user.is_authenticated else None
    if viewer.is_authenticated or token:
        with db().session() as s:
            sessions.revoke(s, token)  # server-side: a copy of the cookie no longer works anywhere
            if viewer.is_authenticated:
                audit.record(s, "logout", viewer)
    logout_user()
    session.clear()
    return redirect("/login", code=303)
