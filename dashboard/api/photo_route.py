"""GET /photos/<ref>[?thumb=1]: a stored photo, only for a viewer who may see a ticket carrying it
(a login, an API key, or `t=<public token>` for the reporter's own ticket). Anything else is 404:
an outsider learns nothing about which photos exist."""

from __future__ import annotations

from flask import Blueprint, request, send_file

from dashboard.api import clients
from dashboard.api.errors import ApiError
from dashboard.common import context
from dashboard.common.inputs import parse_id
from data import photos
from data.access import Viewer

blueprint = Blueprint("photos", __name__)


@blueprint.get("/photos/<path:ref>")
def photo(ref: str):
    token = request.args.get("t")
    viewer = Viewer(role="resident", ticket_token=token[:64]) if token else clients.viewer()
    hint = request.args.get("ticket", "")
    ticket_id = parse_id(hint)
    settings = context.settings()
    with context.db().reader() as session:
        visible = photos.visible_ticket(session, viewer, ref, ticket_id=ticket_id) is not None
    path = None
    if visible:
        path = (
            photos.thumbnail(settings, ref)
            if request.args.get("thumb") in ("1", "true")
            else photos.resolve(settings, ref)
        )
    if path is None:
        raise ApiError(404, "not_found", "no such photo, or not visible to you")
    mimetype = "image/jpeg" if path.suffix == ".jpg" else photos.content_type(path.name)
    response = send_file(path, mimetype=mimetype, max_age=3600, conditional=True)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
