"""Benchmark: how long a fresh web worker takes to its first wall response, with the display geometry
built in the worker (before issue #14) and loaded from the database where the first builder stored
it (after).

    DATABASE_URL=postgresql://... python bench/bench_worker_start.py [--runs 2] [--no-write]

Uses the district already in DATABASE_URL (e.g. `python app.py demo --grids 10000 --days 7`).
Each run is a new Python process (nothing cached): it creates the app as gunicorn's `app:server`
does, then renders /screen for a kiosk tab, answers its first refresh and serves the grid
polygons (/geo/grids.json), all through the real app (Flask test client). "build" deletes every
stored value first, so the process simplifies every polygon and serialises the layer itself (as every
worker did before issue #14); "stored" loads them.
Replaces the "bench:worker_start" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SECTION = "worker_start"


def child() -> None:
    """One fresh worker: app creation, then the wall's first page, refresh and polygons."""
    t0 = time.perf_counter()
    from dashboard.wsgi import create_dash
    from data.access import Viewer
    from tests.screen_client import ScreenClient

    app = create_dash()
    server = app.server
    server.config["GCC_VIEWER_RESOLVER"] = Viewer.kiosk  # the kiosk tab, as the tests drive it
    t_app = time.perf_counter()
    tab = ScreenClient(app)
    with server.app_context():
        tab.load(Viewer.kiosk())
    t_page = time.perf_counter()
    reply = tab.refresh()
    t_refresh = time.perf_counter()
    geo = server.test_client().get(f"/geo/grids.json?v={tab.meta.get('version')}&s=all")
    t_geo = time.perf_counter()
    print(
        json.dumps(
            {
                "app": t_app - t0,
                "page": t_page - t_app,
                "refresh": t_refresh - t_page,
                "geo": t_geo - t_refresh,
                "first_wall": t_geo - t0,
                "status": [reply.status, geo.status_code],
                "geo_bytes": len(geo.get_data()),
            }
        )
    )


def _run(mode: str) -> dict:
    from sqlalchemy import delete

    from data.db import Database
    from data.settings import load_settings
    from data.shared import SharedValue

    if mode == "build":
        db = Database(load_settings().resolved_database_url)
        with db.session() as s:
            s.execute(delete(SharedValue))  # the geometry, the served layers, the snapshots
        db.dispose()
    out = subprocess.run(
        [sys.executable, __file__, "--child"], cwd=ROOT, capture_output=True, text=True, timeout=900, env=os.environ
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child()
        return 0
    from sqlalchemy import func, select

    from data.db import Database
    from data.models import Region, Ticket
    from data.settings import load_settings

    db = Database(load_settings().resolved_database_url)
    with db.reader() as s:
        grids = s.scalar(select(func.count(Region.id)).where(Region.level == "grid"))
        tickets = s.scalar(select(func.count(Ticket.id)))
    db.dispose()
    rows = []
    for mode in ("build", "stored"):
        for _ in range(args.runs):
            r = _run(mode)
            rows.append((mode, r))
            print(mode, json.dumps(r), flush=True)
    load = os.getloadavg()[0]
    lines = [
        "## Fresh web worker: time to the first wall response",
        "",
        f"`python bench/bench_worker_start.py` on {dt.date.today()}: {platform.machine()}, {os.cpu_count()} cores "
        f"(load average {load:.1f} at the end: shared machine), Python {platform.python_version()}, "
        f"{'PostgreSQL' if not db.is_sqlite else 'SQLite'}; {grids:,} grids, {tickets:,} tickets. Each run is a new "
        "process: app creation as gunicorn's `app:server` does it, then the kiosk wall's page, its first refresh "
        "and the grid polygons it fetches (the Flask test client through the real app). "
        "build: nothing stored, the process simplifies the geometry and serialises the polygons (before issue #14, "
        "every worker did this); stored: both loaded from the database where the first builder stored them.",
        "",
        "| geometry | app created s | page s | first refresh s | polygons s | first wall response s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for mode, r in rows:
        cells = [r[k] for k in ("app", "page", "refresh", "geo", "first_wall")]
        lines.append(f"| {mode} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    best = {m: min(r["first_wall"] for mm, r in rows if mm == m) for m in ("build", "stored")}
    lines += [
        "",
        f"Best of {args.runs}: build {best['build']:.2f} s, stored {best['stored']:.2f} s "
        f"({best['build'] / best['stored']:.1f}x faster).",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        from bench_assign import update_section

        update_section(ROOT / "BENCHMARKS.md", SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
