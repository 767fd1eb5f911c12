"""Two scheduler processes on one database: one leads, each escalation happens once, and the
other takes over when the leader stops."""

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from data import workflow
from data.clock import utcnow
from data.models import Escalation, JobStatus, TicketEvent
from tests.helpers import DESK, new_ticket
from tests.live_server import app_env

ROOT = Path(__file__).resolve().parent.parent


def start_scheduler(db, instance_dir, log_path):
    env = app_env(
        {
            "DATABASE_URL": db.url,
            "GCC_INSTANCE_DIR": str(instance_dir),
            "GCC_SWEEP_SECONDS": "5",
            "GCC_AGGREGATE_SECONDS": "5",
        }
    )
    log = open(log_path, "w")
    return subprocess.Popen([sys.executable, "app.py", "scheduler"], cwd=ROOT, env=env, stdout=log, stderr=log)


def wait_for(predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


@pytest.mark.slow  # ~15 s: waits for several sweeps of two scheduler processes
def test_two_schedulers_escalate_once_and_fail_over(db, district, tmp_path):
    past = utcnow() - timedelta(days=3)
    with db.session() as s:
        ids = []
        for grid_id in district.grid_ids[:5]:
            t = new_ticket(s, grid_id, "漏水", at=past)
            workflow.apply(s, DESK, t.id, workflow.ActionInput("accept", at=past))
            workflow.apply(s, DESK, t.id, workflow.ActionInput("dispatch", at=past))
            ids.append(t.id)
    db.engine.dispose()  # the schedulers must not wait on this process's connections

    def count(model, *where):
        with db.reader() as s:
            return s.scalar(select(func.count()).select_from(model).where(*where))

    procs = [start_scheduler(db, tmp_path, tmp_path / f"scheduler{i}.log") for i in range(2)]
    try:
        assert wait_for(lambda: count(Escalation) == 10), (tmp_path / "scheduler0.log").read_text()
        assert wait_for(lambda: (count(JobStatus, JobStatus.job_id == "sweep_deadlines", JobStatus.runs >= 3)) == 1)
        assert count(Escalation) == 10  # 5 tickets x (community, street), after several sweeps
        assert count(TicketEvent, TicketEvent.action == "escalate") == 10
        with db.reader() as s:
            runners = set(s.scalars(select(JobStatus.runner)))
        assert len(runners) == 1, runners  # one leader ran every job
        leader_pid = int(next(iter(runners)).rsplit(":", 1)[1])
        leader = next(p for p in procs if p.pid == leader_pid)
        leader.terminate()
        leader.wait(timeout=20)
        with db.reader() as s:
            before = s.get(JobStatus, "sweep_deadlines").runs

        def taken_over():
            with db.reader() as s:
                status = s.get(JobStatus, "sweep_deadlines")
                return status.runs > before and not status.runner.endswith(f":{leader_pid}")

        assert wait_for(taken_over, timeout=60), (tmp_path / "scheduler1.log").read_text()
        assert count(Escalation) == 10
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
