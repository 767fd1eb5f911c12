"""Command-line commands of the data layer: demo, jobs, scheduler, aggregates."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass

from data.db import Database, upgrade_schema
from data.settings import Settings


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable
    run: Callable  # (args, settings) -> exit code


def open_database(settings: Settings) -> Database:
    """The configured database with its schema brought up to date."""
    db = Database(settings.resolved_database_url)
    upgrade_schema(db)
    return db


def _demo_args(p):
    p.add_argument("--grids", type=int, default=150, help="number of grids (default 150)")
    p.add_argument("--days", type=int, default=365, help="days of history (default 365)")
    p.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    p.add_argument("--reset", action="store_true", help="delete everything in the database first")


def _demo(args, settings: Settings) -> int:
    from data.demo import DemoError, generate

    if not 6 <= args.grids <= 20000 or not 1 <= args.days <= 3650:
        print("error: --grids must be 6..20000 and --days 1..3650", file=sys.stderr)
        return 2
    db = open_database(settings)
    if args.reset:
        reset_database(db)
    try:
        stats = generate(db, settings, grids=args.grids, days=args.days, seed=args.seed, progress=_say)
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from data.read.geometry import prebuild_quietly

    prebuild_quietly(db)  # the display geometry, stored once for every web worker (issue #14)
    print(json.dumps(stats, ensure_ascii=False))
    return 0


def reset_database(db: Database) -> None:
    from data.models import Base

    Base.metadata.drop_all(db.engine)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade_schema(db)


def _say(msg: str) -> None:
    print(f"demo: {msg}", file=sys.stderr, flush=True)


def _jobs_args(p):
    p.add_argument("--once", action="store_true", required=True, help="run every job once and print what each did")


def _jobs(args, settings: Settings) -> int:
    from data.jobs import run_all_once

    db = open_database(settings)
    failed = False
    for job_id, summary in run_all_once(db, settings):
        failed |= "error" in (summary or {})
        print(f"{job_id:<22} {json.dumps(summary, ensure_ascii=False)}")
    return 1 if failed else 0


def _scheduler_args(p):
    p.add_argument("--simulate", action="store_true", help="also run the demo simulator")


def _scheduler(args, settings: Settings) -> int:
    from data.jobs import start_scheduler
    from data.read.geometry import prebuild_quietly

    db = open_database(settings)
    prebuild_quietly(db)  # a new boundary version's geometry is ready before web workers ask for it
    scheduler, lock = start_scheduler(db, settings, simulate_demo=args.simulate, blocking=True)
    print("scheduler running (Ctrl-C to stop); jobs run only while this process holds the leader lock")
    try:
        scheduler.start()
    finally:
        lock.release()
    return 0


def _aggregates_args(p):
    p.add_argument("--full", action="store_true", help="rebuild everything from scratch (default: incremental)")


def _aggregates(args, settings: Settings) -> int:
    from data import aggregates

    db = open_database(settings)
    with db.session() as session:
        summary = aggregates.refresh(session, "full" if args.full else "incremental", tz=settings.gcc_timezone)
    print(json.dumps(summary))
    return 0


COMMANDS = [
    Command("demo", "generate the demo district (an empty database only, or --reset)", _demo_args, _demo),
    Command("jobs", "run every scheduled job once and print what each did", _jobs_args, _jobs),
    Command(
        "scheduler", "run the scheduler alone (for deployments with several web workers)", _scheduler_args, _scheduler
    ),
    Command("aggregates", "refresh the dashboard aggregates now", _aggregates_args, _aggregates),
]
