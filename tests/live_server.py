"""Start the real app as a subprocess on a free port (the way a user starts it), for browser and
HTTP tests. The server's output is attached to any failure (tests/conftest.py).

Most tests use the session-wide `live` fixture of tests/conftest.py (one server per backend);
`start()` is for a test that needs a server of its own (other settings, a database it breaks).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent


def app_env(overrides: dict | None = None) -> dict:
    """The environment for a `python app.py` subprocess: this process's environment without
    DATABASE_URL (an outside database must never receive a test's writes), then `overrides`
    (which may name a DATABASE_URL on purpose)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(overrides or {})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_url(base: str) -> str:
    """A TEST_DATABASE_URL as a SQLAlchemy URL with the psycopg driver."""
    if base.startswith(("postgresql://", "postgres://")):
        base = "postgresql+psycopg://" + base.split("://", 1)[1]
    return base


@contextmanager
def throwaway_postgres(prefix: str):
    """A new, empty PostgreSQL database on TEST_DATABASE_URL's server, dropped afterwards; yields its URL."""
    base = pg_url(os.environ["TEST_DATABASE_URL"])
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class LiveServer:
    """A running `python app.py serve`: its `url`, its `database` (a data.db.Database on the same
    database, for arranging and checking), `cli(...)` to run other commands against it, and
    `log()`, the tail of its output."""

    url: str
    process: subprocess.Popen
    log_path: Path
    env: dict

    @property
    def database_url(self) -> str:
        return self.env.get("DATABASE_URL") or f"sqlite:///{Path(self.env['GCC_INSTANCE_DIR']) / 'gcc.sqlite3'}"

    @cached_property
    def database(self):
        from data.db import Database

        return Database(self.database_url)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-8000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if "database" in self.__dict__:
            self.database.dispose()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `python app.py ARGS` against the same database."""
        result = subprocess.run(
            [sys.executable, "app.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300
        )
        if check and result.returncode != 0:
            raise AssertionError(f"app.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def api_key(self, role: str = "dispatcher", *extra: str) -> str:
        """A new API key for this server (`python app.py api-keys create`)."""
        out = self.cli("api-keys", "create", f"test-{uuid.uuid4().hex[:8]}", "--role", role, *extra)
        return out.stdout.strip().splitlines()[-1]


def start(instance_dir: Path, *, grids: int = 30, days: int = 30, env: dict | None = None) -> LiveServer:
    """Generate a small demo into `instance_dir` (or env's DATABASE_URL) and serve it; waits for /healthz."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    full_env = app_env(
        {"GCC_INSTANCE_DIR": str(instance_dir), "GCC_SIMULATE": "false", "PYTHONUNBUFFERED": "1", **(env or {})}
    )
    demo = subprocess.run(
        [sys.executable, "app.py", "demo", "--grids", str(grids), "--days", str(days), "--seed", "11"],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if demo.returncode != 0:
        raise RuntimeError(f"app.py demo failed ({demo.returncode}):\n{demo.stdout[-3000:]}\n{demo.stderr[-5000:]}")
    port = free_port()
    log_path = instance_dir / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "app.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path, full_env)
    deadline = time.time() + 90
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"server did not answer /healthz within 90 s:\n{server.log()}")
