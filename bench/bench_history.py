"""Benchmark: reading the past (issue #10) — the wall and the drill-down pages with `?week=` and
`?as_of=`, and the week tables of the report — on the demo district (150 grids, a year of history).

    python bench/bench_history.py [--root /tmp/gcc-bench-history] [--weeks 3] [--no-write]
    python bench/bench_history.py --pg postgresql+psycopg://postgres@127.0.0.1/gcc_bench_history

The district is generated once with `python app.py demo` into ROOT/150-365 and reused (with --pg:
a database where `python app.py demo --grids 150 --days 365` has been run; section "bench:history-pg"). Pages are
built through the real app in-process (Flask test client and the page layouts as the pages router
calls them; no browser), as an admin. For each of a few finished weeks:

- first view: nothing known about the week (grid_history has no row for it, the process memos are
  empty): the week's per-grid numbers are computed from the tickets and stored;
- another worker: a process that has never shown the week (memos empty) but grid_history has it;
- again: the same process shows it again (memo);
- metric switch: the map's metric changed on the historical wall (the refresh callback);
- drill pages: /district, a street, a community and a grid of that week (after the wall);
- week tables: data.read.week.week_report for the week (cold), and the check that its district
  numbers equal data.indicators.total for the same period.

Also one `?as_of=` moment in the middle of a week (not stored: computed, then memo). Replaces the
"bench:history" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_assign import update_section  # noqa: E402
from bench_screen import prepare  # noqa: E402
from flask import g  # noqa: E402
from sqlalchemy import delete, func, select, true  # noqa: E402

from dashboard import drill  # noqa: E402
from dashboard.server import create_app  # noqa: E402
from data import aggregates, indicators  # noqa: E402
from data.access import Viewer  # noqa: E402
from data.clock import utcnow  # noqa: E402
from data.db import Database  # noqa: E402
from data.history import last_finished_week, previous_week, week_bounds, week_moment  # noqa: E402
from data.history_stats import GridHistory  # noqa: E402
from data.models import Region, Ticket, TicketEvent  # noqa: E402
from data.read.week import week_report  # noqa: E402
from data.settings import load_settings  # noqa: E402
from tests.screen_client import ScreenClient  # noqa: E402

SECTION = "history"
ADMIN = Viewer(role="admin", name="bench")
TARGET_S = 1.0  # "well under a second per page after the first view"


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/gcc-bench-history"))
    parser.add_argument("--weeks", type=int, default=3, help="finished weeks to read (default 3)")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--pg", help="a PostgreSQL URL holding the 150-grid, 365-day demo")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    if args.pg:
        instance = args.root / "pg"
        instance.mkdir(parents=True, exist_ok=True)
        settings = load_settings(gcc_instance_dir=instance, gcc_simulate=False, database_url=args.pg)
    else:
        instance = prepare(args.root, 150, 365)
        settings = load_settings(gcc_instance_dir=instance, gcc_simulate=False)
    tz = settings.gcc_timezone
    db = Database(settings.resolved_database_url)
    with db.session() as s:
        aggregates.refresh(s, "full", tz=tz)
        s.execute(delete(GridHistory))  # every week starts unknown
    with db.reader() as s:
        tickets = s.scalar(select(func.count()).select_from(Ticket))
        events = s.scalar(select(func.count()).select_from(TicketEvent))
        regions = {
            level: s.scalar(select(Region.code).where(Region.level == level).order_by(Region.code).limit(1))
            for level in ("street", "community", "grid")
        }
    app = create_app(settings, db)
    app.server.config["GCC_VIEWER_RESOLVER"] = lambda: ADMIN
    weeks = [last_finished_week(utcnow(), tz)]
    while len(weeks) < args.weeks:
        w = weeks[-1]
        for _ in range(4 if len(weeks) == 1 else 12):
            w = previous_week(w)
        weeks.append(w)

    def page(level, code, **query):
        with app.server.test_request_context(f"/{level}"):
            g.viewer = ADMIN
            return drill.layout(ADMIN, level, code, **query)

    def weekly(level, code, moment):
        with app.server.test_request_context("/_dash-update-component"):
            g.viewer = ADMIN
            return drill.load_weekly({"level": level, "code": code, "moment": moment})

    # The process has shown the live wall and the live district page (geometry, region tree warm).
    live, _ = timed(lambda: ScreenClient(app).load(ADMIN))
    live_again, _ = timed(lambda: ScreenClient(app).load(ADMIN))
    live_district, _ = timed(lambda: page("district", None))
    rows, checks = [], []
    for week in weeks:
        forget_history()
        first, _ = timed(lambda w=week: ScreenClient(app).load(ADMIN, week=w))
        forget_history()  # another process: grid_history has the week, its memory does not
        other, _ = timed(lambda w=week: ScreenClient(app).load(ADMIN, week=w))
        screen = ScreenClient(app)
        again, _ = timed(lambda w=week, sc=screen: sc.load(ADMIN, week=w))
        switch, reply = timed(lambda sc=screen: sc.refresh(metric="overdue_now"))
        assert reply.status == 200
        drills = {}
        for level, code in (("district", None), *((lv, c) for lv, c in regions.items())):
            chart_code = code or _district(db)
            views = []
            for _ in range(2):  # first view of the page in that week, then again
                t_page, _ = timed(lambda lv=level, c=code, w=week: page(lv, c, week=w))
                t_weekly, _ = timed(lambda lv=level, c=chart_code, w=week: weekly(lv, c, {"week": w}))
                views.append(t_page + t_weekly)
            drills[level] = tuple(views)
        with db.reader() as s:
            forget_history()
            t_report, report = timed(lambda s=s, w=week: week_report(s, Viewer.system(), w, tz=tz))
            start, end = week_bounds(week, tz)
            direct = indicators.total(s, true(), start, end, now=end, history=True)
        agree = same(report.district.this.as_dict(), direct.as_dict())
        checks.append((week, report.district.this.reported, report.district.this.on_time_rate, agree))
        rows.append((week, first, other, again, switch, drills, t_report))
    # An as_of moment in the middle of the last week: not stored, computed then kept in memory.
    moment = week_moment(weeks[0], tz).at - dt.timedelta(days=3, hours=5)
    as_of = moment.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")
    forget_history()
    as_of_first, _ = timed(lambda: ScreenClient(app).load(ADMIN, as_of=as_of))
    as_of_again, _ = timed(lambda: ScreenClient(app).load(ADMIN, as_of=as_of))
    md = render(
        rows,
        checks,
        (as_of, as_of_first, as_of_again),
        (live, live_again, live_district),
        tickets,
        events,
        load,
        "PostgreSQL" if args.pg else "SQLite",
    )
    print(md)
    if not args.no_write:
        update_section(ROOT / "BENCHMARKS.md", SECTION + ("-pg" if args.pg else ""), md)
        print(f"updated {ROOT / 'BENCHMARKS.md'}")
    db.dispose()


def same(a: dict, b: dict) -> bool:
    """Counts equal; float sums (durations) equal but for the order of summation (a parallel
    PostgreSQL aggregate adds in any order)."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and isinstance(b[k], float) and math.isclose(a[k], b[k], rel_tol=1e-9))
        for k in a
    )


