"""/my: a grid worker's or property company's open orders by deadline; accept (接单, workflow
`respond`) and report the result with a photo and a note (处理反馈, `handle`)."""

from __future__ import annotations

from flask import current_app, jsonify, redirect, render_template, request, url_for

from dashboard import labels
from dashboard.api import uploads
from dashboard.api.errors import ApiError
from dashboard.api.schemas import photo_out
from dashboard.auth import csrf
from dashboard.common import context
from dashboard.phone import blueprint
from dashboard.viewer import current_viewer
from data import intake, workflow
from data.access import Viewer
from data.clock import utcnow, zone
from data.field_orders import FIELD_ROLES, deadline_of, my_orders
from data.intake import Action


def field_viewer() -> Viewer:
    viewer = current_viewer()
    if viewer.role not in FIELD_ROLES:
        if viewer.role in ("anonymous", "resident"):
            raise ApiError(401, "unauthorized", "sign in as a grid worker or property company")
        raise ApiError(403, "forbidden", f"/my is for grid workers and property companies, not {viewer.role}")
    return viewer


def order_rows(session, viewer: Viewer, tz: str) -> list[dict]:
    now = utcnow()
    rows = []
    for t in my_orders(session, viewer):
        due = deadline_of(t)
        rows.append(
            {
                "id": t.id,
                "status": t.status,
                "status_label": labels.status_label(t.status),
                "category": t.category.name,
                "description": t.description,
                "address": t.address or "",
                "due": due.astimezone(zone(tz)).strftime("%m-%d %H:%M") if due else "—",
                "overdue": bool(due and due < now) or t.overdue,
                "photos": [photo_out(r, ticket_id=t.id) for r in (t.photos or [])[:3]],
                "actions": workflow.allowed_actions(viewer, t),
            }
        )
    return rows


@blueprint.get("/my")
def my_page():
    viewer = current_viewer()
    if viewer.role in ("anonymous", "resident"):
        return redirect(
            url_for("auth.login_form", next="/my")
            if "auth.login_form" in current_app.view_functions
            else "/login?next=/my"
        )
    viewer = field_viewer()
    settings = context.settings()
    with context.db().reader() as session:
        rows = order_rows(session, viewer, settings.gcc_timezone)
    return render_template("phone/my.html", orders=rows, viewer=viewer, csrf_token=csrf.token())


@blueprint.post("/my/<int(max=9223372036854775807):ticket_id>/<any(respond, handle):action>")
def my_action(ticket_id: int, action: str):
    uploads.allow_upload_size()
    csrf.check()
    viewer = field_viewer()
    note = (request.form.get("note") or "").strip() or None
    outcome = intake.act(
        context.db(),
        context.settings(),
        intake.Caller(
            viewer,
            scope=f"my:{viewer.staff_id or viewer.organisation_id}",
            idempotency_key=request.form.get("idempotency_key") or None,
        ),
        ticket_id,
        Action(action=action, note=note),
        uploads=uploads.cleaned_photos(),
    )
    return jsonify({"ticket_id": outcome.ticket_id, "event_id": outcome.event_id})
