"""The viewer of the current request: the one way pages, callbacks and routes learn who is asking.

A `before_request` guard (installed by dashboard.server) resolves the viewer once per request,
covering every page, every `/_dash-update-component` callback and every route; handlers call
`current_viewer()` and pass the viewer to data-layer functions, which scope their queries by it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, g

from data.access import Viewer

Resolver = Callable[[], Viewer]


def default_resolver() -> Viewer:
    # Until a login is configured (dashboard.auth replaces this), a visitor is anonymous.
    return Viewer.anonymous()


def install(server: Flask, resolver: Resolver | None = None) -> None:
    server.config["GCC_VIEWER_RESOLVER"] = resolver or default_resolver

    @server.before_request
    def _resolve_viewer():
        g.viewer = server.config["GCC_VIEWER_RESOLVER"]()


def current_viewer() -> Viewer:
    viewer = g.get("viewer")
    return viewer if viewer is not None else Viewer.anonymous()
