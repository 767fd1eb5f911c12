"""The archive's files over HTTP: `/reports/<week>/<name>` (HTML, PDF, PNG, JSON; audited as a
download like every other export) and `/reports/<week>/thumbs/<name>` (the /reports page's small
pictures, not audited). Both need the "export" permission (dashboard.auth.permissions) and a
district-wide viewer: a report covers the whole district, so an account limited to a street or
community, or to an organisation's orders, may not read it."""

from __future__ import annotations

from flask import Blueprint, abort, send_file

from dashboard.common import context
from dashboard.viewer import current_viewer
from data.access import Viewer
from data.reports import archive

blueprint = Blueprint("reports", __name__)
MIME = {".html": "text/html", ".pdf": "application/pdf", ".png": "image/png", ".json": "application/json"}


def district_wide(viewer: Viewer) -> bool:
    return viewer.can("export") and viewer.region_id is None and viewer.organisation_id is None


def _send(week: str, name: str, *, download: bool):
    if not district_wide(current_viewer()):
        abort(403)
    path = archive.file_path(context.settings().gcc_instance_dir, week, name)
    if path is None or path.suffix not in MIME:
        abort(404)
    return send_file(path, mimetype=MIME[path.suffix], as_attachment=download, download_name=f"{week}-{name}")


@blueprint.get("/reports/<week>/<name>")
def report_file(week: str, name: str):
    return _send(week, name, download=name.endswith((".pdf", ".json")))


@blueprint.get("/reports/<week>/thumbs/<name>")
def report_thumb(week: str, name: str):
    if not name.startswith("thumb-"):
        abort(404)
    return _send(week, name, download=False)


def register(server) -> None:
    server.register_blueprint(blueprint)
