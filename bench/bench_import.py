"""Import and export speed as a user meets it: `python app.py import-grids / import-tickets /
export-tickets` on SQLite and PostgreSQL.

    python bench/bench_import.py [--tickets 10000] [--grids 150] [--city-grids 10000]
                                 [--pg postgresql://postgres@127.0.0.1/test] [--no-write]

Per backend, on a fresh database: import a grid file (GeoJSON, --grids grids with a community
field), import a 12345-style CSV of --tickets tickets (BOM, CRLF, three date formats, NA, 10 % of
points outside every grid), import the same file again (a no-op), import a newer export of it
(every eighth ticket closed since: synced), export every ticket; then
import a city of --city-grids grids (GeoPackage) and import it again. Each command runs as its own
process; "command s" is the process's wall time (Python start-up and schema check included),
"work s" what the command reports for itself (tickets only). Replaces the "bench:import" section
of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from bench_assign import machine, update_section  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from geo.tiling import make_district  # noqa: E402

SECTION = "import"


def grid_file(folder: Path, n_grids: int, seed: int, driver: str) -> tuple[Path, object]:
    n_communities = max(1, n_grids // 25)
    shape = make_district(
        seed=seed, n_streets=max(1, n_communities // 20), n_communities=n_communities, n_grids=n_grids
    )
    frame = gpd.GeoDataFrame(
        {
            "wgbm": [g.code for g in shape.grids],
            "wgmc": [g.name for g in shape.grids],
            "sqbm": [g.parent_code for g in shape.grids],
        },
        geometry=[g.polygon for g in shape.grids],
        crs=4326,
    )
    path = folder / (f"grids_{n_grids}.geojson" if driver == "GeoJSON" else f"grids_{n_grids}.gpkg")
    frame.to_file(path, driver=driver)
    return path, shape


def ticket_file(folder: Path, shape, n: int, seed: int, *, newer: bool = False) -> Path:
    """The export; `newer`: the same export a while later, every eighth ticket since closed."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = shape.outline.bounds
    xs, ys = [], []
    while len(xs) < n:
        x, y = rng.uniform(minx - 0.01, maxx + 0.01, n), rng.uniform(miny - 0.01, maxy + 0.01, n)
        inside = shapely.contains_xy(shape.outline, x, y)
        keep = inside | (rng.random(n) < 0.1)
        xs += list(x[keep])
        ys += list(y[keep])
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["工单编号", "经度", "纬度", "受理时间", "办结时间", "办理时限", "办理状态", "问题类型", "诉求内容"]
    )
    formats = ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%y %H:%M")
    for i in range(n):
        created = start + dt.timedelta(minutes=50 * i)
        closed = created + dt.timedelta(hours=float(rng.uniform(2, 90)))
        done = i % 4 != 0 or (newer and i % 8 == 0)
        writer.writerow(
            [
                f"12345-{i:07d}",
                "NA" if i % 50 == 0 else f"{xs[i]:.7f}",
                "NA" if i % 50 == 0 else f"{ys[i]:.7f}",
                created.strftime(formats[i % 3]),
                closed.isoformat() if done else "",
                (created + dt.timedelta(days=3)).strftime("%Y-%m-%d"),
                "已办结" if done else "处理中",
                ("暴露垃圾", "占道经营", "噪音扰民", "飞线充电")[i % 4],
                f"市民反映第{i}号问题，\n请尽快处理",
            ]
        )
    path = folder / ("tickets_newer.csv" if newer else "tickets.csv")
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    return path


def run(env: dict, *args) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "app.py", *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def work_seconds(stdout: str) -> float | None:
    found = re.search(r"Done in ([0-9.]+) s", stdout)
    return float(found.group(1)) if found else None


