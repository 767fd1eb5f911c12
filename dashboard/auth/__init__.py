"""Access control for the web app (issue #6): login, the viewer resolver, the guard in front of
every page, callback and route, security headers and the content security policy.

    identity(server)  sessions, flask-login, /login and /logout, form CSRF; returns the viewer
                      resolver (called by dashboard.viewer.install); in production mode refuses
                      to start while an account has the documented demo password
    protect(app)      the guard (permissions.py is its table) and the CSP, once the Dash app exists
                      (called by dashboard.server.create_app)
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from dashboard.auth.secret import secret_key
from data import users


def identity(server: Flask):
    """Raises users.DemoPasswordInProduction in production mode while an active account still has
    the documented demo password (`python app.py` turns it into exit code 2 and the message)."""
    from dashboard.auth import csrf, login, resolver

    settings = server.extensions["gcc_settings"]
    with server.extensions["gcc_db"].reader() as s:
        users.refuse_demo_passwords_in_production(s, settings)
    secure = settings.gcc_production if settings.gcc_secure_cookies is None else settings.gcc_secure_cookies
    server.secret_key = secret_key(settings)
    server.config.update(
        SESSION_COOKIE_NAME="gcc_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.gcc_session_hours),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
    )
    resolver.install_login_manager(server)
    csrf.install(server)
    server.register_blueprint(login.blueprint)
    return resolver.resolve


def protect(app) -> None:
    from dashboard.auth import guard, headers, unmask

    app.server.register_blueprint(unmask.blueprint)
    guard.install(app)
    headers.install(app)
