"""The command line as a user meets it: help, clear errors, the demo, jobs --once, /healthz."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_server import app_env

ROOT = Path(__file__).resolve().parent.parent


def run(*args, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, "app.py", *args],
        cwd=ROOT,
        env=app_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_commands():
    out = run("--help")
    assert out.returncode == 0
    for name in ("serve", "scheduler", "demo", "jobs"):
        assert name in out.stdout


def test_invalid_setting_is_a_clear_error_not_a_traceback(tmp_path):
    out = run("jobs", "--once", env={"GCC_INSTANCE_DIR": str(tmp_path), "GCC_SWEEP_SECONDS": "soon"})
    assert out.returncode == 2
    assert "GCC_SWEEP_SECONDS" in out.stderr and "Traceback" not in out.stderr


def test_bad_demo_arguments_are_refused(tmp_path):
    out = run("demo", "--grids", "2", env={"GCC_INSTANCE_DIR": str(tmp_path)})
    assert out.returncode == 2 and "--grids" in out.stderr


def test_an_outside_database_url_never_reaches_a_command_a_test_starts(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://ops@production.example/gcc")
    assert "DATABASE_URL" not in app_env({"GCC_INSTANCE_DIR": "/tmp/x"})
    assert app_env({"DATABASE_URL": "sqlite:///asked.sqlite3"})["DATABASE_URL"] == "sqlite:///asked.sqlite3"


@pytest.fixture(scope="module")
def demo_instance(tmp_path_factory):
    instance = tmp_path_factory.mktemp("cli")
    env = {"GCC_INSTANCE_DIR": str(instance)}  # app_env() drops an outside DATABASE_URL: SQLite in here
    out = run("demo", "--grids", "24", "--days", "20", "--seed", "3", env=env)
    assert out.returncode == 0, out.stderr
    return env, json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # with the two below, ~8 s: a demo district and three more CLI processes
def test_demo_writes_a_district_and_refuses_a_second_time(demo_instance):
    env, stats = demo_instance
    assert stats["grids"] == 24 and stats["tickets"] > 500
    again = run("demo", "--grids", "24", env=env)
    assert again.returncode == 1 and "empty database" in again.stderr


@pytest.mark.slow
def test_jobs_once_reports_each_job(demo_instance):
    env, _ = demo_instance
    out = run("jobs", "--once", env=env)
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: json.loads(line.split(None, 1)[1]) for line in out.stdout.strip().splitlines()}
    assert set(lines) >= {"sweep_deadlines", "refresh_aggregates", "refresh_windows"}
    assert "escalated_to_community" in lines["sweep_deadlines"]


@pytest.mark.slow
def test_healthz_reports_database_schema_and_jobs(demo_instance, monkeypatch):
    from dashboard.server import create_app
    from data.db import Database
    from data.settings import load_settings

    env, _ = demo_instance
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings(gcc_instance_dir=Path(env["GCC_INSTANCE_DIR"]))
    db = Database(settings.resolved_database_url)
    app = create_app(settings, db)
    body = app.server.test_client().get("/healthz").get_json()
    assert body["database"]["reachable"] is True
    assert body["schema_version"] == "0001"
    assert body["jobs"]["sweep_deadlines"]["ok"] is True
