""" "Generate now" from /reports: `python app.py report --week W` in a child process, started and
left to run (a daemon thread only waits for it to end), so the web worker answers at once. The
child claims the week's row and writes its progress there; the page polls the row."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from dashboard.labels import t
from data.clock import utcnow
from data.db import Database
from data.reports import archive
from data.reports.errors import NotInstalled
from data.reports.weeks import parse
from data.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def start(settings: Settings, db: Database, week: str, *, who: str) -> str:
    """Start the week's report in the background; the sentence the page shows."""
    from dashboard.reports.capture import find_chromium

    try:
        w = parse(week, settings.gcc_timezone)
    except ValueError as exc:
        return str(exc)
    if w.end > utcnow():
        return t("reports.not_ended", week=w.name)
    try:
        find_chromium(settings)
    except NotInstalled as exc:
        return str(exc)
    row = archive.get(db, w.name)
    if row is not None and row.status == "running":
        return t("reports.busy", week=w.name)
    env = dict(os.environ)
    env.update({"DATABASE_URL": settings.resolved_database_url, "GCC_INSTANCE_DIR": str(settings.gcc_instance_dir)})
    log = open(Path(settings.gcc_instance_dir) / "report-web.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "app.py", "report", "--week", w.name, "--trigger", f"web:{who}"[:32]],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def wait():
        try:
            proc.wait()
        finally:
            log.close()

    threading.Thread(target=wait, name=f"report-{w.name}", daemon=True).start()
    return t("reports.started", week=w.name)
