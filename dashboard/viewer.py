"""The viewer of the current request: the one way pages, callbacks and routes learn who is asking.

A `before_request` hook (installed by dashboard.server) resolves the viewer once per request,
covering every page, every `/_dash-update-component` callback and every route; handlers call
`current_viewer()` and pass the viewer to data-layer functions, which scope their queries by it.
The resolver is dashboard.auth's (a logged-in account, the kiosk token, a resident's ticket token,
or anonymous); dashboard.auth.guard then refuses what the viewer may not use.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, g, request

from data import audit
from data.access import Viewer

Resolver = Callable[[], Viewer]


def anonymous_resolver() -> Viewer:
    return Viewer.anonymous()


def install(server: Flask, resolver: Resolver | None = None) -> None:
    """Resolve `g.viewer` before every request. Without an explicit resolver, dashboard.auth's
    login and kiosk handling is installed and used."""
    if resolver is None:
        from dashboard import auth

        resolver = auth.identity(server)
    server.config["GCC_VIEWER_RESOLVER"] = resolver
    checks = server.extensions.setdefault("gcc_request_checks", [])

    @server.before_request
    def _resolve_viewer():
        # The audit log records the client address of whatever this request changes.
        g.gcc_client_token = audit.client_address.set(client_address())
        g.viewer = server.config["GCC_VIEWER_RESOLVER"]()
        # Then the checks that need the viewer (dashboard.auth.guard), in the order they were
        # added: the first answer refuses the request.
        for check in checks:
            answer = check()
            if answer is not None:
                return answer
        return None

    @server.teardown_request
    def _forget_client(_exc):
        # The worker thread serves other requests (and nothing else) next: leave no address behind.
        token = g.pop("gcc_client_token", None)
        if token is not None:
            audit.client_address.reset(token)


def add_check(server: Flask, check: Callable[[], object]) -> None:
    """Run `check()` before every request, right after the viewer is resolved; a non-None answer
    is the response (a refusal)."""
    server.extensions.setdefault("gcc_request_checks", []).append(check)


def client_address() -> str:
    """The client's address as seen by this server (behind a reverse proxy, configure it to
    pass the real address, e.g. werkzeug's ProxyFix)."""
    return request.remote_addr or "unknown"


def current_viewer() -> Viewer:
    viewer = g.get("viewer")
    return viewer if viewer is not None else Viewer.anonymous()
