"""Scheduled jobs and the one scheduler that runs them.

Every process may start a scheduler (the web server does, `python app.py scheduler` does), but a
job body runs only in the process holding the leader lock: a PostgreSQL advisory lock held on its
own connection, or a file lock next to the SQLite file. A process that is not the leader tries
again at each tick, so if the leader dies another takes over within one interval.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter

from data import aggregates, escalation
from data.clock import utcnow, zone
from data.db import Database
from data.models import JobStatus
from data.settings import Settings

log = logging.getLogger(__name__)

ADVISORY_KEY = 0x6763635F6C6561  # "gcc_lea": one bigint for this application


class LeaderLock:
    """Non-blocking, re-entrant leadership for one process."""

    def __init__(self, db: Database, lock_dir):
        self.db = db
        self._held = False
        self._conn = None
        self._file_lock = None
        self._mutex = threading.Lock()
        if db.is_sqlite:
            from filelock import FileLock

            os.makedirs(lock_dir, exist_ok=True)
            self._file_lock = FileLock(os.path.join(lock_dir, "scheduler.lock"))

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self) -> bool:
        # Jobs run on several scheduler threads at once: without this lock two threads could each
        # open a session, one win the advisory lock and the other overwrite `_held` with False,
        # leaving a lock nobody uses (seen in tests/test_scheduler.py on PostgreSQL).
        with self._mutex:
            was = self._held
            held = self._acquire()
            if held != was:
                log.info("scheduler leadership %s (pid %s)", "taken" if held else "lost", os.getpid())
            return held

    def _acquire(self) -> bool:
        if self._held:
            if self._conn is not None and self._conn.closed:
                self._held = False  # the session holding the advisory lock is gone
            else:
                return True
        if self._file_lock is not None:
            from filelock import Timeout

            try:
                self._file_lock.acquire(timeout=0)
                self._held = True
            except Timeout:
                self._held = False
            return self._held
        if self._conn is None or self._conn.closed:
            # A connection of its own, outside the pool: the advisory lock lives as long as it.
            fairy = self.db.engine.raw_connection()
            self._conn = fairy.dbapi_connection
            fairy.detach()
            self._conn.autocommit = True
        cur = self._conn.cursor()
        cur.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY,))
        self._held = bool(cur.fetchone()[0])
        cur.close()
        return self._held

    def release(self) -> None:
        with self._mutex:
            self._release()

    def _release(self) -> None:
        if not self._held:
            return
        if self._file_lock is not None:
            self._file_lock.release()
        elif self._conn is not None and not self._conn.closed:
            cur = self._conn.cursor()
            cur.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_KEY,))
            cur.close()
            self._conn.close()
            self._conn = None
        self._held = False


@dataclass(frozen=True)
class Job:
    id: str
    run: Callable[[Database, Settings], dict]
    trigger: str  # "interval" | "cron"
    trigger_args: dict
    misfire_grace_time: int = 30
    once: bool = True  # run by `jobs --once` (not the weekly report: that is `python app.py report`)


def sweep_deadlines(db: Database, settings: Settings) -> dict:
    with db.session() as session:
        return escalation.sweep(session).summary()


def refresh_aggregates(db: Database, settings: Settings) -> dict:
    with db.session() as session:
        return aggregates.refresh(session, "incremental", tz=settings.gcc_timezone)


def refresh_windows(db: Database, settings: Settings) -> dict:
    with db.session() as session:
        return aggregates.refresh(session, "windows", tz=settings.gcc_timezone)


def simulate(db: Database, settings: Settings) -> dict:
    from data.demo.simulator import step

    return step(db, settings)


def prune_idempotency_keys(db: Database, settings: Settings) -> dict:
    """Idempotency keys are a retry window, not a record: forget them after a week."""
    from datetime import timedelta

    from data import idempotency

    with db.session() as session:
        return {"removed": idempotency.prune(session, utcnow() - timedelta(days=7))}


def prune_audit(db: Database, settings: Settings) -> dict:
    from data import audit

    with db.session() as session:
        return {"removed": audit.prune(session, settings.gcc_audit_retention_days)}


def weekly_report(db: Database, settings: Settings) -> dict:
    from data.reports import job

    return job.weekly_report(db, settings)


def retry_weekly_report(db: Database, settings: Settings) -> dict:
    from data.reports import job

    return job.retry_failed(db, settings)


def jobs_for(settings: Settings, *, simulate_demo: bool = False) -> list[Job]:
    """The job table. `simulate_demo` adds the demo simulator (serve mode on demo data)."""
    jobs = [
        Job("sweep_deadlines", sweep_deadlines, "interval", {"seconds": settings.gcc_sweep_seconds}),
        Job("refresh_aggregates", refresh_aggregates, "interval", {"seconds": settings.gcc_aggregate_seconds}),
        # Windows slide with no ticket changing; also right after midnight for "today".
        Job("refresh_windows", refresh_windows, "interval", {"minutes": settings.gcc_full_refresh_minutes}, 300),
        Job("refresh_windows_midnight", refresh_windows, "cron", {"hour": 0, "minute": 0, "second": 5}, 3600),
        # Audit rows past the retention period (GCC_AUDIT_RETENTION_DAYS, at least 6 months).
        Job("prune_audit", prune_audit, "cron", {"hour": 3, "minute": 30}, 3600),
        Job("prune_idempotency_keys", prune_idempotency_keys, "cron", {"hour": 3, "minute": 40}, 3600),
        # The weekly report (issue #10): GCC_REPORT_CRON, and retries of a failed week.
        Job("weekly_report", weekly_report, "cron", _report_cron(settings), 6 * 3600, once=False),
        Job(
            "weekly_report_retry",
            retry_weekly_report,
            "interval",
            {"seconds": settings.gcc_report_retry_seconds},
            300,
            once=False,
        ),
    ]
    if simulate_demo:
        jobs.append(Job("simulate", simulate, "interval", {"seconds": settings.gcc_simulate_seconds}, 10))
    return jobs


def _report_cron(settings: Settings) -> dict:
    from data.reports.job import cron_args

    return cron_args(settings)


def run_job(db: Database, settings: Settings, job: Job, *, lock: LeaderLock | None = None) -> dict | None:
    """Run one job body (if this process leads), recording its outcome in job_status.
    Returns the summary, or None when another process leads."""
    if lock is not None and not lock.acquire():
        return None
    started = utcnow()
    t0 = perf_counter()
    try:
        summary = job.run(db, settings) or {}
        summary.setdefault("seconds", round(perf_counter() - t0, 4))
        _record(db, job.id, started, True, summary, None)
        return summary
    except Exception as exc:
        log.exception("job %s failed", job.id)
        _record(db, job.id, started, False, {}, "".join(traceback.format_exception_only(exc)).strip())
        return {"error": str(exc)}


def _record(db: Database, job_id: str, started, ok: bool, summary: dict, error: str | None) -> None:
    try:
        with db.session() as session:
            status = session.get(JobStatus, job_id) or JobStatus(job_id=job_id, runs=0)
            status.last_started_at = started
            status.last_finished_at = utcnow()
            if ok:
                status.last_ok_at = status.last_finished_at
            status.last_ok = ok
            status.last_summary = summary
            status.last_error = error
            status.runs = (status.runs or 0) + 1
            status.runner = f"{socket.gethostname()}:{os.getpid()}"
            session.add(status)
    except Exception:
        log.warning("could not record job status for %s", job_id, exc_info=True)


def run_all_once(db: Database, settings: Settings) -> list[tuple[str, dict]]:
    """`python app.py jobs --once`: every distinct job body once, in order, ignoring leadership."""
    seen = set()
    out = []
    for job in jobs_for(settings):
        if job.run in seen or not job.once:
            continue
        seen.add(job.run)
        out.append((job.id, run_job(db, settings, job)))
    return out


def start_scheduler(db: Database, settings: Settings, *, simulate_demo: bool = False, blocking: bool = False):
    """Start APScheduler with the job table; returns (scheduler, lock)."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    lock = LeaderLock(db, settings.gcc_instance_dir / "locks")
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        timezone=settings.gcc_timezone,
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    started = datetime.now(zone(settings.gcc_timezone))
    for job in jobs_for(settings, simulate_demo=simulate_demo):
        first = {"next_run_time": started} if job.trigger == "interval" else {}  # run at start too
        scheduler.add_job(
            run_job,
            job.trigger,
            args=(db, settings, job),
            kwargs={"lock": lock},
            id=job.id,
            name=job.id,
            replace_existing=True,
            misfire_grace_time=job.misfire_grace_time,
            **first,
            **job.trigger_args,
        )
    if blocking:
        return scheduler, lock
    scheduler.start()
    return scheduler, lock


