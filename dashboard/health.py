"""GET /healthz: what a load balancer and an operator need, within a second.

- the database: reachable, readable and (SQLite) writable within a short bound — a database
  locked elsewhere is "degraded", never a hang or a 500;
- the schema version;
- each job's last run and outcome, and the jobs that have stopped finishing (data.jobs.overdue_jobs);
- the latest weekly report (week, status, error): a failed report shows here without making the
  web node unhealthy (the weekly_report job's own failure is in `jobs`).

200 {"status": "ok"} when nothing fails; 503 {"status": "degraded", "failing": [...]} naming
what does, with Retry-After.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from dashboard.common import context
from data.clock import utcnow
from data.db import Database, schema_version
from data.jobs import job_statuses, jobs_for, overdue_jobs
from data.models import JobStatus, Ticket

blueprint = Blueprint("health", __name__)
PROBE_SECONDS = 0.4  # each database probe; all of them stay under a second


def database_state(db: Database) -> tuple[dict, list[str]]:
    """(state, problems) of the database, each probe bounded by PROBE_SECONDS."""
    probe = db.bounded(PROBE_SECONDS)
    state = {"dialect": db.dialect, "reachable": False, "readable": False, "writable": None}
    try:
        with probe.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        state["reachable"] = True
    except SQLAlchemyError as exc:
        return state, [f"database unreachable: {_first_line(exc)}"]
    problems = []
    try:
        with probe.reader() as session:
            session.execute(select(Ticket.id).limit(1)).all()  # the core table: not locked away
            session.execute(select(JobStatus.job_id).limit(1)).all()
        state["readable"] = True
    except SQLAlchemyError as exc:
        problems.append(f"database reads blocked: {_first_line(exc)}")
    if db.is_sqlite:  # one writer at a time: is the write lock free within the bound?
        try:
            with probe.session() as session:
                session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: takes the write lock, or waits
            state["writable"] = True
        except SQLAlchemyError as exc:
            state["writable"] = False
            problems.append(f"database writes blocked (the write lock is held elsewhere): {_first_line(exc)}")
    return state, problems


def latest_report(db: Database) -> dict | None:
    """The newest week's report row, briefly (issue #10)."""
    from data.reports.archive import listing

    try:
        rows = listing(db, limit=1)
    except SQLAlchemyError:
        return None
    if not rows:
        return None
    r = rows[0]
    return {
        "week": r.week,
        "status": r.status,
        "progress": r.progress,
        "attempts": r.attempts,
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "error": r.error,
    }


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]


@blueprint.get("/healthz")
def healthz():
    db, settings = context.db(), context.settings()
    state, failing = database_state(db)
    jobs, report = {}, None
    if state["readable"]:
        probe = db.bounded(PROBE_SECONDS)
        jobs = job_statuses(probe)
        report = latest_report(probe)
        failing += overdue_jobs(jobs, jobs_for(settings, simulate_demo=True), utcnow())
    body = {
        "status": "degraded" if failing else "ok",
        "failing": failing,
        "time": utcnow().isoformat(),
        "database": state,
        "schema_version": schema_version(db) if state["readable"] else None,
        "jobs": jobs,
        "report": report,
    }
    if failing:
        return jsonify(body), 503, {"Retry-After": "10"}
    return jsonify(body), 200
