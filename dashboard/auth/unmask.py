"""POST /api/unmask {"ticket_id": 12, "field": "phone", "reason": "回访居民"} → {"value": "13812345678"}.

The one way a page shows a raw name, phone or address: an explicit request with a reason, for a
role with the "unmask" permission and a ticket in its scope; every attempt is audited (refusals
too). JSON only, so a cross-site HTML form cannot send it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from dashboard.viewer import current_viewer
from data import audit, privacy
from data.access import AccessDenied

blueprint = Blueprint("unmask", __name__)


@blueprint.post("/api/unmask")
def unmask():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(
            error="bad_request", message='send JSON: {"ticket_id": 1, "field": "phone", "reason": "..."}'
        ), 400
    ticket_id, field, reason = body.get("ticket_id"), body.get("field"), body.get("reason")
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int) or not 0 < ticket_id < 2**62:
        return jsonify(error="bad_request", message="ticket_id must be a positive integer"), 400
    if not isinstance(field, str) or not isinstance(reason, str):
        return jsonify(error="bad_request", message="field and reason must be strings"), 400
    viewer = current_viewer()
    db = current_app.extensions["gcc_db"]
    try:
        with db.session() as s:
            value = privacy.unmask(s, viewer, ticket_id, field, reason)
    except privacy.PrivacyError as exc:
        return jsonify(error="bad_request", message=str(exc)), 400
    except AccessDenied:
        with db.session() as s:
            detail = {"field": field[:16], "reason": reason[:200]}
            audit.record(s, "unmask", viewer, ok=False, target_type="ticket", target_id=ticket_id, detail=detail)
        return jsonify(error="forbidden", message="not allowed to unmask this ticket"), 403
    return jsonify(ticket_id=ticket_id, field=field, value=value)
