"""The phone pages (issue #5): /report (随手拍, anonymous), /my (a grid worker's or property
company's open orders) and /t/<token> (a ticket's public status and its rating). Plain
server-rendered pages with one local script; forms post through the same intake as the API."""

from __future__ import annotations

from flask import Blueprint, Flask

blueprint = Blueprint(
    "phone",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/phone-static",
)


def register(server: Flask) -> None:
    from dashboard.phone import my, report, status  # noqa: F401 - their routes join the blueprint

    server.register_blueprint(blueprint)
