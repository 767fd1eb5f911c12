"""`python app.py report [--week 2026-W47] [--out DIR] [--scale 2]`: make (or remake) one week's report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from data.cli import Command, open_database
from data.settings import Settings


def _args(p):
    p.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: the last finished week in GCC_TIMEZONE)")
    p.add_argument("--out", type=Path, help="also copy the report's files into this folder")
    p.add_argument(
        "--scale", type=float, help="screenshot scale: 1 = 1920x1080 (default GCC_REPORT_SCALE), 2 = 3840x2160"
    )
    p.add_argument(
        "--if-due", action="store_true", help="skip a week already made or being made (what the scheduler runs)"
    )
    p.add_argument("--trigger", default="cli", help="who asked, recorded on the report's row (cli, schedule, web:NAME)")


def _run(args, settings: Settings) -> int:
    from dashboard.reports.run import copy_out, generate
    from data.reports.errors import ReportError
    from data.reports.weeks import last_finished, parse

    try:
        week = parse(args.week, settings.gcc_timezone) if args.week else last_finished(settings.gcc_timezone)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.scale is not None and not 1 <= args.scale <= 3:
        print("error: --scale must be between 1 and 3", file=sys.stderr)
        return 2
    from data.clock import utcnow

    if week.end > utcnow():
        print(f"error: {week.name} has not ended yet (it ends {week.end.isoformat()})", file=sys.stderr)
        return 2
    db = open_database(settings)
    try:
        result = generate(
            settings,
            db,
            week,
            trigger=args.trigger[:32],
            force=not args.if_due,
            scale=args.scale,
            progress=lambda m: print(f"report: {m}", file=sys.stderr, flush=True),
        )
    except ReportError as exc:
        print(f"error: report {week.name} failed: {exc}", file=sys.stderr)
        return 1
    if args.out and result.folder is not None:
        copy_out(result.folder, args.out)
    print(
        json.dumps(
            {
                "week": result.week,
                "status": result.status,
                "folder": str(result.folder) if result.folder else None,
                "seconds": result.seconds,
                "files": {f["name"]: f["bytes"] for f in result.files},
                "reason": result.reason or None,
            },
            ensure_ascii=False,
        )
    )
    return 0


COMMANDS = [Command("report", "make the weekly report (screenshots, HTML, PDF) of a finished week", _args, _run)]
