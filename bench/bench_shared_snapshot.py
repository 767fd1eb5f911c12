"""Benchmark: the wall's refresh with the snapshot shared per (scope, data version) against each
refresh computing its own snapshot (before issue #14).

    DATABASE_URL=postgresql://... python bench/bench_shared_snapshot.py [--tabs 20] [--rounds 3] [--no-write]

Uses the district already in DATABASE_URL. `--tabs` wall tabs (tests/screen_client.py: the real
app and callback through the Flask test client, each tab with its own page state) refresh in
turn, `--rounds` times; before each round a new report is written (a new data version), as on a
live city. "own": every refresh runs data.read.screen.read_screen; "shared": every refresh goes
through data.read.snapshots.shared_screen (the first refresh of a version computes it, the others
look it up). Replaces the "bench:shared_snapshot" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SECTION = "shared_snapshot"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tabs", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)

    from sqlalchemy import func, select

    from dashboard.screen import refresh as refresh_module
    from dashboard.wsgi import create_dash
    from data.access import Viewer
    from data.clock import utcnow
    from data.models import Category, Region, Ticket
    from data.read import snapshots
    from data.read.screen import read_screen
    from tests.helpers import new_ticket
    from tests.screen_client import ScreenClient

    app = create_dash()
    app.server.config["GCC_VIEWER_RESOLVER"] = Viewer.kiosk
    db = app.server.extensions["gcc_db"]
    with db.reader() as s:
        grids = s.scalar(select(func.count(Region.id)).where(Region.level == "grid"))
        tickets = s.scalar(select(func.count(Ticket.id)))
        grid_id = s.scalar(select(Region.id).where(Region.level == "grid").limit(1))
        category_name = s.scalar(select(Category.name).where(Category.parent_id.is_not(None)).limit(1))

    def new_report():
        with db.session() as s:
            new_ticket(s, grid_id, category_name=category_name, at=utcnow(), description="bench")

    shared = refresh_module.shared_screen
    computed = []

    def own(session, viewer, *, tz, **_kw):
        computed.append(1)
        return read_screen(session, viewer, now=utcnow(), tz=tz)

    calls: list = []
    original_read = snapshots.read_screen

    def counted_read(*a, **kw):
        calls.append(1)
        return original_read(*a, **kw)

    snapshots.read_screen = counted_read
    rows = []
    for mode in ("own", "shared"):
        refresh_module.shared_screen = own if mode == "own" else shared
        tabs = [ScreenClient(app) for _ in range(args.tabs)]
        with app.server.app_context():
            for tab in tabs:
                tab.load(Viewer.kiosk())
        computed.clear()
        calls.clear()
        times = []
        for _ in range(args.rounds):
            new_report()
            for tab in tabs:
                t = time.perf_counter()
                reply = tab.refresh()
                times.append(time.perf_counter() - t)
                assert reply.status == 200
        n = len(times)
        rows.append(
            (
                mode,
                n,
                len(computed) if mode == "own" else len(calls),
                statistics.median(times) * 1000,
                sorted(times)[int(0.95 * (n - 1))] * 1000,
                sum(times),
            )
        )
        print(mode, rows[-1], flush=True)
    refresh_module.shared_screen = shared
    snapshots.read_screen = original_read
    load = os.getloadavg()[0]
    own_row, shared_row = rows
    lines = [
        "## Wall refresh: one snapshot per data version, shared",
        "",
        f"`python bench/bench_shared_snapshot.py --tabs {args.tabs} --rounds {args.rounds}` on {dt.date.today()}: "
        f"{platform.machine()}, {os.cpu_count()} cores (load average {load:.1f} at the end: shared machine), "
        f"Python {platform.python_version()}, {'SQLite' if db.is_sqlite else 'PostgreSQL'}; {grids:,} grids, "
        f"{tickets:,} tickets. {args.tabs} wall tabs refresh in turn through the real callback (Flask test client, "
        f"one process); before each of the {args.rounds} rounds a new report makes a new data version. own: each "
        "refresh computes its snapshot (before issue #14); shared: data.read.snapshots (one computation per "
        "version, the other refreshes look it up).",
        "",
        "| snapshot | refreshes | snapshots computed | p50 ms | p95 ms | total s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for mode, n, c, p50, p95, total in rows:
        lines.append(f"| {mode} | {n} | {c} | {p50:.0f} | {p95:.0f} | {total:.1f} |")
    lines += [
        "",
        f"Shared: {own_row[5] / max(shared_row[5], 1e-9):.1f}x less time for the same refreshes; the p95 is the "
        "refresh that computes a new version.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        from bench_assign import update_section

        update_section(ROOT / "BENCHMARKS.md", SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
