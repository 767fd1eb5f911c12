"""generate(): one week's report from claim to archive.

    claim the week's row → compute the week (data.reports.content) → capture the pages
    (dashboard.reports.capture) → HTML and PDF (dashboard.reports.render) → thumbnails and
    report.json → publish the folder in one rename (data.reports.archive) → deliver → record.

Any failure removes the half-made folder, records the reason on the row and raises ReportError;
the previous report of the week (files and row file list) is untouched."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from data.db import Database
from data.reports import archive, content, delivery, summary
from data.reports.errors import ReportError
from data.reports.weeks import Week
from data.settings import Settings

log = logging.getLogger(__name__)
THUMB_WIDTH = 480


@dataclass
class Result:
    week: str
    status: str  # ok | skipped
    folder: Path | None
    files: list[dict]
    seconds: float
    reason: str = ""


def targets(week: Week, communities: list[content.Row]) -> list:
    from dashboard.reports.capture import Target

    w = week.name
    out = [
        Target(
            "screen.png", f"/screen?week={w}", "#screen-map", f"指挥大屏（{w} 周末状态）：KPI、网格地图、趋势与排名"
        ),
        Target("district.png", f"/district?week={w}", "#drill-map", f"全区下钻页（{w}）：街道、指标、周趋势与工单表"),
    ]
    for i, row in enumerate(communities, 1):
        out.append(
            Target(
                f"community-{i}-{row.code}.png",
                f"/community/{row.code}?week={w}",
                "#drill-map",
                f"{row.parent}{row.name}（本周超期 {row.week.due_unclosed} 件，第 {i} 多）",
            )
        )
    return out


def thumbnail(png: Path) -> Path:
    from PIL import Image

    thumb = png.with_name(f"thumb-{png.name}")
    with Image.open(png) as im:
        im.thumbnail((THUMB_WIDTH, THUMB_WIDTH))
        im.convert("RGB").save(thumb, optimize=True)
    return thumb


def generate(
    settings: Settings,
    db: Database,
    week: Week,
    *,
    trigger: str = "cli",
    force: bool = True,
    scale: float | None = None,
    progress=None,
) -> Result:
    from dashboard.reports import capture, render

    t0 = time.monotonic()
    stale = timedelta(seconds=settings.gcc_report_timeout_seconds + 60)
    if not archive.claim(db, week.name, trigger=trigger, force=force, stale_after=stale):
        row = archive.get(db, week.name)
        why = (
            "running elsewhere"
            if row is not None and row.status == "running"
            else f"already {row.status if row else 'claimed'}"
        )
        if force or (row is not None and row.status == "running"):
            raise ReportError(
                f"the report of {week.name} is being made by another process ({row.runner if row else '?'})"
            )
        return Result(week.name, "skipped", None, [], 0.0, why)

    def say(text: str) -> None:
        log.info("report %s: %s", week.name, text)
        archive.set_progress(db, week.name, text)
        if progress:
            progress(text)

    version = None
    try:
        chromium = capture.find_chromium(settings)
        version = archive.new_version(settings.gcc_instance_dir, week.name)
        say("计算本周指标")
        with db.reader() as s:
            data = content.build(s, week, min_volume=settings.gcc_report_min_volume)
        scale = scale or settings.gcc_report_scale
        shots = capture.capture(
            settings, db, targets(week, data.top_overdue_communities), version, scale=scale, progress=say
        )
        say("生成 HTML 与 PDF")
        pictures = [{"file": s.target.file, "caption": s.target.caption} for s in shots]
        html_path = version / "report.html"
        html_path.write_text(render.html(data, district=settings.gcc_district_name, shots=pictures), encoding="utf-8")
        render.pdf(html_path, version / "report.pdf", chromium)
        for shot in shots:
            thumbnail(shot.path)
        numbers = {
            "week": week.name,
            "district": data.district.week.as_dict(),
            "previous": data.district.prev.as_dict(),
            "summary": summary.sentences(data),
            "shots": [
                {
                    "file": s.target.file,
                    "path": s.target.path,
                    "caption": s.target.caption,
                    "checks": s.checks,
                    "attempts": s.attempts,
                    "seconds": s.seconds,
                }
                for s in shots
            ],
        }
        (version / "report.json").write_text(
            json.dumps(numbers, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
        files = describe(version, {s.target.file: s.target.caption for s in shots})
        archive.publish(settings.gcc_instance_dir, week.name, version)
        version = None  # published: no longer ours to discard
        folder = archive.week_dir(settings.gcc_instance_dir, week.name)
        sent = {}
        if settings.gcc_report_smtp_host or settings.gcc_report_webhook_url:
            say("发送")
            sent = delivery.deliver(
                settings,
                title=f"{settings.gcc_district_name}网格治理周报 {week.label()}",
                sentences=summary.sentences(data),
                folder=folder,
                week=week.name,
            )
        archive.succeed(db, week.name, files, summary.text(data), sent)
        return Result(week.name, "ok", folder, files, round(time.monotonic() - t0, 1))
    except Exception as exc:
        archive.discard(version)
        reason = str(exc) if isinstance(exc, ReportError) else f"{type(exc).__name__}: {exc}"
        reason = " ".join(reason.split())[:2000]
        archive.fail(db, week.name, reason)
        log.error("report %s failed: %s", week.name, reason)
        raise ReportError(reason) from exc


KINDS = {".html": "html", ".pdf": "pdf", ".png": "png", ".json": "json"}


def describe(folder: Path, captions: dict) -> list[dict]:
    out = []
    for path in sorted(folder.iterdir()):
        if path.suffix not in KINDS:
            continue
        kind = "thumb" if path.name.startswith("thumb-") else KINDS[path.suffix]
        out.append(
            {"name": path.name, "kind": kind, "bytes": path.stat().st_size, "caption": captions.get(path.name, "")}
        )
    return out


def copy_out(folder: Path, out: Path) -> list[Path]:
    """`report --out DIR`: a copy of the archived files."""
    out.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("thumb-"):
            copied.append(Path(shutil.copy2(path, out / path.name)))
    return copied
