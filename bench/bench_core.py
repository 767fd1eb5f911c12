"""Core costs on the demo district: generating it, refreshing aggregates, sweeping deadlines.

    python bench/bench_core.py [--grids 150] [--days 365] [--pg postgresql://postgres@127.0.0.1/test]

Prints a Markdown table and replaces the "bench:core" section of BENCHMARKS.md. With --pg the
same steps run on a throwaway PostgreSQL database too (created and dropped here).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_assign import ROOT, machine, update_section
from sqlalchemy import create_engine, func, select, text

from data import aggregates, escalation, workflow
from data.access import Viewer
from data.db import Database, upgrade_schema
from data.demo import generate
from data.models import Staff, Ticket, TicketEvent
from data.settings import load_settings

SECTION = "core"


def timed(fn, repeat=1):
    times = []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return result, times


def touch_tickets(db: Database, n: int, rng: random.Random) -> int:
    """n workflow changes on open tickets, like ~5 minutes of a city's activity."""
    done = 0
    with db.reader() as s:
        ids = s.scalars(
            select(Ticket.id).where(Ticket.status.in_(("reported", "accepted", "dispatched", "in_progress")))
        ).all()
    system = Viewer.system()
    for ticket_id in rng.sample(ids, min(n, len(ids))):
        with db.session() as s:
            t = s.get(Ticket, ticket_id)
            try:
                if t.status == "reported":
                    workflow.apply(s, system, ticket_id, workflow.ActionInput("accept"))
                elif t.status == "accepted":
                    workflow.apply(s, system, ticket_id, workflow.ActionInput("dispatch"))
                elif t.status == "dispatched":
                    staff = s.get(Staff, t.assignee_staff_id) if t.assignee_staff_id else None
                    actor = (
                        Viewer(role="grid_worker", staff_id=staff.id)
                        if staff
                        else Viewer(role="property", organisation_id=t.assignee_org_id)
                    )
                    workflow.apply(s, actor, ticket_id, workflow.ActionInput("respond"))
                else:
                    workflow.apply(s, system, ticket_id, workflow.ActionInput("comment", note="benchmark"))
                done += 1
            except workflow.WorkflowError:
                pass
    return done


def run_backend(label: str, url: str, args, instance: Path) -> list[tuple]:
    settings = load_settings(gcc_instance_dir=instance, database_url=url)
    db = Database(url)
    upgrade_schema(db)
    stats, (gen_s,) = timed(lambda: generate(db, settings, grids=args.grids, days=args.days, seed=args.seed))
    rows = [(label, "generate the demo", f"{gen_s:.1f} s", f"{stats['tickets']:,} tickets, {stats['events']:,} events")]
    with db.session() as s:
        _, full = timed(lambda: aggregates.refresh(s, "full"))
    with db.session() as s:
        _, windows = timed(lambda: aggregates.refresh(s, "windows"), repeat=3)
    _, sweeps = timed(lambda: _sweep(db), repeat=3)
    incremental = []
    for _ in range(3):
        touch_tickets(db, args.changes, random.Random(len(incremental)))
        with db.session() as s:
            summary, (t,) = timed(lambda s=s: aggregates.refresh(s, "incremental"))
        incremental.append((t, summary["grids"]))
    with db.reader() as s:
        events = s.scalar(select(func.count(TicketEvent.id)))
    rows += [
        (label, "full aggregate rebuild", f"{full[0] * 1000:.0f} ms", "grid_stats + daily_stats from scratch"),
        (label, "window refresh (all grids)", f"{statistics.median(windows) * 1000:.0f} ms", "median of 3"),
        (
            label,
            f"incremental refresh after {args.changes} changes",
            f"{statistics.median(t for t, _ in incremental) * 1000:.0f} ms",
            f"median of 3; {statistics.median(g for _, g in incremental):.0f} grids touched",
        ),
        (label, "deadline sweep", f"{statistics.median(sweeps) * 1000:.0f} ms", f"median of 3 over {events:,} events"),
    ]
    db.dispose()
    return rows


def _sweep(db):
    with db.session() as s:
        return escalation.sweep(s)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grids", type=int, default=150)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--pg", help="PostgreSQL server URL to also run on (a throwaway database is created)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += run_backend("SQLite", f"sqlite:///{tmp}/bench.sqlite3", args, Path(tmp))
        if args.pg:
            base = args.pg.replace("postgresql://", "postgresql+psycopg://", 1)
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            name = f"gcc_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                rows += run_backend("PostgreSQL", base.rsplit("/", 1)[0] + f"/{name}", args, Path(tmp) / "pg")
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    md = [
        "## Core: demo generation, aggregates, deadline sweep",
        "",
        f"`python bench/bench_core.py --grids {args.grids} --days {args.days}"
        + (" --pg ..." if args.pg else "")
        + f"` on {time.strftime('%Y-%m-%d')}: {machine()}.",
        "",
        "| database | step | time | notes |",
        "|---|---|---:|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
    ]
    print("\n".join(md))
    if not args.no_write:
        update_section(ROOT / "BENCHMARKS.md", SECTION, "\n".join(md))


if __name__ == "__main__":
    main()
