"""The production topology end to end (issue #14): two gunicorn processes (`app:server`, one of
them with two workers) on two ports and the scheduler as its own process (`python app.py
scheduler`), all on one PostgreSQL database.

- a ticket posted to one web process is read through the other;
- it reaches the aggregates (the scheduler's incremental refresh);
- past its deadline it escalates exactly once (the scheduler's sweep, then another sweep and an
  explicit `jobs --once` find nothing more to do);
- a wall screen opened with a kiosk link before a web process restarts keeps refreshing after
  the restart (sessions are signed cookies, the kiosk token lives in the database; no process
  mints or revokes a link when it starts).

PostgreSQL only: it runs where TEST_DATABASE_URL is set (CI sets it)."""

from __future__ import annotations

import http.cookiejar
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from dashboard.common import asof as history
from dashboard.screen import header, kpis, refresh
from dashboard.screen import map as map_part
from data.clock import utcnow
from data.db import Database
from data.models import Escalation, GridStat, Region, Ticket
from tests.helpers import grid_point
from tests.live_server import ROOT, app_env, free_port, throwaway_postgres

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="the topology runs on PostgreSQL"),
]

WAIT_S = 90


class Process:
    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def gunicorn(name: str, port: int, workers: int, env: dict, log_dir: Path) -> Process:
    argv = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "60"]
    return Process(name, [*argv, "app:server"], env, log_dir)


def wait_up(url: str, process: Process) -> None:
    deadline = time.time() + WAIT_S
    while time.time() < deadline:
        if process.proc.poll() is not None:
            raise AssertionError(f"{process.name} exited:\n{process.log()}")
        try:
            urllib.request.urlopen(url + "/healthz", timeout=3).close()
            return
        except urllib.error.HTTPError:  # 503 "degraded" (jobs not run yet) is up too
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{process.name} did not answer within {WAIT_S} s:\n{process.log()}")


def eventually(check, what: str, timeout: float = WAIT_S, logs=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout:.0f} s: {what}\n" + "\n".join(p.log() for p in logs))


