"""POST /api/unmask {"ticket_id": 12, "field": "phone", "reason": "回访居民"} → {"value": "13812345678"}.

The one way a page shows a raw name, phone or address: an explicit request with a reason, for a
role with the "unmask" permission and a ticket in its scope; every attempt is audited, refusals
too (issue #9): a refused attempt writes an `unmask` row with ok=false and `detail.refused` naming
why (role, scope, field, reason, bad_request) — also when the guard refused it before this
handler ran (no login, a role without "unmask", a cross-site request). JSON only, so a
cross-site HTML form cannot send it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from dashboard.viewer import current_viewer
from data import audit, privacy
from data.access import AccessDenied

blueprint = Blueprint("unmask", __name__)


@blueprint.post("/api/unmask")
def unmask():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _refused(
            400, "bad_request", 'send JSON: {"ticket_id": 1, "field": "phone", "reason": "..."}', "bad_request"
        )
    ticket_id, field, reason = body.get("ticket_id"), body.get("field"), body.get("reason")
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int) or not 0 < ticket_id < 2**62:
        return _refused(400, "bad_request", "ticket_id must be a positive integer", "bad_request", field, reason)
    if not isinstance(field, str) or not isinstance(reason, str):
        return _refused(400, "bad_request", "field and reason must be strings", "bad_request", field, reason, ticket_id)
    viewer = current_viewer()
    db = current_app.extensions["gcc_db"]
    try:
        with db.session() as s:
            value = privacy.unmask(s, viewer, ticket_id, field, reason)
    except privacy.PrivacyError as exc:
        why = "field" if field not in privacy.UNMASKABLE else "reason"
        return _refused(400, "bad_request", str(exc), why, field, reason, ticket_id)
    except AccessDenied:
        why = "role" if not viewer.can("unmask") else "scope"
        return _refused(403, "forbidden", "not allowed to unmask this ticket", why, field, reason, ticket_id)
    return jsonify(ticket_id=ticket_id, field=field, value=value)


def _refused(status: int, error: str, message: str, why: str, field=None, reason=None, ticket_id=None):
    _audit_refusal(why, field, reason, ticket_id)
    return jsonify(error=error, message=message), status


def _audit_refusal(why: str, field=None, reason=None, ticket_id=None) -> None:
    g.gcc_unmask_audited = True
    with current_app.extensions["gcc_db"].session() as s:
        audit.record_refused_unmask(s, current_viewer(), why, field=field, reason=reason, ticket_id=ticket_id)


@blueprint.after_request
def _audit_guard_refusal(response):
    """The guard answers before the handler runs (401 without a login, 403 for a role without
    "unmask" or a cross-site request): those attempts are audited here."""
    if response.status_code in (401, 403) and not g.get("gcc_unmask_audited"):
        body = request.get_json(silent=True)
        body = body if isinstance(body, dict) else {}
        ticket_id = body.get("ticket_id")
        if isinstance(ticket_id, bool) or not isinstance(ticket_id, int):
            ticket_id = None
        viewer = current_viewer()
        why = "login" if response.status_code == 401 else ("role" if not viewer.can("unmask") else "cross_site")
        _audit_refusal(why, body.get("field"), body.get("reason"), ticket_id)
    return response