def backend_rows(label: str, env: dict, files: dict, n_tickets: int, n_grids: int, n_city: int, folder: Path):
    rows = []
    s, _ = run(env, "import-grids", files["grids"], "--parent-field", "sqbm")
    rows.append((label, f"import-grids, {n_grids} grids (GeoJSON)", n_grids, s, None))
    s, out = run(env, "import-tickets", files["tickets"], "--source", "hotline", *MAPPING)
    assert f"imported {n_tickets}" in out, out
    rows.append((label, f"import-tickets, {n_tickets:,} rows (+ aggregates refresh)", n_tickets, s, work_seconds(out)))
    s, out = run(env, "import-tickets", files["tickets"], "--source", "hotline", *MAPPING)
    assert f"unchanged {n_tickets}" in out, out
    rows.append((label, "import-tickets again (all unchanged)", n_tickets, s, work_seconds(out)))
    s, out = run(env, "import-tickets", files["newer"], "--source", "hotline", *MAPPING)
    changed = len(range(0, n_tickets, 8))
    assert f"updated (sync) {changed}," in out, out
    rows.append((label, f"import-tickets, a newer export ({changed:,} closed since: sync)", n_tickets, s,
                 work_seconds(out)))  # fmt: skip
    s, out = run(env, "export-tickets", folder / f"export_{label}.csv")
    rows.append((label, f"export-tickets, {n_tickets:,} rows", n_tickets, s, None))
    if n_city:
        s, _ = run(env, "import-grids", files["city"], "--parent-field", "sqbm")
        rows.append((label, f"import-grids, city of {n_city:,} grids (GeoPackage)", n_city, s, None))
        s, out = run(env, "import-grids", files["city"], "--parent-field", "sqbm")
        assert f"{n_city} unchanged" in out, out
        rows.append((label, "import-grids, the city again (all unchanged)", n_city, s, None))
    return rows


MAPPING = [
    "--map", "external_id=工单编号", "--map", "lon=经度", "--map", "lat=纬度", "--map", "created_at=受理时间",
    "--map", "closed_at=办结时间", "--map", "due_at=办理时限", "--map", "status=办理状态",
    "--map", "category=问题类型", "--map", "description=诉求内容",
]  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--grids", type=int, default=150)
    parser.add_argument("--city-grids", type=int, default=10_000, help="0 to skip the city import")
    parser.add_argument("--pg", help="PostgreSQL server URL; a throwaway database is created on it")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args(argv)

    where = machine()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        grids, shape = grid_file(folder, args.grids, 1, "GeoJSON")
        files = {
            "grids": grids,
            "tickets": ticket_file(folder, shape, args.tickets, 2),
            "newer": ticket_file(folder, shape, args.tickets, 2, newer=True),
        }
        if args.city_grids:
            files["city"] = grid_file(folder, args.city_grids, 3, "GPKG")[0]
        base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        rows = []
        env = {**base, "GCC_INSTANCE_DIR": str(folder / "sqlite")}
        rows += backend_rows("SQLite", env, files, args.tickets, args.grids, args.city_grids, folder)
        if args.pg:
            url = args.pg.replace("postgresql://", "postgresql+psycopg://", 1)
            admin = create_engine(url, isolation_level="AUTOCOMMIT")
            name = f"gcc_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                env = {
                    **base,
                    "GCC_INSTANCE_DIR": str(folder / "pg"),
                    "DATABASE_URL": url.rsplit("/", 1)[0] + f"/{name}",
                }
                rows += backend_rows("PostgreSQL", env, files, args.tickets, args.grids, args.city_grids, folder)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()

    lines = [
        "## Import and export (`python app.py import-grids / import-tickets / export-tickets`)",
        "",
        f"`python bench/bench_import.py{' --pg ...' if args.pg else ''}` on {dt.date.today()}: {where}.",
        "",
        "Each command is its own process on a fresh database; command s is its wall time (about 2 s of it is "
        "Python start-up, imports and the schema check), work s what import-tickets reports for itself "
        "(parse, place, write tickets + events + audit rows, refresh the aggregates). Earlier runs while other "
        "suites ran (load average 4-6) took 2-3x as long (10,000 tickets: 5-7 s of work on SQLite).",
        "",
        "| database | command | rows | command s | work s | rows/s (work) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, what, n, seconds, work in rows:
        rate = f"{n / work:,.0f}" if work else f"{n / seconds:,.0f} (command)"
        lines.append(f"| {label} | {what} | {n:,} | {seconds:.2f} | {'' if work is None else f'{work:.2f}'} | {rate} |")
    markdown = "\n".join(lines)
    print(markdown)
    if not args.no_write:
        update_section(ROOT / "BENCHMARKS.md", SECTION, markdown)


if __name__ == "__main__":
    main()
