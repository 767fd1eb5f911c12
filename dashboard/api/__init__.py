"""The intake's web routes (issue #5): /api/v1 (JSON REST + OpenAPI), /open311/v2 (GeoReport v2)
and /photos/<ref>. `register(server)` adds them and their JSON errors to the Flask server."""

from __future__ import annotations

from flask import Flask


def register(server: Flask) -> None:
    from dashboard.api import errors, open311, photo_route, v1

    errors.install(server)
    server.register_blueprint(v1.blueprint)
    server.register_blueprint(open311.blueprint)
    server.register_blueprint(photo_route.blueprint)
