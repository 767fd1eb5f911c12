"""The weekly report end to end (issue #10), on the session's live demo server:

- window.gccReady() is true only when the page is really drawn (every grid polygon on the map,
  every figure's SVG, the ticket table's rows);
- `python app.py report --week <a past week>` writes the PNGs (size, not blank, the map drawn,
  different from a capture of the wall now), the PDF (pages, extractable text with the week's
  上报数 and 按期结案率 equal to data/indicators.py's, embedded fonts), the archive row, and a
  re-run replaces the files (a new version folder, the old one gone);
- the files download through the audited route, for district-wide accounts only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from data import indicators
from data.access import Viewer, ticket_clause
from data.audit import AuditLog
from data.reports import archive
from data.reports.summary import pct
from data.reports.weeks import last_finished
from tests.auth_helpers import login_as
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # ~90 s: two reports, each five pages in Chromium

TZ = "Asia/Shanghai"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
MAP_GRIDS = """(sel) => {
  const gd = document.querySelector(sel + ' .js-plotly-plot');
  const map = gd && gd._fullLayout.map && gd._fullLayout.map._subplot.map;
  if (!map) { return 0; }
  const layer = 'plotly-trace-layer-' + gd._fullData[0].uid + '-fill';
  return new Set(map.queryRenderedFeatures({layers: [layer]}).map(f => String(f.id))).size;
}"""


def ready(page, timeout=45):
    return wait_until(lambda: page.evaluate("() => window.gccReady()")["ready"], timeout=timeout, what="gccReady")


def test_ready_means_drawn(live, browser):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    login_as(page, live.url, "admin")
    page.goto(live.url + "/screen")
    first = page.evaluate("() => window.gccReady()")
    assert set(first) == {"ready", "pending"}
    ready(page)
    with live.database.reader() as s:
        from data.models import Region

        grids = len(s.scalars(select(Region.id).where(Region.level == "grid")).all())
    # At the moment it says ready, every grid polygon is on the map and every figure has drawn.
    assert page.evaluate(MAP_GRIDS, "#screen-map") == grids
    assert page.locator(".js-plotly-plot").count() == page.locator(".js-plotly-plot .main-svg >> nth=0").count() or True
    for gd in page.locator(".js-plotly-plot").all():
        assert gd.locator(".main-svg").count() >= 1
    page.goto(live.url + "/district")
    ready(page)
    assert page.locator("#drill-tickets .ag-row").count() > 0  # the table's rows, not just its frame
    assert page.evaluate(MAP_GRIDS, "#drill-map") > 0
    context.close()


def _week_numbers(live, week):
    with live.database.reader() as s:
        where = ticket_clause(Viewer.system())
        return indicators.compute(s, where, week.start, week.end, now=week.end)[None]


def _pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def test_the_weekly_report_of_a_past_week(live, browser):
    week = last_finished(TZ).previous()  # a past week inside the demo's 30 days
    instance = Path(live.env["GCC_INSTANCE_DIR"])
    t0 = time.monotonic()
    out = live.cli("report", "--week", week.name)
    seconds = time.monotonic() - t0
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "ok", out.stderr
    folder = archive.week_dir(instance, week.name)
    pictures = sorted(p.name for p in folder.glob("*.png") if not p.name.startswith("thumb-"))
    assert pictures[-2:] == ["district.png", "screen.png"] and len(pictures) == 5, pictures
    numbers = json.loads((folder / "report.json").read_text())
    for name in pictures:
        rgb = _pixels(folder / name)
        assert rgb.shape == (1080, 1920, 3)
        assert rgb.mean(axis=2).std() > 6, f"{name} is nearly blank"
        assert (folder / name).stat().st_size > 50_000
    for shot in numbers["shots"]:
        assert shot["checks"]["map_drawn"] > 0.03, shot  # the map's box has drawn pixels

    # The wall as the week ended is not the wall now.
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    login_as(page, live.url, "admin")
    page.goto(live.url + "/screen")
    ready(page)
    page.screenshot(path=str(ARTIFACTS / "screen-now.png"))
    context.close()
    now_rgb, week_rgb = _pixels(ARTIFACTS / "screen-now.png"), _pixels(folder / "screen.png")
    changed = float((np.abs(now_rgb - week_rgb).sum(axis=2) > 30).mean())
    assert changed > 0.01, f"the week's wall differs from the wall now in only {changed:.2%} of its pixels"

    # The PDF: pages, text, the week's numbers as data/indicators.py computes them, embedded fonts.
    pdf = folder / "report.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:"))) >= 3
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    expected = _week_numbers(live, week)
    assert f"本周全区共上报工单 {expected.reported} 件" in text
    assert f"按期结案率 {pct(expected.on_time_rate)}" in text
    assert numbers["district"]["reported"] == expected.reported
    assert "红黑榜" in text and "指标口径" in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(" yes " in line for line in fonts), fonts  # every font embedded

    # The archive row.
    row = archive.get(live.database, week.name)
    assert row.status == "ok" and row.error is None
    assert {f["name"] for f in row.files} == {
        p.name for p in folder.iterdir() if p.suffix in (".png", ".pdf", ".html", ".json")
    }
    assert row.total_bytes == sum(f["bytes"] for f in row.files)
    assert row.finished_at > row.started_at

    # A re-run replaces the week's files: a new version, the old one gone.
    old_version = folder.resolve()
    live.cli("report", "--week", week.name)
    assert folder.resolve() != old_version and not old_version.exists()
    assert archive.get(live.database, week.name).attempts == row.attempts + 1
    # A run that fails half-way (pages never ready in time: retried once, then a loud failure)
    # leaves the previous report as it was, and the row says why.
    current, files_before = folder.resolve(), archive.get(live.database, week.name).files
    env = {**live.env, "GCC_REPORT_READY_SECONDS": "0.2"}
    failed = subprocess.run(
        [sys.executable, "app.py", "report", "--week", week.name],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert failed.returncode == 1, failed.stdout
    assert "failed twice: page not ready after 0.2 s" in failed.stderr, failed.stderr[-2000:]
    assert folder.resolve() == current and (folder / "report.pdf").is_file()
    versions = [v for v in (instance / "reports" / ".versions").iterdir() if v.name.startswith(f"{week.name}.")]
    assert versions == [current], versions  # the half-made version was removed
    after = archive.get(live.database, week.name)
    assert after.status == "failed" and "page not ready" in after.error and after.files == files_before
    (ARTIFACTS / "weekly-report.txt").write_text(
        f"{week.name}: {seconds:.1f} s; " + ", ".join(f"{f['name']} {f['bytes']}" for f in row.files)
    )

    # Downloads: district-wide exporters, audited; a street supervisor is refused.
    admin = requests.Session()
    login_as(admin, live.url, "admin")
    got = admin.get(f"{live.url}/reports/{week.name}/report.pdf", timeout=30)
    assert got.status_code == 200 and got.content[:4] == b"%PDF"
    with live.database.reader() as s:
        assert s.scalar(
            select(AuditLog.id).where(
                AuditLog.action == "download", AuditLog.target_id == f"/reports/{week.name}/report.pdf"
            )
        )
    street = requests.Session()
    login_as(street, live.url, "street_supervisor")
    assert street.get(f"{live.url}/reports/{week.name}/report.pdf", timeout=30).status_code == 403
    for sneaky in ("..%2F..%2Fgcc.sqlite3", "%2e%2e/%2e%2e/gcc.sqlite3", ".versions"):
        got = admin.get(f"{live.url}/reports/{week.name}/{sneaky}", timeout=30)
        assert got.status_code in (200, 404) and b"SQLite format" not in got.content  # a page or a 404


def test_generate_now_from_the_reports_page(live, browser):
    week = last_finished(TZ).previous().previous()
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login_as(page, live.url, "admin")
    page.goto(live.url + "/reports")
    ready(page)
    page.click("#reports-week")
    page.get_by_text(week.label(), exact=True).click()
    page.click("#reports-generate")
    expect(page.locator("#reports-said")).to_contain_text(week.name, timeout=10000)
    card = page.locator(".report-card", has_text=week.name)
    # Progress is visible while it runs (the page polls the week's row), then the result.
    expect(card.locator(".report-status")).to_have_text("生成中", timeout=20000)
    expect(card.locator(".report-status")).to_have_text("已生成", timeout=240000)
    thumb = card.locator("img.report-thumb")
    expect(thumb).to_be_visible(timeout=10000)
    assert thumb.evaluate("img => img.naturalWidth") == 480
    with page.expect_download() as download:
        card.get_by_text("report.pdf", exact=False).click()
    assert download.value.suggested_filename == f"{week.name}-report.pdf"
    row = archive.get(live.database, week.name)
    assert row.status == "ok" and row.trigger == "web:演示系统管理员"[:32]
    context.close()
    # A street supervisor has no /reports: the page refuses, as the permission table says.
    context = browser.new_context()
    page = context.new_page()
    login_as(page, live.url, "street_supervisor")
    page.goto(live.url + "/reports")
    ready(page)
    assert page.locator(".report-card").count() == 0
    context.close()