def forget_history() -> None:
    """This process's memory of past moments (a worker that never showed them); the geometry and
    the region tree stay (every worker has them from the live pages)."""
    from data.history_stats import _moments
    from data.read.history import _snapshots, _tables, _weekly
    from data.read.regions import _weeks
    from data.read.week import _reports

    for memo in (_moments, _snapshots, _tables, _weekly, _weeks, _reports):
        memo.clear()


def _district(db) -> str:
    with db.reader() as s:
        return s.scalar(select(Region.code).where(Region.level == "district"))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def render(rows, checks, as_of, live, tickets, events, load, backend="SQLite") -> str:
    after_first = [v for _, _, other, again, switch, _, _ in rows for v in (other, again, switch)]
    after_first += [views[1] for *_, drills, _ in rows for views in drills.values()]
    worst = max(after_first)
    out = [
        f"## History: pages as of a past week (`?week=` / `?as_of=`) and the week tables ({backend})",
        "",
        f"`python bench/bench_history.py` on {dt.date.today()}: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores (load average {load:.1f} at the start: the machine is shared, absolute times vary), "
        f"Python {platform.python_version()}, {backend}; the demo district, 150 grids, {tickets:,} tickets, "
        f"{events:,} events. In-process through the real app (page layouts and callbacks as Dash calls them), "
        "as an admin, in a process that has shown the live pages (geometry and region tree in memory).",
        "",
        "| week | wall: first view | wall: another worker | wall: again | metric switch "
        "| district | street | community | grid | week tables (cold) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for week, first, other, again, switch, drills, report in rows:
        cells = [f"{ms(drills[lv][0])} → {ms(drills[lv][1])}" for lv in ("district", "street", "community", "grid")]
        out.append(
            f"| {week} | {ms(first)} | {ms(other)} | {ms(again)} | {ms(switch)} | "
            + " | ".join(cells)
            + f" | {ms(report)} |"
        )
    moment, first, again = as_of
    out += [
        "",
        "- Wall, first view: nothing known about the week (no grid_history row, no memory): its per-grid numbers "
        "from data.indicators (six windows grouped by grid, the state at the week's end rebuilt from "
        "ticket_events), stored in grid_history. Another worker: a process that never showed the week reads the "
        "151 stored rows plus the bounded ranges (hours, heat, feed, overdue points at that moment). Again: memory.",
        "- Drill-down cells: first view → again, each the page layout plus its weekly-chart callback (twelve "
        "weeks of data.indicators up to the moment, kept in memory for an hour once finished).",
        f"- `?as_of={moment}` (not a week's end: computed, kept in memory only): first view {ms(first)}, "
        f"again {ms(again)}. The live wall for comparison: first load {ms(live[0])}, again {ms(live[1])}; "
        f"the live district page {ms(live[2])}.",
        f"- Slowest page after the first view of a week: {ms(worst)} (target: well under {TARGET_S:.0f} s)"
        + (" — met." if worst < TARGET_S else " — NOT met."),
        "- Week tables (data.read.week.week_report: district, 6 streets, 24 communities, 150 grids, this and the "
        "previous week, the ten longest overdue) agree with data.indicators.total for the same period: "
        + ", ".join(
            f"{w}: 上报 {n:,}, 按期结案率 {'' if r is None else f'{r:.1%}'} {'✓' if ok else '✗ MISMATCH'}"
            for w, n, r, ok in checks
        )
        + ".",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    main()
