"""Engines and sessions, on SQLite (WAL, one file) or PostgreSQL, and the schema's creation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# How long a transaction waits for a lock by default (the scheduler, the CLI): long enough to
# queue behind a big aggregate rebuild.
DEFAULT_WAIT_MS = 30_000


class Database:
    """One engine and its session factory. Create one per process (it is not shared by workers)."""

    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        self.engine: Engine = _make_engine(url, echo=echo)
        self.wait_ms: int | None = None
        self._sessionmakers(self.engine)

    def _sessionmakers(self, engine: Engine) -> None:
        # Writers take SQLite's write lock when they begin (BEGIN IMMEDIATE), so a
        # read-then-write transaction queues behind another writer instead of failing with
        # "database is locked"; readers begin deferred and never wait for writers (WAL).
        self.write_engine = engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")
        self.sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(engine, expire_on_commit=False)

    def bounded(self, seconds: float) -> Database:
        """The same database (same engine and pool) whose transactions wait at most `seconds` for
        a lock (SQLite's busy timeout; PostgreSQL's lock_timeout, and statement_timeout at six
        times that): a web request then fails fast with OperationalError — answered 503 with
        Retry-After — instead of hanging behind a lock (issue #9)."""
        view = object.__new__(Database)
        view.url, view.wait_ms = self.url, max(1, int(seconds * 1000))
        view.engine = self.engine.execution_options(gcc_wait_ms=view.wait_ms)  # shares the pool
        view._sessionmakers(view.engine)
        return view

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A writing session in a transaction: committed on success, rolled back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only session (rolled back at the end; on SQLite it never blocks a writer)."""
        with self.read_sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    def reachable(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str, *, echo: bool) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": DEFAULT_WAIT_MS / 1000})

        # pysqlite's own transaction handling is switched off so we emit BEGIN ourselves
        # (SQLAlchemy's documented recipe), deferred for readers and IMMEDIATE for writers.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_conn, _record):
            dbapi_conn.isolation_level = None

        # WAL lets the web server read while the scheduler writes; it is a property of the file.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")

        @event.listens_for(engine, "begin")
        def _begin(conn):
            options = conn.get_execution_options()
            # Per transaction: pooled connections serve bounded web requests and patient jobs.
            # Set before anything reads the file, so even a new connection's first statement
            # waits no longer than its transaction may (issue #9).
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(options.get('gcc_wait_ms', DEFAULT_WAIT_MS))}")
            if not conn.info.get("gcc_pragmas"):
                # Foreign keys are off by default in SQLite; NORMAL sync is safe with WAL.
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
                conn.info["gcc_pragmas"] = True
            conn.exec_driver_sql(options.get("sqlite_begin", "BEGIN"))

        return engine
    engine = create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=10,
        connect_args={"connect_timeout": 5},
    )

    @event.listens_for(engine, "begin")
    def _bounded_waits(conn):
        wait = conn.get_execution_options().get("gcc_wait_ms")
        if wait:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(wait)}")
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(wait) * 6}")

    return engine


def alembic_config(db: Database):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade_schema(db: Database) -> str:
    """Bring the schema to the newest migration (creating it on an empty database)."""
    from alembic import command

    command.upgrade(alembic_config(db), "head")
    return schema_version(db) or ""


def schema_version(db: Database) -> str | None:
    try:
        with db.engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:  # no alembic_version table yet, or no database
        return None