def expected_every(job: Job) -> float:
    """How often a job should finish, in seconds (an interval's length; a cron job's period)."""
    if job.trigger == "interval":
        a = job.trigger_args
        return a.get("seconds", 0) + 60 * a.get("minutes", 0) + 3600 * a.get("hours", 0) + 86400 * a.get("days", 0)
    if "day_of_week" in job.trigger_args:
        return 7 * 86400.0
    if "day" in job.trigger_args:
        return 31 * 86400.0
    return 86400.0


def overdue_jobs(statuses: dict, jobs: list[Job], now: datetime) -> list[str]:
    """Jobs that have run before and stopped succeeding: no successful run for more than twice
    their period (plus two minutes of slack), or never a successful one. A job that never ran (a
    fresh install, a job this deployment does not schedule) is not counted; one failure between
    successes is not either (the next run retries it)."""
    out = []
    for job in jobs:
        status = statuses.get(job.id)
        if not status or not status.get("runs"):
            continue
        error = (status.get("error") or "")[:200]
        if not status.get("last_ok_at"):
            out.append(f"job {job.id} has never succeeded: {error}")
            continue
        since = datetime.fromisoformat(status["last_ok_at"])
        if (now - since).total_seconds() > 2 * expected_every(job) + 120:
            detail = f" (last error: {error})" if status.get("ok") is False else ""
            out.append(f"job {job.id} has not succeeded since {status['last_ok_at']}{detail}")
    return out


def job_statuses(db: Database) -> dict:
    from sqlalchemy import select

    with db.reader() as session:
        return {
            s.job_id: {
                "last_started_at": s.last_started_at.isoformat() if s.last_started_at else None,
                "last_finished_at": s.last_finished_at.isoformat() if s.last_finished_at else None,
                "last_ok_at": s.last_ok_at.isoformat() if s.last_ok_at else None,
                "ok": s.last_ok,
                "summary": s.last_summary,
                "error": s.last_error,
                "runs": s.runs,
                "runner": s.runner,
            }
            for s in session.scalars(select(JobStatus))
        }
