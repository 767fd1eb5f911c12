"""The weekly report in the scheduler.

- `weekly_report` (cron, GCC_REPORT_CRON, default Monday 08:00 in GCC_TIMEZONE): the last
  finished week's report, unless it is already made or being made.
- `weekly_report_retry` (every GCC_REPORT_RETRY_SECONDS): a week whose report failed, or whose
  run died (a "running" row past the timeout), is tried again, up to GCC_REPORT_MAX_ATTEMPTS.

Both run only in the leader process (data.jobs.LeaderLock), and the report itself starts with a
claim on the week's row (data.reports.archive.claim), so with several scheduler processes a week
is made once. The work runs in a child process (`python app.py report --if-due`): Chromium and the
capture's server never share the scheduler's memory, and a hung run is killed at the timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from data.clock import utcnow
from data.db import Database
from data.reports import archive
from data.reports.weeks import last_finished
from data.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def cron_args(settings: Settings) -> dict:
    day, hm = settings.gcc_report_cron.split()
    hour, minute = hm.split(":")
    return {"day_of_week": day, "hour": int(hour), "minute": int(minute)}


def run_child(settings: Settings, week: str, trigger: str) -> dict:
    """`python app.py report --week W --if-due` in a child process; its JSON line, or RuntimeError
    with the child's error line."""
    env = dict(os.environ)
    env.update({"DATABASE_URL": settings.resolved_database_url, "GCC_INSTANCE_DIR": str(settings.gcc_instance_dir)})
    try:
        done = subprocess.run(
            [sys.executable, "app.py", "report", "--week", week, "--if-due", "--trigger", trigger],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=settings.gcc_report_timeout_seconds,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"report {week} did not finish within {settings.gcc_report_timeout_seconds} s") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.startswith("error:")]
        raise RuntimeError((lines[-1] if lines else done.stderr.strip()[-500:]) or f"exit {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def weekly_report(db: Database, settings: Settings) -> dict:
    week = last_finished(settings.gcc_timezone).name
    row = archive.get(db, week)
    if row is not None and row.status in ("ok", "running"):
        return {"week": week, "skipped": row.status}
    out = run_child(settings, week, "schedule")
    return {"week": week, "status": out.get("status"), "seconds": out.get("seconds")}


def retry_failed(db: Database, settings: Settings) -> dict:
    """Retry the last finished week's report if it failed (or its run died) and attempts remain."""
    week = last_finished(settings.gcc_timezone).name
    row = archive.get(db, week)
    if row is None:
        return {"week": week, "nothing": "not made yet"}
    stale = (
        row.status == "running"
        and row.started_at is not None
        and (utcnow() - row.started_at > timedelta(seconds=settings.gcc_report_timeout_seconds + 60))
    )
    if row.status == "ok" or (row.status == "running" and not stale):
        return {"week": week, "nothing": row.status}
    if row.attempts >= settings.gcc_report_max_attempts:
        return {"week": week, "gave_up": row.attempts, "error": (row.error or "")[:200]}
    out = run_child(settings, week, "retry")
    return {"week": week, "retried": out.get("status"), "seconds": out.get("seconds")}
