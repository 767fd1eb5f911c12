"""The weekly report in the scheduler (issue #10): with two `python app.py scheduler` processes on
one database, a failed week is retried by exactly one of them, once, and then left alone; the
job's outcome is in job_status (what /healthz shows) and the week's row says who made it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from data.clock import utcnow
from data.db import Database
from data.models import JobStatus
from data.reports import archive
from data.reports.models import Report
from data.reports.weeks import last_finished
from tests.live_server import app_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # ~90 s: a demo, two schedulers, one report
ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    return None


def test_two_schedulers_retry_a_failed_week_once(tmp_path):
    env = app_env({"GCC_INSTANCE_DIR": str(tmp_path), "GCC_REPORT_RETRY_SECONDS": "5", "GCC_SIMULATE": "false"})
    demo = subprocess.run(
        [sys.executable, "app.py", "demo", "--grids", "12", "--days", "21", "--seed", "5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    db = Database(f"sqlite:///{tmp_path / 'gcc.sqlite3'}")
    week = last_finished("Asia/Shanghai").name
    with db.session() as s:  # the Monday run failed (say, Chromium was missing then)
        s.add(
            Report(
                week=week,
                status="failed",
                error="earlier failure",
                attempts=1,
                files=[],
                delivery={},
                started_at=utcnow(),
                finished_at=utcnow(),
                trigger="schedule",
            )
        )
    db.engine.dispose()
    logs = [tmp_path / f"scheduler{i}.log" for i in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "app.py", "scheduler"], cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT
        )
        for log in logs
    ]
    try:

        def done():
            row = archive.get(db, week)
            return row if row is not None and row.status in ("ok",) else None

        row = wait_for(done, timeout=240)
        assert row is not None, archive.get(db, week).__dict__ if archive.get(db, week) else logs[0].read_text()[-3000:]
        assert row.attempts == 2 and row.trigger == "retry" and row.error is None
        assert (archive.week_dir(tmp_path, week) / "report.pdf").is_file()
        time.sleep(15)  # three more retry intervals: nobody makes the week again
        again = archive.get(db, week)
        assert (again.attempts, again.ok_at) == (row.attempts, row.ok_at)
        with db.reader() as s:
            status = s.get(JobStatus, "weekly_report_retry")
            runs, ok, error, summary = status.runs, status.last_ok, status.last_error, status.last_summary
            runners = set(s.scalars(select(JobStatus.runner)))
        assert runs >= 3 and ok, error
        assert len(runners) == 1, runners  # the leader ran every job
        assert summary == {"week": week, "nothing": "ok", "seconds": summary["seconds"]}, json.dumps(summary)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        db.dispose()
