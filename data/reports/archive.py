"""The archive: instance/reports/<week>/ plus the week's row in `reports`.

Files: a report is built in a fresh folder `reports/.versions/<week>.<stamp>/`; when every file is
written and checked, the week's entry `reports/<week>` (a symbolic link to its current version)
is replaced in one rename (os.replace of a new link over the old one), then the old version is
removed. A reader sees the old report or the new one, never a mix; a failed run removes its
folder and leaves the previous report and its row's file list as they were.

Claims: `claim()` moves the week's row to "running" in one conditional UPDATE (or inserts it; the
week is unique), so two processes cannot both make the same week. A "running" row older than the
run timeout is taken over (its process died).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from data.clock import utcnow
from data.db import Database
from data.reports.models import Report

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,80}$")


def root(instance_dir) -> Path:
    return Path(instance_dir) / "reports"


def week_dir(instance_dir, week: str) -> Path:
    return root(instance_dir) / week


def new_version(instance_dir, week: str) -> Path:
    path = root(instance_dir) / ".versions" / f"{week}.{utcnow():%Y%m%dT%H%M%S}.{uuid.uuid4().hex[:6]}"
    path.mkdir(parents=True)
    return path


def publish(instance_dir, week: str, version: Path) -> None:
    """Make `version` the week's report in one rename; remove the version it replaces."""
    link = week_dir(instance_dir, week)
    old = link.resolve() if link.is_symlink() else None
    if link.exists() and not link.is_symlink():  # a plain folder (copied by hand): move it aside first
        aside = root(instance_dir) / ".versions" / f"{week}.replaced.{uuid.uuid4().hex[:6]}"
        link.rename(aside)
        old = aside
    tmp = link.with_name(f".{week}.{uuid.uuid4().hex[:6]}.link")
    os.symlink(os.path.relpath(version, link.parent), tmp)
    os.replace(tmp, link)
    if old is not None and old != version.resolve():
        shutil.rmtree(old, ignore_errors=True)


def discard(version: Path | None) -> None:
    if version is not None:
        shutil.rmtree(version, ignore_errors=True)


def file_path(instance_dir, week: str, name: str) -> Path | None:
    """An archived file of a week, or None (unsafe name, no such file)."""
    if not SAFE_NAME.match(name or "") or not re.fullmatch(r"\d{4}-W\d{2}", week or ""):
        return None
    path = week_dir(instance_dir, week) / name
    return path if path.is_file() else None


def runner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(db: Database, week: str, *, trigger: str, force: bool, stale_after: timedelta) -> bool:
    """Take the week for this process. force=False (the schedule): only a week not yet made, or a
    failed one; force=True (a person): also a week already made (it is remade). Never a week
    another live run holds."""
    now = utcnow()
    try:
        with db.session() as s:
            if s.scalar(select(Report.id).where(Report.week == week)) is None:
                s.add(
                    Report(
                        week=week,
                        status="running",
                        trigger=trigger,
                        attempts=1,
                        started_at=now,
                        runner=runner(),
                        progress="开始",
                        files=[],
                        delivery={},
                    )
                )
                s.flush()
                return True
    except IntegrityError:
        return False  # another process inserted the week's row first
    with db.session() as s:
        free = or_(Report.status != "running", Report.started_at < now - stale_after)
        if not force:
            free = free & (Report.status != "ok")
        result = s.execute(
            update(Report)
            .where(Report.week == week, free)
            .values(
                status="running",
                trigger=trigger,
                attempts=Report.attempts + 1,
                started_at=now,
                finished_at=None,
                runner=runner(),
                progress="开始",
                error=None,
            )
        )
        return result.rowcount == 1


def set_progress(db: Database, week: str, text: str) -> None:
    with db.session() as s:
        s.execute(update(Report).where(Report.week == week, Report.runner == runner()).values(progress=text[:255]))


def succeed(db: Database, week: str, files: list[dict], summary: str, delivery: dict) -> None:
    now = utcnow()
    with db.session() as s:
        s.execute(
            update(Report)
            .where(Report.week == week)
            .values(
                status="ok",
                files=files,
                total_bytes=sum(f["bytes"] for f in files),
                summary=summary,
                delivery=delivery,
                finished_at=now,
                ok_at=now,
                progress="完成",
                error=None,
            )
        )


def set_delivery(db: Database, week: str, delivery: dict) -> None:
    with db.session() as s:
        s.execute(update(Report).where(Report.week == week).values(delivery=delivery))


def fail(db: Database, week: str, error: str) -> None:
    """Record a failure; the files of the last good run (if any) stay listed and on disk."""
    with db.session() as s:
        s.execute(
            update(Report)
            .where(Report.week == week)
            .values(status="failed", error=error[:4000], finished_at=utcnow(), progress="失败")
        )


def get(db: Database, week: str) -> Report | None:
    with db.reader() as s:
        row = s.scalar(select(Report).where(Report.week == week))
        if row is not None:
            s.expunge(row)
        return row


def listing(db: Database, limit: int = 104) -> list[Report]:
    """Newest week first."""
    with db.reader() as s:
        rows = list(s.scalars(select(Report).order_by(Report.week.desc()).limit(limit)))
        for r in rows:
            s.expunge(r)
        return rows
