"""Benchmark: the early warning (issue #11) — detection of planted incidents, delay, false alerts on
a quiet district, and the job's cost at 10,000 grids.

    python bench/bench_alerts.py [--grids 100] [--days 70] [--replay-days 14] [--step-minutes 10]
                                 [--city-grids 10000] [--root /tmp/gcc-bench-alerts] [--no-write]

1. Two copies of the demo district (`--grids`, `--days` of history, the demo generator without
   its own planted incidents): "planted" gets incidents at random times in the last
   `--replay-days` (bursts of one category in one estate, reports close together across a grid
   border, recurring spots, flapping sensors: data.demo.incidents); "quiet" gets none.
2. Each is replayed: the job runs every `--step-minutes` of simulated time over the last
   `--replay-days` (data.alerts.job.run(now=t, since=t - step): only what was created in the step,
   as the live job sees only what is new), with the default thresholds.
3. An alert is true when its evidence holds a planted ticket. Recall: planted incidents with an
   alert; precision: true alerts / all alerts; delay: alert time minus the incident's first
   report, and minus the moment its evidence reached the detector's minimum; false alerts per day
   per 100 grids (planted run, and the quiet district, where every alert is false).
4. Cost at `--city-grids` grids: a synthetic city (regions and 57 days of tickets at the demo's
   rate, bulk-inserted) and incremental runs each after one minute's new reports.

Writes the "bench:alerts" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_assign import update_section  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from data.alerts import job  # noqa: E402
from data.alerts.models import Alert, AlertEvidence  # noqa: E402
from data.clock import utcnow  # noqa: E402
from data.db import Database, upgrade_schema  # noqa: E402
from data.demo import generate  # noqa: E402
from data.demo import incidents as plant  # noqa: E402
from data.models import Category, Region, Ticket  # noqa: E402
from data.settings import load_settings  # noqa: E402

SECTION = "alerts"
EVENT_CODES = ("0101", "0102", "0201", "0202", "0203", "0301", "0303", "0401", "0402", "0403", "0404", "0502")


def make_demo(root: Path, grids: int, days: int, seed: int) -> Path:
    path = root / f"demo-{grids}-{days}-{seed}.sqlite3"
    if not path.exists():
        db = Database(f"sqlite:///{path}")
        upgrade_schema(db)
        settings = load_settings(gcc_instance_dir=root / "instance", database_url=f"sqlite:///{path}")
        generate(db, settings, grids=grids, days=days, seed=seed, incidents=False)
        db.dispose()
    return path


def border_point(session, grid_id: int) -> tuple[float, float]:
    """A vertex of the grid's boundary: its neighbours share it."""
    import shapely

    from data.regions import current_boundary

    geom = shapely.from_geojson(current_boundary(session, grid_id).geometry)
    ring = (geom.geoms[0] if hasattr(geom, "geoms") else geom).exterior.coords
    return ring[len(ring) // 3]


def plant_cluster(session, grid_id: int, end: dt.datetime, code: str) -> plant.Planted:
    """Five reports of one category within ~80 m of a grid corner (across the border), over 8 hours."""
    lon, lat = border_point(session, grid_id)
    ids, times = [], []
    for i in range(5):
        at = end - dt.timedelta(hours=8) + dt.timedelta(hours=8 * (i + 1) / 5)
        p = plant._offset(lon, lat, 40 * ((i % 3) - 1), 35 * ((i // 3) - 0.5))
        ids.append(plant._report(session, code, *p, at, "resident", "同一处反复有人反映").id)
        times.append(at)
    return plant.Planted("cluster", tuple(ids), times[0], times[4], grid_id)  # due at the 5th (the minimum)


def plant_all(db: Database, start: dt.datetime, end: dt.datetime, rng: random.Random) -> list[plant.Planted]:
    out = []
    with db.session() as s:
        grids = list(s.scalars(select(Region.id).where(Region.level == "grid")))
        span = (end - start).total_seconds() - 6 * 3600

        def when(extra_hours=0.0):
            return start + dt.timedelta(seconds=rng.uniform(extra_hours * 3600, span))

        for _ in range(16):
            out.append(
                plant.plant_burst(s, rng.choice(grids), when(3), n=rng.choice((5, 6, 7)), code=rng.choice(EVENT_CODES))
            )
        for _ in range(8):
            out.append(plant_cluster(s, rng.choice(grids), when(8), rng.choice(EVENT_CODES)))
        for _ in range(8):
            out.append(plant.plant_recurring(s, rng.choice(grids), when(0), code=rng.choice(("0301", "0303", "0404"))))
        for i in range(6):
            out.append(plant.plant_device(s, rng.choice(grids), when(0), device=f"BENCH-{i:02d}"))
    return out


def replay(db: Database, settings, start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> dict:
    seconds, runs, t = [], 0, start
    while t < end:
        nxt = min(t + step, end)
        with db.session() as s:
            t0 = time.perf_counter()
            job.run(s, settings, nxt, since=t)
            seconds.append(time.perf_counter() - t0)
        runs += 1
        t = nxt
    return {"runs": runs, "mean_s": statistics.mean(seconds), "max_s": max(seconds)}


def score(db: Database, planted: list[plant.Planted], days: float, grids: int) -> dict:
    with db.reader() as s:
        alerts = list(s.execute(select(Alert.id, Alert.kind, Alert.created_at)))
        evidence: dict[int, set[int]] = {}
        for alert_id, ticket_id in s.execute(select(AlertEvidence.alert_id, AlertEvidence.ticket_id)):
            evidence.setdefault(alert_id, set()).add(ticket_id)
    planted_ids = {t for p in planted for t in p.tickets}
    true = [a for a in alerts if evidence.get(a.id, set()) & planted_ids]
    false = [a for a in alerts if not evidence.get(a.id, set()) & planted_ids]
    detected, delays_first, delays_due, by_kind = 0, [], [], {}
    for p in planted:
        hits = [a for a in alerts if evidence.get(a.id, set()) & set(p.tickets)]
        k = by_kind.setdefault(p.kind, [0, 0])
        k[1] += 1
        if hits:
            detected += 1
            k[0] += 1
            first = min(a.created_at for a in hits)
            delays_first.append((first - p.first_at).total_seconds() / 60)
            delays_due.append((first - p.due_at).total_seconds() / 60)
    false_kinds: dict[str, int] = {}
    for a in false:
        false_kinds[a.kind] = false_kinds.get(a.kind, 0) + 1
    return {
        "alerts": len(alerts),
        "true": len(true),
        "false": len(false),
        "false_kinds": false_kinds,
        "recall": detected / len(planted) if planted else None,
        "precision": len(true) / len(alerts) if alerts else None,
        "by_kind": by_kind,
        "delay_first_median_min": statistics.median(delays_first) if delays_first else None,
        "delay_due_median_min": statistics.median(delays_due) if delays_due else None,
        "delay_due_max_min": max(delays_due) if delays_due else None,
        "false_per_day_100": len(false) / days * 100 / grids,
    }


# ----------------------------------------------------------------------------------------------
# Cost at city scale: a synthetic city written in bulk.


def make_city(
    root: Path, grids: int, days: int = 57, per_grid_day: float = 2.0, seed: int = 5
) -> tuple[Path, dt.datetime]:
    path = root / f"city-{grids}-{days}.sqlite3"
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    stamp = root / f"city-{grids}-{days}.now"
    if path.exists() and stamp.exists():
        return path, dt.datetime.fromisoformat(stamp.read_text())
    path.unlink(missing_ok=True)
    db = Database(f"sqlite:///{path}")
    upgrade_schema(db)
    rng = random.Random(seed)
    from data.demo.district import _write_categories

    with db.session() as s:
        cats = [c.id for c in _write_categories(s) if c.code in EVENT_CODES]
        s.execute(insert(Region), [{"id": 1, "level": "district", "code": "C", "name": "城", "parent_id": None}])
        communities = grids // 6
        s.execute(
            insert(Region),
            [
                {"id": 10 + c, "level": "community", "code": f"C{c}", "name": f"社区{c}", "parent_id": 1}
                for c in range(communities)
            ],
        )
        base = 10 + communities
        s.execute(
            insert(Region),
            [
                {
                    "id": base + g,
                    "level": "grid",
                    "code": f"G{g}",
                    "name": f"网格{g}",
                    "parent_id": 10 + g % communities,
                }
                for g in range(grids)
            ],
        )
    n = int(grids * days * per_grid_day)
    start = now - dt.timedelta(days=days)
    chunk = 50_000
    for i in range(0, n, chunk):
        rows = []
        for k in range(i, min(n, i + chunk)):
            g = rng.randrange(grids)
            at = start + dt.timedelta(seconds=(k + rng.random()) * days * 86400 / n)
            rows.append(_ticket(k, base + g, 10 + g % communities, rng.choice(cats), at, g, rng))
        with db.session() as s:
            s.execute(insert(Ticket), rows)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    db.dispose()
    stamp.write_text(now.isoformat())
    return path, now


def _ticket(k, grid_id, community_id, category_id, at, g, rng) -> dict:
    lon = 115.0 + (g % 100) * 0.01 + rng.random() * 0.01
    lat = 25.0 + (g // 100) * 0.01 + rng.random() * 0.01
    return {
        "source": "resident",
        "public_token": f"b{k}",
        "category_id": category_id,
        "priority": 2,
        "description": "",
        "photos": [],
        "data_quality": [],
        "lon": lon,
        "lat": lat,
        "location_match": "inside",
        "grid_id": grid_id,
        "community_id": community_id,
        "status": "reported",
        "escalation_level": 0,
        "overdue": False,
        "rework_count": 0,
        "created_at": at,
        "updated_at": at,
    }


def city_cost(root: Path, grids: int, runs: int, settings_root: Path) -> dict:
    t0 = time.perf_counter()
    path, now = make_city(root, grids)
    built = time.perf_counter() - t0
    work = root / f"city-{grids}-work.sqlite3"
    shutil.copyfile(path, work)
    db = Database(f"sqlite:///{work}")
    settings = load_settings(gcc_instance_dir=settings_root, database_url=f"sqlite:///{work}")
    rng = random.Random(9)
    with db.reader() as s:
        cats = list(s.scalars(select(Category.id).where(Category.code.in_(EVENT_CODES))))
        base = s.scalar(select(Region.id).where(Region.code == "G0"))
        communities = grids // 6
        top = s.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1))
    per_minute = grids * 2.0 / 1440
    with db.session() as s:
        t1 = time.perf_counter()
        first = job.run(s, settings, now)  # the first run: the last 24 h (GCC_ALERT_LOOKBACK_HOURS)
        first_s = time.perf_counter() - t1
    seconds, examined, k = [], [], top + 1
    for r in range(runs):
        at = now + dt.timedelta(minutes=r + 1)
        new = []
        for _ in range(max(1, round(rng.expovariate(1 / per_minute)))):
            g = rng.randrange(grids)
            new.append(
                _ticket(
                    k,
                    base + g,
                    10 + g % communities,
                    rng.choice(cats),
                    at - dt.timedelta(seconds=rng.uniform(0, 59)),
                    g,
                    rng,
                )
            )
            k += 1
        with db.session() as s:
            s.execute(insert(Ticket), new)
        with db.session() as s:
            t1 = time.perf_counter()
            summary = job.run(s, settings, at)
            seconds.append(time.perf_counter() - t1)
            examined.append(summary["tickets"])
    db.dispose()
    work.unlink(missing_ok=True)
    return {
        "grids": grids,
        "built_s": built,
        "first_s": first_s,
        "first_tickets": first["tickets"],
        "runs": runs,
        "mean_s": statistics.mean(seconds),
        "p95_s": sorted(seconds)[int(0.95 * (len(seconds) - 1))],
        "max_s": max(seconds),
        "tickets_per_run": statistics.mean(examined),
    }


# ----------------------------------------------------------------------------------------------


def run_district(root: Path, label: str, args, planted_too: bool) -> tuple[dict, dict]:
    source = make_demo(root, args.grids, args.days, args.seed)
    path = root / f"{label}.sqlite3"
    shutil.copyfile(source, path)
    db = Database(f"sqlite:///{path}")
    settings = load_settings(gcc_instance_dir=root / "instance", database_url=f"sqlite:///{path}")
    with db.reader() as s:
        end = s.scalar(select(Ticket.created_at).order_by(Ticket.created_at.desc()).limit(1))
    start = end - dt.timedelta(days=args.replay_days)
    planted = plant_all(db, start, end, random.Random(args.seed)) if planted_too else []
    timing = replay(db, settings, start, end, dt.timedelta(minutes=args.step_minutes))
    result = score(db, planted, args.replay_days, args.grids)
    db.dispose()
    path.unlink(missing_ok=True)
    return result, timing


def fmt(x, pattern="{:.2f}") -> str:
    return "—" if x is None else pattern.format(x)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=100)
    parser.add_argument("--days", type=int, default=70)
    parser.add_argument("--replay-days", type=float, default=14)
    parser.add_argument("--step-minutes", type=float, default=10)
    parser.add_argument("--city-grids", type=int, default=10_000)
    parser.add_argument("--city-runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--root", type=Path, default=Path("/tmp/gcc-bench-alerts"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    os.environ.pop("DATABASE_URL", None)

    planted, planted_time = run_district(args.root, "planted", args, True)
    print("planted:", planted, planted_time, flush=True)
    quiet, quiet_time = run_district(args.root, "quiet", args, False)
    print("quiet:", quiet, quiet_time, flush=True)
    city = city_cost(args.root, args.city_grids, args.city_runs, args.root / "instance")
    print("city:", city, flush=True)

    built = f"bulk-inserted in {city['built_s']:.0f} s" if city["built_s"] >= 1 else "cached from an earlier run"
    kinds = ", ".join(f"{k} {d}/{n}" for k, (d, n) in sorted(planted["by_kind"].items()))
    false_kinds = lambda r: ", ".join(f"{k} {n}" for k, n in sorted(r["false_kinds"].items())) or "none"  # noqa: E731
    lines = [
        f"Early warning (issue #11), `python bench/bench_alerts.py` on {dt.date.today()}, "
        f"{platform.python_implementation()} {platform.python_version()}, SQLite, default thresholds "
        f"(GCC_ALERT_*). Demo district of {args.grids} grids with {args.days} days of history; the job replayed "
        f"every {args.step_minutes:g} simulated minutes over the last {args.replay_days:g} days.",
        "",
        "| measure | planted district | quiet district | target |",
        "|---|---|---|---|",
        f"| planted incidents detected (recall) | {fmt(planted['recall'], '{:.0%}')} ({kinds}) | — | — |",
        f"| precision (alerts whose evidence holds a planted report) | {fmt(planted['precision'], '{:.0%}')} "
        f"({planted['true']} of {planted['alerts']}) | — | — |",
        f"| median delay, first report → alert | {fmt(planted['delay_first_median_min'], '{:.0f} min')} | — | — |",
        f"| delay, evidence at the minimum count → alert (median / max) | "
        f"{fmt(planted['delay_due_median_min'], '{:.0f}')} / {fmt(planted['delay_due_max_min'], '{:.0f} min')} | — | "
        f"≤ one job interval ({args.step_minutes:g} min here) |",
        f"| false alerts per day per 100 grids | {planted['false_per_day_100']:.2f} ({false_kinds(planted)}) | "
        f"{quiet['false_per_day_100']:.2f} ({false_kinds(quiet)}) | ≤ 1 |",
        f"| replay: job runs, mean / max seconds | {planted_time['runs']}, {planted_time['mean_s']:.3f} / "
        f"{planted_time['max_s']:.3f} | {quiet_time['runs']}, {quiet_time['mean_s']:.3f} / "
        f"{quiet_time['max_s']:.3f} | — |",
        "",
        f"Job cost at {city['grids']:,} grids (synthetic city: {city['grids'] * 57 * 2:,} tickets over 57 days, "
        f"{built}): {city['runs']} incremental runs, each after one minute's reports "
        f"(mean {city['tickets_per_run']:.1f} new tickets): mean **{city['mean_s']:.3f} s**, "
        f"p95 {city['p95_s']:.3f} s, "
        f"max {city['max_s']:.3f} s (target ≤ 1 s). The first run after a start examines the last 24 h "
        f"({city['first_tickets']:,} tickets): {city['first_s']:.1f} s.",
        "",
        "Delay from the first report depends on the incident (a burst of six over three hours reaches the "
        "minimum of five after two and a half hours; a recurring spot is due at its last report). Planted incidents: "
        "bursts of 5-7 reports of one category from one estate over 3 h; 5 reports within ~80 m of a grid "
        "corner over 8 h (across the border); spots closed three times and reported again; sensors alarming "
        "again after each closing. False alerts are alerts whose evidence holds no planted report: on the demo "
        "these are the history's own (mostly spots at its hot spots that were closed and reported again "
        "three times in a month, which is what the recurring detector is for), so the figure is an upper bound.",
    ]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        update_section(ROOT / "BENCHMARKS.md", SECTION, "## Early warning\n\n" + table)


if __name__ == "__main__":
    main()
