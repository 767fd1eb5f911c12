"""The benchmark suite of issue #14: every figure of the city targets, each beside its baseline
measured in the same run, written into BENCHMARKS.md with machine, versions and date.

    python bench/run.py [--scale demo|city] [--db sqlite|postgresql] [--section NAME ...]
                        [--tickets N] [--seconds S] [--out BENCHMARKS.md] [--tiny]

--scale demo: the 150-grid demo (`python app.py demo`, a year of history); --scale city: 10,000
grids and --tickets tickets over two years written with COPY (data.demo.city; PostgreSQL only).
The district is generated once and reused by later runs (SQLite under --root, PostgreSQL in the
database gcc_bench_demo or gcc_city). Sections, in order (default: all):

  generate    the district (or how long it took when it was made)
  aggregates  incremental refresh after 1,000 changed tickets vs the full rebuild
  sweep       deadline sweep with nothing due vs the same sweep without its indexes
  assign      point-to-grid assignment (10,000 grids) vs geopandas.sjoin (bench_assign)
  import      `app.py import-tickets` rows/s vs pandas.read_csv + to_sql (bench_import)
  serve       against a running server (`app.py serve` + `app.py scheduler`, or --server-cmd):
              drill-downs first/repeat, page load, refresh payload, wall refresh under load,
              saturation, API create-report throughput, resident memory, headless Chromium

--tiny shrinks every size (CI smoke test: tests/test_bench_smoke.py); its times mean nothing.
Load goes only to 127.0.0.1, bounded by --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_assign import machine, update_section  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from data.db import Database, upgrade_schema  # noqa: E402
from data.models import Boundary, Region, Ticket, TicketEvent  # noqa: E402

SERVER_FIGURES = ("drill", "page", "load", "payload", "saturation", "api", "memory", "browser")
SECTIONS = ("generate", "aggregates", "sweep", "assign", "import", "serve")
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432"
DEMO_PASSWORD = "gcc-demo-2026"

# Every figure of the table, in its order: (key, figure, baseline, target).
FIGURES = [
    ("load", "wall refresh under realistic load, latency p50/p95", "—", "p95 ≤ 50 ms"),
    ("saturation", "saturation: closed-loop refreshes, max requests/s", "the refresh computed from the tickets table",
     "≥ 20x the baseline"),
    ("payload", "refresh payload (largest live refresh, as sent)", "re-sending the whole figure",
     "≤ 300 KB and ≤ 1/10 of the baseline"),
    ("page", "page load: first HTML + geometry as sent", "raw polygons (GeoJSON of the grid boundaries)", "≤ 3 MB"),
    ("browser", "headless Chromium: page open to map drawn", "—", "reported"),
    ("aggregates", "incremental aggregate refresh after {changes:,} changed tickets", "full rebuild",
     "≤ 1/20 of it and ≤ 100 ms on PostgreSQL"),
    ("sweep", "deadline sweep, nothing due", "the same sweep without its indexes", "≤ 50 ms"),
    ("drill", "drill-down: /district, a street, a community, a grid — first view / repeat", "—",
     "first ≤ 1 s, repeat ≤ 200 ms"),
    ("import", "bulk ticket import, rows/s", "pandas.read_csv + to_sql without assignment", "≥ 0.5x the baseline"),
    ("assign", "point-to-grid assignment, {grids:,} grids", "geopandas.sjoin on prebuilt frames",
     "≥ 2x and ≥ 1 M points/s"),
    ("api", "API create-report throughput, loopback, p95", "—", "≥ 200/s with p95 ≤ 100 ms on PostgreSQL"),
    ("memory", "resident memory per web worker; scheduler process", "—", "≤ 500 MB each"),
]  # fmt: skip


@dataclass
class Row:
    measured: str
    baseline: str = ""
    met: bool | None = None  # None: reported only
    notes: str = ""


@dataclass
class Run:
    args: argparse.Namespace
    url: str = ""
    env: dict = field(default_factory=dict)
    rows: dict[str, Row] = field(default_factory=dict)
    context: list[str] = field(default_factory=list)
    db: Database | None = None

    @property
    def pg(self) -> bool:
        return self.args.db == "postgresql"

    def say(self, message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def size(n: float) -> str:
    return f"{n / 1e6:,.2f} MB" if n >= 1e6 else f"{n / 1e3:,.1f} KB"


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def median_time(fn, repeat: int) -> float:
    return statistics.median(timed(fn)[0] for _ in range(repeat))


# ----------------------------------------------------------------------------------------------
# The district.


def prepare(run: Run) -> None:
    a = run.args
    if a.scale == "city" and not run.pg:
        raise SystemExit("--scale city is written with PostgreSQL COPY: use --db postgresql")
    if run.pg:
        name = a.database or ("gcc_city" if a.scale == "city" else "gcc_bench_demo")
        run.url = f"{a.pg_base}/{name}"
        run.env = {"DATABASE_URL": run.url, "GCC_INSTANCE_DIR": str(a.root / name)}
    else:
        instance = a.root / f"demo-{a.grids}-{a.days}"
        run.url = f"sqlite:///{instance / 'gcc.sqlite3'}"
        run.env = {"GCC_INSTANCE_DIR": str(instance)}
    Path(run.env["GCC_INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    if a.scale == "city":
        from data.demo.city import ensure_database

        ensure_database(run.url, reset=False)
    run.db = Database(run.url)
    upgrade_schema(run.db)
    ensure_model_indexes(run.db)


def ensure_model_indexes(db: Database) -> None:
    """A district made by an older version gets the tables and indexes the models name now (the
    one migration is regenerated in place, so its revision does not say)."""
    from sqlalchemy import inspect

    from data.schema import Base

    Base.metadata.create_all(db.engine)  # missing tables only
    existing = inspect(db.engine)
    with db.engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in existing.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                kind = column.type.compile(dialect=db.engine.dialect)
                default = f" DEFAULT {column.server_default.arg.text}" if column.server_default is not None else ""
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{default}'))
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            index.create(db.engine, checkfirst=True)


def generate(run: Run) -> None:
    a = run.args
    with run.db.reader() as s:
        grids = s.scalar(select(func.count()).select_from(Region).where(Region.level == "grid"))
    made = "reused"
    if not grids:
        run.say(f"generating the {a.scale} district into {run.url} (once; later runs reuse it)")
        t0 = time.perf_counter()
        if a.scale == "city":
            from data.demo.city import generate_city

            run.db.engine.dispose()
            stats = generate_city(run.url, tickets=a.tickets, grids=a.grids, days=a.days, say=run.say)
            note = (f"district {stats['district_s']:.0f} s, tickets+events COPY {stats['copy_s']:.0f} s, "
                    f"indexes {stats['indexes_s']:.0f} s, ANALYZE {stats['analyze_s']:.0f} s, "
                    f"full aggregates {stats.get('aggregates_s', 0):.0f} s")  # fmt: skip
        else:
            cmd = [sys.executable, "app.py", "demo", "--grids", str(a.grids), "--days", str(a.days)]
            subprocess.run(cmd, cwd=ROOT, env=app_env(run), check=True, stdout=subprocess.DEVNULL)
            note = "`python app.py demo` (every ticket lived through data.workflow)"
        seconds = time.perf_counter() - t0
        made = f"generated in {seconds / 60:.1f} min ({note})"
        with run.db.session() as s:
            from data.models import AppState

            s.merge(AppState(key="bench.generated", value=made))
    else:
        with run.db.reader() as s:
            from data.models import AppState

            state = s.get(AppState, "bench.generated")
            made = f"reused; {state.value}" if state else "reused (made before bench/run.py recorded its time)"
    with run.db.reader() as s:
        grids = s.scalar(select(func.count()).select_from(Region).where(Region.level == "grid"))
        tickets = s.scalar(select(func.max(Ticket.id))) or 0
        events = s.scalar(select(func.max(TicketEvent.id))) or 0
    run.context.append(f"District: {grids:,} grids, {tickets:,} tickets, {events:,} events; {made}.")
    if a.scale == "city":
        target = 30 * 60
        m = re.search(r"generated in ([0-9.]+) min", made)
        if m:
            verdict = "met" if float(m.group(1)) * 60 <= target else "NOT met"
            run.context.append(f"City generation target ≤ 30 min on this machine: {verdict}.")


def app_env(run: Run, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"PYTHONUNBUFFERED": "1", "GCC_DEMO_PASSWORD": DEMO_PASSWORD, **run.env, **(extra or {})})
    return env


# ----------------------------------------------------------------------------------------------
# Aggregates and the sweep.


def aggregates_section(run: Run) -> None:
    from bench_core import touch_tickets

    from data import aggregates

    tz = "Asia/Shanghai"
    with run.db.session() as s:
        aggregates.refresh(s, "incremental", tz=tz)  # catch up: only the changes below count
    run.say("full aggregate rebuild")
    full_s, _ = timed(lambda: _refresh(run.db, "full", tz))
    times, pairs, dones = [], [], []
    for k in range(3):
        done = touch_tickets(run.db, run.args.changes, random.Random(k))
        dones.append(done)
        t, summary = timed(lambda: _refresh(run.db, "incremental", tz))
        times.append(t)
        pairs.append(summary.get("pairs", 0))
        run.say(f"incremental after {done} changes: {t * 1000:.0f} ms ({summary})")
    inc = statistics.median(times)
    met = inc <= full_s / 20 and (inc <= 0.1 or not run.pg)
    run.rows["aggregates"] = Row(
        f"{ms(inc)} (median of 3 rounds of {min(dones):,}-{max(dones):,} changed tickets; "
        f"{statistics.median(pairs):,.0f} (grid, day) pairs)",
        f"{ms(full_s)} (1/{full_s / inc:,.0f})",
        met,
        "changes through data.workflow (accept, dispatch, respond, comment) on random open tickets",
    )


def _refresh(db, mode, tz):
    from data import aggregates

    with db.session() as s:
        return aggregates.refresh(s, mode, tz=tz)


SWEEP_INDEXES = (
    "ix_tickets_sweep_response_due",
    "ix_tickets_sweep_handle_due",
    "ix_tickets_status_handle_due",
    "ix_tickets_status_response_due",
)


def sweep_section(run: Run) -> None:
    from data import escalation

    def sweep():
        with run.db.session() as s:
            return escalation.sweep(s)

    first = sweep()  # whatever is due now is escalated; then nothing is due
    with_index = median_time(sweep, 5)
    without = []
    with run.db.engine.connect() as conn:
        trans = conn.begin()
        for name in SWEEP_INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        from sqlalchemy.orm import Session

        with Session(bind=conn) as s:
            for _ in range(3):
                t0 = time.perf_counter()
                escalation.sweep(s)
                without.append(time.perf_counter() - t0)
        trans.rollback()
    base = statistics.median(without)
    run.rows["sweep"] = Row(
        f"{ms(with_index)} (median of 5)",
        f"{ms(base)} (median of 3; {base / with_index:,.0f}x slower)",
        with_index <= 0.05,
        f"first sweep escalated {first.response_escalations + first.handling_escalations} "
        f"(the generator leaves the last 2 h for it); partial indexes ix_tickets_sweep_*",
    )


# ----------------------------------------------------------------------------------------------
# Assignment and import (bench_assign, bench_import).


def assign_section(run: Run) -> None:
    import geopandas as gpd
    import numpy as np
    from bench_assign import make_city, ticket_points, time_sjoin

    from geo.assign import GridIndex

    a = run.args
    city = make_city(1, a.assign_grids)
    codes = np.array([g.code for g in city.grids], dtype=object)
    polygons = np.array([g.polygon for g in city.grids], dtype=object)
    index = GridIndex(codes, polygons)
    frame = gpd.GeoDataFrame({"code": codes}, geometry=polygons, crs=4326)
    lon, lat = ticket_points(np.random.default_rng(1), polygons, a.points)
    ours = min(timed(lambda: index.assign(lon, lat))[0] for _ in range(3))
    sjoin_s, _ = time_sjoin(3, lon, lat, frame)
    rate = len(lon) / ours
    run.rows["assign"] = Row(
        f"{rate / 1e6:.2f} M points/s ({len(lon):,} ticket-like points, best of 3)",
        f"{len(lon) / sjoin_s / 1e6:.2f} M points/s ({sjoin_s / ours:.1f}x slower)",
        sjoin_s / ours >= 2 and rate >= 1e6,
        "geo.assign.GridIndex.assign; one core",
    )


def import_section(run: Run) -> None:
    import pandas as pd
    from bench_import import MAPPING, grid_file, ticket_file, work_seconds
    from sqlalchemy import create_engine

    a = run.args
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        grids, shape = grid_file(folder, 150, 1, "GeoJSON")
        tickets = ticket_file(folder, shape, a.import_rows, 2)
        if run.pg:
            name = f"gcc_bench_import_{uuid.uuid4().hex[:8]}"
            from data.demo.city import ensure_database

            url = f"{a.pg_base}/{name}"
            ensure_database(url, reset=True)
            env = {"DATABASE_URL": url, "GCC_INSTANCE_DIR": str(folder / "pg")}
        else:
            url = f"sqlite:///{folder / 'sqlite' / 'gcc.sqlite3'}"
            env = {"GCC_INSTANCE_DIR": str(folder / "sqlite")}
        e = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, **env}
        try:
            for cmd in (["import-grids", grids, "--parent-field", "sqbm"],
                        ["import-tickets", tickets, "--source", "hotline", *MAPPING]):  # fmt: skip
                done = subprocess.run([sys.executable, "app.py", *map(str, cmd)], cwd=ROOT, env=e,
                                      capture_output=True, text=True, timeout=3600)  # fmt: skip
                if done.returncode:
                    raise SystemExit(f"{cmd[0]} failed:\n{done.stdout}\n{done.stderr}")
            work = work_seconds(done.stdout)
            engine = create_engine(url)

            def baseline():
                frame = pd.read_csv(tickets, encoding="utf-8-sig")
                frame.to_sql("bench_import_baseline", engine, if_exists="replace", index=False, chunksize=10_000)

            base_s, _ = timed(baseline)
            engine.dispose()
        finally:
            if run.pg:
                import psycopg

                from data.demo.city import pg_url

                with psycopg.connect(pg_url(a.pg_base) + "/postgres", autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ours, theirs = a.import_rows / work, a.import_rows / base_s
    run.rows["import"] = Row(
        f"{ours:,.0f} rows/s ({a.import_rows:,} rows: parse, place, tickets + events + audit, aggregates)",
        f"{theirs:,.0f} rows/s ({ours / theirs:.2f}x of it)",
        ours >= 0.5 * theirs,
        "a 12345-style CSV (BOM, three date formats, 10 % outside every grid) into a fresh database",
    )


# ----------------------------------------------------------------------------------------------
# Against a running server.


@dataclass
class Server:
    url: str
    web: subprocess.Popen
    scheduler: subprocess.Popen | None
    log: Path
    kiosk: str

    def stop(self) -> None:
        for p in (self.web, self.scheduler):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()


def start_server(run: Run) -> Server:
    from tests.live_server import free_port

    port = free_port()
    log = Path(run.env["GCC_INSTANCE_DIR"]) / "bench-server.log"
    env = app_env(run, {"GCC_SIMULATE": "true"})
    cmd = run.args.server_cmd or f"{sys.executable} app.py serve --host 127.0.0.1 --port {{port}} --no-scheduler"
    with open(log, "w") as out:
        web = subprocess.Popen(cmd.format(port=port).split(), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    sched_log = open(log.with_suffix(".scheduler.log"), "w")
    scheduler = subprocess.Popen([sys.executable, "app.py", "scheduler", "--simulate"], cwd=ROOT, env=env,
                                 stdout=sched_log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 600
    import httpx

    while time.time() < deadline:
        if web.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code in (200, 503):
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    kiosk = ""
    for _ in range(60):
        found = re.search(r"screen\?kiosk=([A-Za-z0-9_\-]+)", log.read_text(errors="replace"))
        if found:
            kiosk = found.group(1)
            break
        time.sleep(0.5)
    if not kiosk:
        out = subprocess.run([sys.executable, "app.py", "kiosk-url", "--base-url", url], cwd=ROOT, env=env,
                             capture_output=True, text=True)  # fmt: skip
        found = re.search(r"kiosk=([A-Za-z0-9_\-]+)", out.stdout)
        kiosk = found.group(1) if found else ""
    return Server(url, web, scheduler, log, kiosk)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (a gunicorn master's workers are reported
    separately by the caller)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def serve_section(run: Run) -> None:
    import load

    with run.db.reader() as s:
        codes = {lvl: s.scalars(select(Region.code).where(Region.level == lvl).limit(50)).all()
                 for lvl in ("street", "community", "grid")}  # fmt: skip
        raw_polygons = s.scalars(
            select(Boundary.geometry).join(Region, Region.id == Boundary.region_id)
            .where(Region.level == "grid", Boundary.valid_to.is_(None))
        ).all()  # fmt: skip
    raw = ('{"type":"FeatureCollection","features":[' + ",".join(
        '{"type":"Feature","geometry":' + g + "}" for g in raw_polygons) + "]}").encode()  # fmt: skip
    run.say("starting the server and the scheduler")
    t0 = time.perf_counter()
    server = start_server(run)
    started = time.perf_counter() - t0
    try:
        asyncio.run(_serve(run, server, codes, raw, started, load))
        run.rows["browser"] = browser_row(run, server)  # Playwright's sync API: outside the event loop
    except Exception as e:  # noqa: BLE001 - a server that stops answering is a result: say so in the table
        run.say(f"the server section stopped: {e!r}")
        for key in SERVER_FIGURES:
            if key not in run.rows:
                why = f"not measured: the server section stopped ({type(e).__name__}: {e})"
                run.rows[key] = Row(why[:200], met=False)
    finally:
        server.stop()


async def _serve(run: Run, server: Server, codes: dict, raw: bytes, started: float, load) -> None:
    a = run.args
    target = load.Target(server.url, server.kiosk)
    async with load.httpx.AsyncClient(base_url=server.url, timeout=60) as c:
        target.dependencies = await load.dependencies(c)
    paths = ["/district"] + [f"/{lvl}/{codes[lvl][0]}" for lvl in ("street", "community", "grid") if codes[lvl]]

    # Drill-downs: first view (fresh server) and repeat, one supervisor.
    page_dep = load.callback(target.dependencies, "_pages_content.children")
    client = await load.login_client(target, "admin", DEMO_PASSWORD)
    drill = []
    refused = []
    for path in paths:
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            r = await client.post("/_dash-update-component", json=load.page_payload(page_dep, path))
            times.append(time.perf_counter() - t0)
        if r.status_code != 200:
            refused.append(f"{path} answered {r.status_code}")
            continue
        drill.append((path.split("/")[1], times[0], times[1]))
    await client.aclose()
    paths = [p for p in paths if not any(x.startswith(p + " ") for x in refused)] or paths
    worst_first = max((d[1] for d in drill), default=float("inf"))
    worst_repeat = max((d[2] for d in drill), default=float("inf"))
    run.rows["drill"] = Row(
        "; ".join([f"{name} {ms(f)} / {ms(r)}" for name, f, r in drill] + refused),
        "",
        worst_first <= 1.0 and worst_repeat <= 0.2 and not refused,
        f"the pages router's callback over HTTP, logged in as admin, right after the server started "
        f"({started:.0f} s to answer /healthz)",
    )

    # Page load: the wall's HTML and its geometry as sent (gzip), against the raw polygons.
    async with load.kiosk(target) as kc:
        html = await kc.get(f"/screen?kiosk={server.kiosk}")
        html_bytes = int(html.headers.get("content-length") or len(html.content))
    start, full_sent, _, _ = await load.first_refresh(target)
    version = start.meta.get("version")
    geo = {}
    async with load.kiosk(target) as kc:
        for layer in ("grids", "communities", "streets"):
            r = await kc.get(f"/geo/{layer}.json?v={version}&s=all")
            geo[layer] = int(r.headers.get("content-length") or len(r.content)) if r.status_code == 200 else 0
    page_total = html_bytes + full_sent + sum(geo.values())
    run.rows["page"] = Row(
        f"{size(page_total)} (HTML {size(html_bytes)}, first refresh {size(full_sent)}, geometry "
        + ", ".join(f"{k} {size(v)}" for k, v in geo.items())
        + ", gzip as sent)",
        f"{size(len(raw))} raw, {size(len(gzip.compress(raw, 6)))} gzipped",
        page_total <= 3e6,
    )

    # Wall refresh under realistic load (with the simulator adding reports through the scheduler).
    run.say(f"realistic load: {a.screens} screens every {a.every}s + {a.supervisors} supervisors, {a.seconds} s")
    result = await load.realistic_load(
        target, screens=a.screens, every_s=a.every, supervisors=a.supervisors, click_s=a.click, paths=paths,
        seconds=a.seconds, login=("admin", DEMO_PASSWORD), start=start,
    )  # fmt: skip
    wall, drills = result["wall"], result["drill"]
    p95 = wall.pct(95)
    run.rows["load"] = Row(
        f"p50 {ms(wall.pct(50))}, p95 {ms(p95)} ({len(wall.latencies):,} refreshes in {result['seconds']:.0f} s, "
        f"{len(wall.errors)} errors/timeouts)",
        "",
        bool(wall.latencies) and p95 <= 0.05 and not wall.errors,
        f"{a.screens} screens each every {a.every:g} s + {a.supervisors} supervisors opening a drill-down every "
        f"~{a.click:g} s (p50 {ms(drills.pct(50))}, p95 {ms(drills.pct(95))}, {len(drills.errors)} errors); "
        f"server: {server_label(a)} + python app.py scheduler (simulator on)",
    )
    largest = max(wall.sizes) if wall.sizes else 0
    whole = full_sent + geo["grids"]  # the figure with its polygons, as the wall got it before geometry URLs
    run.rows["payload"] = Row(
        f"{size(largest)} largest, {size(load.pct(wall.sizes, 95))} p95 (of {len(wall.sizes):,} live refreshes, "
        "gzip as sent)",
        f"{size(whole)} (the whole figure {size(full_sent)} + its grid polygons {size(geo['grids'])}, gzip as sent; "
        f"{whole / max(largest, 1):,.0f}x the largest refresh)",
        largest <= 300_000 and largest <= whole / 10,
    )

    # Saturation: closed loop, against the same refresh computed from the tickets table.
    run.say("saturation (closed loop)")
    sat = await load.closed_loop(target, clients=a.clients, seconds=a.seconds / 2, start=start)
    base = baseline_refresh_seconds(run)
    ratio = sat["rps"] * base
    run.rows["saturation"] = Row(
        f"{sat['rps']:,.1f} refreshes/s ({a.clients} clients back to back, p95 {ms(sat['samples'].pct(95))}, "
        f"{len(sat['samples'].errors)} errors)",
        f"{1 / base:,.2f}/s ({ms(base)} per refresh; {ratio:,.0f}x)",
        ratio >= 20,
        "baseline: the grid windows of every grid computed from tickets (data.indicators.compute_windows, "
        "what grid_stats stores) once, one at a time",
    )

    # API create-report throughput.
    api_rows(run, server)

    # Memory after all of that.
    web_pids = [server.web.pid, *children(server.web.pid)]
    web_mb = max(rss_mb(p) for p in web_pids)
    sched_mb = rss_mb(server.scheduler.pid) if server.scheduler else float("nan")
    run.rows["memory"] = Row(
        f"web {web_mb:,.0f} MB, scheduler {sched_mb:,.0f} MB",
        "",
        web_mb <= 500 and sched_mb <= 500,
        "VmRSS after the load runs",
    )


def server_label(a) -> str:
    return f"`{a.server_cmd}`" if a.server_cmd else "python app.py serve (waitress, 8 threads, one process)"


def baseline_refresh_seconds(run: Run) -> float:
    from data import indicators
    from data.aggregates import NO_GRID, windows
    from data.clock import utcnow

    now = utcnow()
    with run.db.reader() as s:
        t0 = time.perf_counter()
        indicators.compute_windows(
            s, text("1=1"), windows(now, "Asia/Shanghai"), group_by=func.coalesce(Ticket.grid_id, NO_GRID), now=now
        )
        return time.perf_counter() - t0


def api_rows(run: Run, server: Server) -> None:
    from bench_intake import grid_points
    from bench_intake import load as post_load

    a = run.args
    env = app_env(run)
    cmd = ["api-keys", "create", f"bench-{uuid.uuid4().hex[:6]}", "--role", "system", "--source", "resident"]
    out = subprocess.run([sys.executable, "app.py", *cmd], cwd=ROOT, env=env, capture_output=True, text=True)
    key = out.stdout.strip().splitlines()[-1] if out.returncode == 0 else ""
    points = grid_points(run.url, n=500)
    post_load(server.url, key, points, 1, 4, None)  # warm-up
    r = post_load(server.url, key, points, a.seconds / 2, 8, None)
    run.rows["api"] = Row(
        f"{r['rps']:,.0f}/s, p95 {r['p95_ms']:,.0f} ms ({r['requests']:,} reports, {r['errors']} errors)",
        "",
        r["rps"] >= 200 and r["p95_ms"] <= 100 if run.pg else None,
        "8 client threads posting JSON reports (POST /api/v1/tickets, Idempotency-Key) while the wall load has stopped",
    )


def browser_row(run: Run, server: Server) -> Row:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return Row("not measured (playwright missing)")
    script = """() => {
        const gd = document.querySelector('#screen-map .js-plotly-plot') || document.querySelector('.js-plotly-plot');
        if (!gd || !gd._fullLayout || !gd.data || !gd.data.length) return false;
        const sub = gd._fullLayout.map && gd._fullLayout.map._subplot;
        const map = sub && sub.map;
        return !!(map && map.loaded() && map.areTilesLoaded() && !map.isMoving());
    }"""
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                      "--disable-sync", "--no-first-run"],
            )  # fmt: skip
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            t0 = time.perf_counter()
            page.goto(f"{server.url}/screen?kiosk={server.kiosk}")
            page.wait_for_selector(".maplibregl-canvas", timeout=180_000)
            canvas = time.perf_counter() - t0
            page.wait_for_function(script, timeout=180_000, polling=100)
            drawn = time.perf_counter() - t0
            browser.close()
        return Row(f"{ms(drawn)} to map drawn ({ms(canvas)} to the map canvas)", "", None,
                   "Debian chromium, headless, software rendering, 1920x1080")  # fmt: skip
    except Exception as e:  # noqa: BLE001 - a browser that cannot draw is a finding, not a crash of the suite
        return Row(f"not drawn: {type(e).__name__}: {str(e)[:120]}", "", False)


# ----------------------------------------------------------------------------------------------
# The table.


def render(run: Run) -> str:
    import dash
    import plotly
    import sqlalchemy

    a = run.args
    backend = "PostgreSQL" if run.pg else "SQLite"
    with run.db.engine.connect() as c:
        version = c.execute(text("SELECT version()" if run.pg else "SELECT sqlite_version()")).scalar()
    version = version.split(" on ")[0] if run.pg else f"SQLite {version}"
    title = f"## bench/run.py: {a.scale} scale on {backend}" + (f", {a.label}" if a.label else "")
    lines = [
        title,
        "",
        f"`python bench/run.py --scale {a.scale} --db {a.db}"
        + (f" --tickets {a.tickets}" if a.scale == "city" else "")
        + (" --tiny" if a.tiny else "")
        + "".join(f" --section {x}" for x in a.section or ())
        + (f" --label {a.label} --server-cmd '{a.server_cmd}'" if a.label and a.server_cmd else "")
        + f"` on {dt.date.today()} ({time.strftime('%H:%M UTC', time.gmtime())}): "
        f"{machine()}; {version}, SQLAlchemy {sqlalchemy.__version__}, dash {dash.__version__}, "
        f"plotly {plotly.__version__}.",
        "",
        *run.context,
        "",
        "| figure | measured | baseline in the same run | target | met? | notes |",
        "|---|---|---|---|---|---|",
    ]
    for key, figure, baseline, target in FIGURES:
        figure = figure.format(changes=a.changes, grids=a.assign_grids)
        row = run.rows.get(key)
        if row is None:
            lines.append(f"| {figure} | not measured in this run | {baseline} | {target} | — | |")
            continue
        met = {True: "met", False: "**NOT met**", None: "reported"}[row.met]
        base = f"{baseline}: {row.baseline}" if row.baseline else baseline
        cells = [figure, row.measured, base, target, met, row.notes]
        lines.append("| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |")
    if a.tiny:
        lines += ["", "(--tiny: a smoke run with toy sizes; the times mean nothing.)"]
    return "\n".join(lines)


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", choices=("demo", "city"), default="demo")
    p.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--section", action="append", choices=SECTIONS, help="run only these (repeatable)")
    p.add_argument("--tickets", type=int, default=10_000_000, help="city tickets (default 10,000,000)")
    p.add_argument("--grids", type=int, help="grids (default 150 demo, 10,000 city)")
    p.add_argument("--days", type=int, help="days of history (default 365 demo, 730 city)")
    p.add_argument("--database", help="PostgreSQL database name (default gcc_bench_demo / gcc_city)")
    p.add_argument("--pg-base", default=PG_BASE, help=f"PostgreSQL server (default {PG_BASE})")
    p.add_argument("--root", type=Path, default=Path("/tmp/gcc-bench-run"), help="SQLite districts and logs")
    p.add_argument("--seconds", type=float, default=60, help="load duration (default 60)")
    p.add_argument("--screens", type=int, default=200)
    p.add_argument("--every", type=float, default=10, help="seconds between a screen's refreshes")
    p.add_argument("--supervisors", type=int, default=20)
    p.add_argument("--click", type=float, default=5, help="seconds between a supervisor's clicks")
    p.add_argument("--clients", type=int, default=16, help="closed-loop clients for the saturation")
    p.add_argument("--changes", type=int, default=1000)
    p.add_argument("--points", type=int, default=1_000_000)
    p.add_argument("--assign-grids", type=int, default=10_000)
    p.add_argument("--import-rows", type=int, default=20_000)
    p.add_argument("--server-cmd", help="web server command with {port} (default: python app.py serve ...)")
    p.add_argument("--label", help="a name for this run's own section (e.g. the server topology)")
    p.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    p.add_argument("--tiny", action="store_true", help="toy sizes (CI smoke test)")
    a = p.parse_args(argv)
    a.grids = a.grids or (10_000 if a.scale == "city" else 150)
    a.days = a.days or (730 if a.scale == "city" else 365)
    if a.tiny:
        a.grids, a.days, a.tickets = min(a.grids, 12), min(a.days, 5), min(a.tickets, 2000)
        a.seconds, a.screens, a.supervisors, a.every, a.click, a.clients = 2, 3, 1, 1, 1, 2
        a.changes, a.points, a.assign_grids, a.import_rows = 20, 5000, 30, 200
    return a


def main(argv=None) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers started here (finally)
    a = parse(argv)
    run = Run(a)
    prepare(run)
    chosen = a.section or SECTIONS
    steps = {"generate": generate, "aggregates": aggregates_section, "sweep": sweep_section,
             "assign": assign_section, "import": import_section, "serve": serve_section}  # fmt: skip
    for name in SECTIONS:
        if name in chosen or name == "generate":
            run.say(f"section {name}")
            steps[name](run)
    markdown = render(run)
    print(markdown)
    update_section(a.out, f"run-{a.scale}-{a.db}" + (f"-{a.label}" if a.label else ""), markdown)
    run.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