def api(base: str, key: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class Wall:
    """One browser tab on /screen opened with a kiosk link: its cookies and page state."""

    OUTPUT_KEY = "..{}..".format("...".join(f"{o.component_id}.{o.component_property}" for o in refresh.OUTPUTS))

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.n, self.sent, self.meta = 0, {}, {}

    def open(self, kiosk_url: str) -> int:
        with self.opener.open(kiosk_url, timeout=30) as response:
            return response.status

    def refresh(self) -> dict:
        self.n += 1
        payload = {
            "output": self.OUTPUT_KEY,
            "outputs": [{"id": o.component_id, "property": o.component_property} for o in refresh.OUTPUTS],
            "inputs": [
                {"id": refresh.INTERVAL, "property": "n_intervals", "value": self.n},
                {"id": map_part.METRIC, "property": "value", "value": "open_now"},
                {"id": map_part.FOCUS_VIEW, "property": "data", "value": None},
            ],
            "changedPropIds": ["screen-interval.n_intervals"],
            "state": [
                {"id": refresh.SENT, "property": "data", "value": self.sent},
                {"id": map_part.META, "property": "data", "value": self.meta},
                {"id": history.STORE, "property": "data", "value": None},  # the live wall, not a past moment
            ],
        }
        request = urllib.request.Request(
            self.base + "/_dash-update-component",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Origin": self.base},
            method="POST",
        )
        with self.opener.open(request, timeout=60) as response:
            assert response.status == 200
            body = json.loads(response.read())["response"]
        self.sent = body.get(refresh.SENT, {}).get("data", self.sent)
        self.meta = body.get(map_part.META, {}).get("data", self.meta)
        return body


def test_two_web_processes_and_a_scheduler_on_postgresql(tmp_path):
    with throwaway_postgres("gcc_topology") as url:
        env = app_env(
            {
                "DATABASE_URL": url,
                "GCC_INSTANCE_DIR": str(tmp_path / "instance"),
                "GCC_SECRET_KEY": secrets.token_urlsafe(48),  # one key for every process
                "GCC_SIMULATE": "false",
                "GCC_SWEEP_SECONDS": "5",
                "GCC_AGGREGATE_SECONDS": "2",
                "PYTHONUNBUFFERED": "1",
            }
        )

        def cli(*args: str) -> str:
            out = subprocess.run(
                [sys.executable, "app.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
            )
            assert out.returncode == 0, out.stderr[-3000:]
            return out.stdout

        cli("demo", "--grids", "24", "--days", "10", "--seed", "5")
        key = cli("api-keys", "create", "topology", "--role", "dispatcher").strip().splitlines()[-1]
        port_a, port_b = free_port(), free_port()
        a_url, b_url = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        web_a = gunicorn("web-a", port_a, 2, env, tmp_path)
        web_b = gunicorn("web-b", port_b, 1, env, tmp_path)
        scheduler = Process("scheduler", [sys.executable, "app.py", "scheduler"], env, tmp_path)
        processes = [web_a, web_b, scheduler]
        db = Database(url.replace("postgresql://", "postgresql+psycopg://", 1) if "+psycopg" not in url else url)
        try:
            for p in processes:
                p.start()
            wait_up(a_url, web_a)
            wait_up(b_url, web_b)

            # The wall, opened on B with a kiosk link, before anything else happens.
            kiosk_url = cli("kiosk-url", "--base-url", b_url).strip().splitlines()[-1]
            wall = Wall(b_url)
            assert wall.open(kiosk_url) == 200
            first = wall.refresh()
            assert first.get(header.BANNER, {}).get("children") == "", first.get(header.BANNER)
            assert kpis.CONTAINER in first

            # A report to A, read through B.
            with db.reader() as s:
                grid_id = s.scalar(select(Region.id).where(Region.level == "grid").order_by(Region.code).limit(1))
                before = s.scalar(select(GridStat.reported_today).where(GridStat.grid_id == grid_id)) or 0
                lon, lat = grid_point(s, grid_id)
            status, created = api(
                a_url,
                key,
                "/api/v1/tickets",
                {"category": "0101", "description": "拓扑测试: 路边垃圾", "lon": lon, "lat": lat},
            )
            assert status == 201, created
            ticket_id = created["ticket_id"]
            status, read = api(b_url, key, f"/api/v1/tickets/{ticket_id}")
            assert status == 200 and read["id"] == ticket_id, read
            for action in ("accept", "dispatch"):
                status, body = api(
                    b_url if action == "accept" else a_url,
                    key,
                    f"/api/v1/tickets/{ticket_id}/actions",
                    {"action": action},
                )
                assert status == 200, body
            status, read = api(a_url, key, f"/api/v1/tickets/{ticket_id}")
            assert read["status"] == "dispatched", read

            # The scheduler's aggregate refresh counts it.
            def counted():
                with db.reader() as s:
                    return (s.scalar(select(GridStat.reported_today).where(GridStat.grid_id == grid_id)) or 0) > before

            eventually(counted, "the new report in grid_stats", logs=[scheduler])

            # Its response deadline passes: the scheduler's sweep escalates it, once.
            with db.session() as s:
                s.execute(
                    update(Ticket).where(Ticket.id == ticket_id).values(response_due_at=utcnow() - timedelta(minutes=5))
                )

            def escalations():
                with db.reader() as s:
                    return s.scalar(select(func.count(Escalation.id)).where(Escalation.ticket_id == ticket_id))

            eventually(escalations, "the sweep escalating the ticket", logs=[scheduler])
            cli("jobs", "--once")  # a second sweeper: nothing left to do
            time.sleep(6)  # and at least one more scheduled sweep
            assert escalations() == 1
            status, read = api(b_url, key, f"/api/v1/tickets/{ticket_id}")
            assert read["escalation_level"] == 1, read

            # B restarts; the wall opened before keeps refreshing, logged in.
            web_b.stop()
            web_b.start()
            wait_up(b_url, web_b)
            after = wall.refresh()
            assert after.get(header.BANNER, {}).get("children") == "", after.get(header.BANNER)
            assert kpis.CONTAINER in after or refresh.SENT not in after  # data, or nothing changed
            # And the kiosk link still opens the wall on both processes.
            assert Wall(a_url).open(kiosk_url.replace(b_url, a_url)) == 200
        finally:
            for p in processes:
                p.stop()
            db.dispose()
