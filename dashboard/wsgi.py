"""The web app as a WSGI application, for gunicorn (or any WSGI server) with several workers:

    gunicorn -w 4 -b 0.0.0.0:8050 --timeout 60 'app:server'

Not with `--preload`: each worker must open its own database connections (a pool made before the
fork would be shared by every worker).
Each worker builds its app from the environment (the same GCC_* settings as `python app.py`). A
worker only serves requests: it never generates the demo, never runs the scheduler (run
`python app.py scheduler` once, as its own process) and never mints or revokes a kiosk link. It
holds no state another worker needs: login sessions are rows behind a signed cookie (one GCC_SECRET_KEY for every
worker and machine), rate limits, kiosk tokens, the stored display geometry and the shared screen
snapshots live in the database (or Redis with GCC_REDIS_URL); what a worker keeps in memory is a
cache of those.
"""

from __future__ import annotations

import logging
import threading

from data.settings import Settings, load_settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_server = None
MIGRATE_LOCK = 0x6763_6D69  # 'gcmi': the advisory lock key of schema upgrades at start


def create_dash(settings: Settings | None = None):
    """The Dash app (with its Flask server), the schema brought up to date first (under a lock,
    so workers starting together do not race one migration)."""
    from dashboard.server import create_app

    settings = settings or load_settings()
    return create_app(settings, migrated_database(settings))


def create_server(settings: Settings | None = None):
    """The WSGI application: the Flask server the Dash app runs on."""
    return create_dash(settings).server


def migrated_database(settings: Settings):
    """The configured database, its schema upgraded by one process at a time: a PostgreSQL
    advisory lock (held on its own connection), or a file lock next to the SQLite file."""
    from data.db import Database, upgrade_schema

    db = Database(settings.resolved_database_url)
    if db.is_sqlite:
        from filelock import FileLock

        lock_dir = settings.gcc_instance_dir / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(lock_dir / "migrate.lock")):
            upgrade_schema(db)
        return db
    with db.engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATE_LOCK})")
        try:
            upgrade_schema(db)
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATE_LOCK})")
    return db


def server():
    """This process's server, made on first use (gunicorn asks for `app:server` once per worker)."""
    global _server
    with _lock:
        if _server is None:
            _server = create_server()
        return _server
