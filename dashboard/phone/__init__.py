"""The phone pages (issue #5): /report (随手拍, anonymous), /my (a grid worker's or property
company's open orders) and /t/<token> (a ticket's public status and its rating). Plain
server-rendered pages with one local script; forms post through the same intake as the API."""

from __future__ import annotations

from flask import Blueprint, Flask

from dashboard import labels

blueprint = Blueprint(
    "phone",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/phone-static",
)


@blueprint.context_processor
def words() -> dict:
    """Every phone template speaks through the label catalogue (GCC_LOCALE): `t(key, ...)`, the
    status / action / rating words, and `script_text`, the labels phone.js shows (base.html hands
    them over as JSON: the script carries no words of its own)."""
    return {
        "t": labels.t,
        "status_label": labels.status_label,
        "action_label": labels.action_label,
        "rating_label": labels.rating_label,
        "script_text": labels.templates("phone.js."),
    }


def register(server: Flask) -> None:
    from dashboard.phone import my, report, status  # noqa: F401 - their routes join the blueprint

    server.register_blueprint(blueprint)
