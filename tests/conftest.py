"""Shared fixtures: a real database per backend (SQLite always; PostgreSQL when TEST_DATABASE_URL
is set, which must then be reachable: an unreachable server fails the run, it is never skipped),
settings with a temporary instance folder, a small generated district, and `live`: one real
server per backend shared by the whole session."""

from __future__ import annotations

import contextlib
import os
import uuid

import numpy as np
import pytest
from faker import Faker
from sqlalchemy import create_engine, text

from data.db import Database, upgrade_schema
from data.read.cache import clear_all
from data.schema import Base
from data.settings import load_settings

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def _pg_url(base: str) -> str:
    if base.startswith(("postgresql://", "postgres://")):
        base = "postgresql+psycopg://" + base.split("://", 1)[1]
    return base


@pytest.fixture(scope="session", params=BACKENDS)
def database(request, tmp_path_factory):
    """A migrated, empty database for the whole session (one per backend)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        db = Database(f"sqlite:///{path}")
        upgrade_schema(db)
        yield db
        db.dispose()
        return
    base = _pg_url(os.environ["TEST_DATABASE_URL"])
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"gcc_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}")
    url = base.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    upgrade_schema(db)
    yield db
    db.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db(database):
    """The session database, emptied before each test, and this process's caches of it forgotten:
    ids restart, so a version read by the previous test (trusted for VERSION_CHECK_S) would
    otherwise name the previous test's regions."""
    clear_all()
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.is_sqlite:
            for name in tables:  # children first: foreign keys stay checked
                conn.exec_driver_sql(f'DELETE FROM "{name}"')
        else:
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{n}"' for n in tables) + " RESTART IDENTITY CASCADE")
    return database


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return load_settings(gcc_instance_dir=tmp_path / "instance", gcc_simulate=False)


@pytest.fixture
def district(db):
    """A small generated district (12 grids, 4 communities, 2 streets) with teams and categories;
    returns the DemoWorld."""
    from data.demo.district import write_district
    from geo.tiling import make_district

    shape = make_district(seed=7, n_streets=2, n_communities=4, n_grids=12)
    faker = Faker("zh_CN")
    faker.seed_instance(7)
    with db.session() as session:
        world = write_district(session, shape, np.random.default_rng(7), faker)
    return world


@pytest.fixture
def cli(db, tmp_path, monkeypatch, capsys):
    """Run `python app.py ...` in this process against the test database: (exit code, stdout, stderr)."""
    import logging

    import app

    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("GCC_INSTANCE_DIR", str(tmp_path / "instance"))

    def run(*argv):
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        try:
            code = app.main([str(a) for a in argv])
        finally:  # app.main configures logging onto this test's captured stderr: undo it
            root.handlers[:] = handlers
            root.setLevel(level)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


CHROMIUM = "/usr/bin/chromium"
# Quiet on a closed network: no background services, no updates, no sync (PERFORMANCE-NOTES.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright, shared by the browser tests."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk (see the README)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# --------------------------------------------------------------------------------------------
# The shared live server.

# 50 grids: 8 communities in 2 streets, so every scoped role of the access sweep has a foreign area.
LIVE_DEMO = {"grids": 50, "days": 30}
# Short intervals so a browser test sees a new report on the wall within seconds (tests/browser/test_screen.py).
LIVE_ENV = {"GCC_REFRESH_SECONDS": "3", "GCC_AGGREGATE_SECONDS": "2", "GCC_ALERT_SECONDS": "5"}


@pytest.fixture(scope="session", params=BACKENDS)
def live(request, tmp_path_factory):
    """ONE real server for the whole session, per backend: `python app.py demo` then `python app.py
    serve` as subprocesses on a free port (tests/live_server.py), on SQLite in its instance folder,
    or on a throwaway PostgreSQL database when TEST_DATABASE_URL is set. Returns a LiveServer:
    `url`, `database` (a data.db.Database on the server's database), `cli(*args)`, `api_key(role)`,
    `log()`; a failing test that uses it gets the server's log attached.

    Shared: never depend on another test's writes or on absolute counts. Count relative to a value
    read before, mark what you create with unique text (uuid), make your own API keys and tickets.
    A test needing other settings, or one that breaks the server, starts its own with
    `live_server.start()`. This server runs without the simulator (GCC_SIMULATE=false) and with
    LIVE_ENV's intervals."""
    from tests import live_server

    instance = tmp_path_factory.mktemp(f"live_{request.param}")
    with contextlib.ExitStack() as stack:
        env = dict(LIVE_ENV)
        if request.param == "postgresql":
            try:
                env["DATABASE_URL"] = stack.enter_context(live_server.throwaway_postgres("gcc_live"))
            except Exception as exc:
                pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}")
        server = live_server.start(instance, **LIVE_DEMO, env=env)
        stack.callback(server.stop)
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the shared server's log to a failing test that used it."""
    report = yield
    server = getattr(item, "funcargs", {}).get("live")
    if report.failed and server is not None:
        report.sections.append(("live server log (tail)", server.log()))
    return report
