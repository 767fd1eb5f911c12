"""/report: the anonymous 随手拍 form. GET renders it; POST (from the page's script, or any form
post) goes through data.intake like the API, CSRF-checked and rate-limited, and answers JSON:
the ticket number and its status page."""

from __future__ import annotations

import secrets

from flask import Response, render_template, request

from dashboard.api import uploads
from dashboard.api.errors import ApiError
from dashboard.api.schemas import categories
from dashboard.api.v1 import submitted
from dashboard.auth import csrf
from dashboard.common import context
from dashboard.phone import blueprint, limits, minimap
from data import intake
from data.access import Viewer
from data.intake import Report

FORM_FIELDS = {"category", "description", "lon", "lat", "coord_system", "address", "reporter_name", "reporter_phone"}
RESIDENT = Viewer(role="resident")  # nameless: pages word the role (labels "role.resident")


@blueprint.get("/report")
def report_page():
    with context.db().reader() as session:
        groups: dict[str, list] = {}
        for c in categories(session):
            groups.setdefault(c.group_name, []).append(c)
    settings = context.settings()
    return render_template(
        "phone/report.html",
        groups=groups,
        csrf_token=csrf.token(),
        idempotency_key=secrets.token_urlsafe(16),
        max_photos=settings.gcc_photos_per_ticket,
        max_mb=settings.gcc_photo_max_mb,
    )


@blueprint.get("/report/map.svg")
def report_map():
    with context.db().reader() as session:
        body = minimap.svg(session)
    return Response(body, mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=600"})


@blueprint.post("/report")
def report_submit():
    uploads.allow_upload_size()
    csrf.check()
    limits.check_anonymous()
    fields = uploads.fields(ignore=(csrf.FIELD, "idempotency_key"))
    unknown = sorted(set(fields) - FORM_FIELDS)
    if unknown:
        raise ApiError(422, "invalid_request", f"unexpected field(s): {', '.join(unknown)}")
    report = Report.model_validate({**fields, "source": "resident"})
    photos = uploads.cleaned_photos()
    caller = intake.Caller(RESIDENT, scope="form:report", idempotency_key=request.form.get("idempotency_key") or None)
    outcome = intake.submit(
        context.db(), context.settings(), caller, report, uploads=photos
    )
    return submitted(outcome)
