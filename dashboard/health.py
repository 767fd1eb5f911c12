"""GET /healthz: database reachable, schema version, last run and outcome of each job."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from data.clock import utcnow
from data.db import schema_version
from data.jobs import job_statuses

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    db = current_app.extensions["gcc_db"]
    reachable = db.reachable()
    body = {
        "status": "ok" if reachable else "degraded",
        "time": utcnow().isoformat(),
        "database": {"reachable": reachable, "dialect": db.dialect},
        "schema_version": schema_version(db) if reachable else None,
        "jobs": job_statuses(db) if reachable else {},
    }
    return jsonify(body), 200 if reachable else 503
