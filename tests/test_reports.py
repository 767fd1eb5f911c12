"""The weekly report's parts without a browser (issue #10): ISO weeks, the week's numbers (from
data.indicators), the summary, the claim that makes a week run once, the atomic archive, the
picture checks, delivery to a local SMTP server and a local HTTP receiver, and the one clear
message when Chromium is missing."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image

from data import indicators, workflow
from data.access import Viewer
from data.clock import UTC
from data.reports import archive, content, delivery, summary
from data.reports.errors import NotInstalled, ReportError
from data.reports.models import Report
from data.reports.weeks import last_finished, parse
from tests.helpers import DESK, new_ticket

TZ = "Asia/Shanghai"


def test_weeks_are_iso_weeks_in_the_district_zone():
    w = parse("2026-W47", TZ)
    assert (w.monday.isoformat(), w.sunday.isoformat()) == ("2026-11-16", "2026-11-22")
    assert w.start == datetime(2026, 11, 15, 16, tzinfo=UTC)  # Monday 00:00 in Shanghai
    assert w.end - w.start == timedelta(days=7)
    assert w.previous().name == "2026-W46" and parse("2026W01", TZ).previous().name == "2025-W52"
    assert w.label() == "2026年第47周（11月16日—11月22日）"
    # Monday 07:59 local is still in the new week: the last finished one is the week before.
    assert last_finished(TZ, datetime(2026, 11, 22, 23, 59, tzinfo=UTC)).name == "2026-W47"
    assert last_finished(TZ, datetime(2026, 11, 22, 15, 59, tzinfo=UTC)).name == "2026-W46"
    for bad in ("2026-47", "W47", "2026-W54", ""):
        with pytest.raises(ValueError):
            parse(bad, TZ)


def _week_of_tickets(db, district):
    """Tickets in and before 2026-W47: some closed on time, one overdue and still open."""
    week = parse("2026-W47", TZ)
    with db.session() as s:
        for i, grid_id in enumerate(district.grid_ids[:6]):
            at = week.start + timedelta(days=1, hours=i)
            t = new_ticket(s, grid_id, "漏水", at=at)
            workflow.apply(s, DESK, t.id, workflow.ActionInput("accept", at=at))
            workflow.apply(s, DESK, t.id, workflow.ActionInput("dispatch", at=at))
        prev = new_ticket(s, district.grid_ids[0], "漏水", at=week.start - timedelta(days=3))
        workflow.apply(s, DESK, prev.id, workflow.ActionInput("accept", at=week.start - timedelta(days=3)))
    return week


def test_the_weeks_numbers_are_the_indicator_modules(db, district):
    week = _week_of_tickets(db, district)
    with db.reader() as s:
        c = content.build(s, week, min_volume=1)
        expected = indicators.compute(s, _all(), week.start, week.end, now=week.end)[None]
        previous = indicators.compute(s, _all(), week.previous().start, week.previous().end, now=week.end)[None]
    assert c.district.week.as_dict() == expected.as_dict()
    assert c.district.week.reported == 6 and c.district.prev.reported == previous.reported == 1
    assert sum(r.week.reported for r in c.streets) == 6
    assert sum(r.week.reported for r in c.communities) == 6
    assert len(c.top_overdue_communities) <= 3
    text = summary.text(c)
    assert text.startswith("本周全区共上报工单 6 件，环比上升 500.0%")
    assert "按期结案率" in text


def _all():
    from data.access import ticket_clause

    return ticket_clause(Viewer.system())


def test_summary_phrases():
    assert summary.change_phrase(12, 10) == "环比上升 20.0%"
    assert summary.change_phrase(9, 10) == "环比下降 10.0%"
    assert summary.change_phrase(10, 10) == "与上周持平"
    assert summary.change_phrase(3, 0) == "上周为 0"
    assert summary.points_phrase(0.8, 0.75) == "较上周提高 5.0 个百分点"
    assert summary.points_phrase(None, 0.7) == "上周无可比数据"


STALE = timedelta(minutes=30)


def test_a_week_is_claimed_once(db):
    assert archive.claim(db, "2026-W47", trigger="schedule", force=False, stale_after=STALE)
    # Running: nobody else takes it, forced or not.
    assert not archive.claim(db, "2026-W47", trigger="schedule", force=False, stale_after=STALE)
    assert not archive.claim(db, "2026-W47", trigger="cli", force=True, stale_after=STALE)
    archive.succeed(db, "2026-W47", [{"name": "report.pdf", "kind": "pdf", "bytes": 10, "caption": ""}], "s", {})
    # Done: the schedule leaves it, a person may remake it.
    assert not archive.claim(db, "2026-W47", trigger="schedule", force=False, stale_after=STALE)
    assert archive.claim(db, "2026-W47", trigger="cli", force=True, stale_after=STALE)
    archive.fail(db, "2026-W47", "boom")
    row = archive.get(db, "2026-W47")
    assert (row.status, row.error, row.attempts) == ("failed", "boom", 2)
    assert row.files[0]["name"] == "report.pdf"  # the last good version stays listed
    # Failed: the schedule retries it.
    assert archive.claim(db, "2026-W47", trigger="retry", force=False, stale_after=STALE)
    # A run that died long ago is taken over.
    assert archive.claim(db, "2026-W47", trigger="cli", force=True, stale_after=timedelta(seconds=-1))


def test_concurrent_claims_have_one_winner(db):
    wins = []
    barrier = threading.Barrier(4)

    def go():
        barrier.wait()
        wins.append(archive.claim(db, "2026-W40", trigger="schedule", force=False, stale_after=STALE))

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False, False, False, True]
    with db.reader() as s:
        assert s.query(Report).count() == 1


def test_publish_swaps_the_whole_folder_and_a_failed_run_leaves_the_previous(tmp_path):
    v1 = archive.new_version(tmp_path, "2026-W47")
    (v1 / "report.html").write_text("one")
    archive.publish(tmp_path, "2026-W47", v1)
    assert (archive.week_dir(tmp_path, "2026-W47") / "report.html").read_text() == "one"
    half = archive.new_version(tmp_path, "2026-W47")
    (half / "report.html").write_text("half")
    archive.discard(half)  # a failed run
    assert (archive.week_dir(tmp_path, "2026-W47") / "report.html").read_text() == "one"
    v2 = archive.new_version(tmp_path, "2026-W47")
    (v2 / "report.html").write_text("two")
    archive.publish(tmp_path, "2026-W47", v2)
    assert (archive.week_dir(tmp_path, "2026-W47") / "report.html").read_text() == "two"
    assert not v1.exists() and not half.exists()
    assert archive.file_path(tmp_path, "2026-W47", "report.html") is not None
    for bad in ("../x", ".hidden", "a/b"):
        assert archive.file_path(tmp_path, "2026-W47", bad) is None
    assert archive.file_path(tmp_path, "../../etc", "passwd") is None


def _png(path, array):
    Image.fromarray(array.astype(np.uint8)).save(path)
    return path


def test_picture_checks(tmp_path):
    from dashboard.reports.capture import check_png

    size, box = (320, 180), [100, 40, 160, 100]
    uniform = _png(tmp_path / "uniform.png", np.full((180, 320, 3), 20))
    with pytest.raises(ReportError, match="uniform"):
        check_png(uniform, size=size, map_box=box, scale=1)
    rng = np.random.default_rng(1)
    busy = rng.integers(0, 255, (180, 320, 3))
    empty_map = busy.copy()
    empty_map[40:140, 100:260] = 12
    with pytest.raises(ReportError, match="map area looks empty"):
        check_png(_png(tmp_path / "empty.png", empty_map), size=size, map_box=box, scale=1)
    with pytest.raises(ReportError, match="expected 640x360"):
        check_png(_png(tmp_path / "busy.png", busy), size=(640, 360), map_box=box, scale=2)
    checks = check_png(tmp_path / "busy.png", size=size, map_box=box, scale=1)
    assert checks["map_drawn"] > 0.5


def test_missing_chromium_is_one_clear_message(settings):
    from dashboard.reports.capture import find_chromium

    with pytest.raises(NotInstalled, match="apt-get install -y chromium fonts-noto-cjk"):
        find_chromium(settings.model_copy(update={"gcc_report_chromium": settings.gcc_instance_dir / "no-chromium"}))


def test_report_command_without_chromium_fails_and_records_it(cli, db, district, monkeypatch, tmp_path):
    monkeypatch.setenv("GCC_REPORT_CHROMIUM", str(tmp_path / "no-chromium"))
    code, _out, err = cli("report", "--week", "2026-W47")
    assert code == 1
    assert "apt-get install -y chromium fonts-noto-cjk" in err
    row = archive.get(db, "2026-W47")
    assert row.status == "failed" and "chromium" in row.error
    code, _out, err = cli("report", "--week", "2999-W01")
    assert code == 2 and "has not ended" in err


# ----------------------------------------------------------------------------------------------
# Delivery.


def _folder(tmp_path):
    folder = tmp_path / "2026-W47"
    folder.mkdir()
    _png(folder / "screen.png", np.random.default_rng(2).integers(0, 255, (54, 96, 3)))
    (folder / "report.pdf").write_bytes(b"%PDF-1.4 test")
    return folder


def test_email_to_a_local_smtp_server(settings, tmp_path):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    got = []

    class Keep(Message):
        def handle_message(self, message):
            got.append(message)

    from tests.live_server import free_port

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        cfg = settings.model_copy(
            update={
                "gcc_report_smtp_host": "127.0.0.1",
                "gcc_report_smtp_port": port,
                "gcc_report_mail_to": "leader@example.org, office@example.org",
                "gcc_report_base_url": "http://gcc.intranet",
            }
        )
        out = delivery.deliver(
            cfg,
            title="于都县网格治理周报",
            sentences=["本周全区共上报工单 6 件。"],
            folder=_folder(tmp_path),
            week="2026-W47",
        )
    finally:
        controller.stop()
    assert out == {"email": "sent to 2"}
    (msg,) = got
    assert msg["To"] == "leader@example.org, office@example.org"
    names = sorted(p.get_filename() for p in msg.walk() if p.get_filename())
    assert names == ["report.pdf", "screen.png"]
    text = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "本周全区共上报工单 6 件。" in text and "http://gcc.intranet/reports/2026-W47/report.html" in text


class _Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list] = []
    answer = b'{"errcode": 0, "errmsg": "ok"}'

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(type(self).answer)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("fmt", ["wecom", "dingtalk", "feishu"])
def test_webhook_to_a_local_receiver(settings, tmp_path, fmt):
    _Receiver.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        cfg = settings.model_copy(
            update={
                "gcc_report_webhook_url": f"http://127.0.0.1:{server.server_port}/robot/send?key=abc",
                "gcc_report_webhook_format": fmt,
                "gcc_report_base_url": "http://gcc.intranet",
            }
        )
        folder = _folder(tmp_path)
        out = delivery.deliver(
            cfg, title="周报", sentences=["本周全区共上报工单 6 件。"], folder=folder, week="2026-W47"
        )
    finally:
        server.shutdown()
    assert out == {"webhook": f"sent {len(_Receiver.bodies)} message(s)"}
    first = _Receiver.bodies[0]
    if fmt == "wecom":
        assert first["msgtype"] == "markdown" and "本周全区共上报工单 6 件" in first["markdown"]["content"]
        image = _Receiver.bodies[1]["image"]
        import base64
        import hashlib

        raw = base64.b64decode(image["base64"])
        assert raw == (folder / "screen.png").read_bytes() and image["md5"] == hashlib.md5(raw).hexdigest()
    elif fmt == "dingtalk":
        assert first["msgtype"] == "markdown" and first["markdown"]["title"] == "周报"
        assert "![大屏截图](http://gcc.intranet/reports/2026-W47/screen.png)" in first["markdown"]["text"]
    else:
        assert first["msg_type"] == "interactive"
        assert "本周全区共上报工单 6 件" in first["card"]["elements"][0]["content"]


def test_a_robot_that_refuses_is_recorded_not_raised(settings, tmp_path):
    _Receiver.bodies, _Receiver.answer = [], b'{"errcode": 93000, "errmsg": "invalid webhook url"}'
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = settings.model_copy(update={"gcc_report_webhook_url": f"http://127.0.0.1:{server.server_port}/x"})
        out = delivery.deliver(cfg, title="周报", sentences=["x"], folder=_folder(tmp_path), week="2026-W47")
    finally:
        server.shutdown()
        _Receiver.answer = b'{"errcode": 0, "errmsg": "ok"}'
    assert out["webhook"].startswith("failed:") and "93000" in out["webhook"]


def test_a_chinese_font_is_required(settings, monkeypatch):
    from dashboard.reports import capture

    assert capture.chinese_fonts()  # fonts-noto-cjk, as the README installs
    monkeypatch.setattr(capture, "chinese_fonts", lambda: False)
    with pytest.raises(NotInstalled, match="Chinese font"):
        capture.find_chromium(settings)


def test_healthz_shows_the_latest_report(db, settings):
    from dashboard.server import create_app

    archive.claim(db, "2026-W46", trigger="schedule", force=False, stale_after=STALE)
    archive.succeed(db, "2026-W46", [], "s", {})
    archive.claim(db, "2026-W47", trigger="schedule", force=False, stale_after=STALE)
    archive.fail(db, "2026-W47", "the report needs Chromium at /usr/bin/chromium")
    body = create_app(settings, db).server.test_client().get("/healthz").get_json()
    assert body["report"]["week"] == "2026-W47" and body["report"]["status"] == "failed"
    assert "Chromium" in body["report"]["error"]
    assert "weekly_report" not in body["jobs"]  # not run yet: only jobs that ran are listed


def test_the_retry_job_decides_from_the_weeks_row(db, settings, monkeypatch):
    from data.reports import job

    ran = []
    monkeypatch.setattr(job, "run_child", lambda s, week, trigger: ran.append((week, trigger)) or {"status": "ok"})
    week = last_finished(settings.gcc_timezone).name
    assert job.retry_failed(db, settings) == {"week": week, "nothing": "not made yet"}
    archive.claim(db, week, trigger="schedule", force=False, stale_after=STALE)
    assert job.retry_failed(db, settings)["nothing"] == "running"  # a live run is left alone
    archive.fail(db, week, "boom")
    assert job.retry_failed(db, settings)["retried"] == "ok" and ran == [(week, "retry")]
    cfg = settings.model_copy(update={"gcc_report_max_attempts": 1})
    assert job.retry_failed(db, cfg) == {"week": week, "gave_up": 1, "error": "boom"}
    assert job.weekly_report(db, settings)["status"] == "ok"  # the Monday run of a failed week
    archive.succeed(db, week, [], "s", {})
    assert job.weekly_report(db, settings) == {"week": week, "skipped": "ok"}
    assert job.cron_args(settings) == {"day_of_week": "mon", "hour": 8, "minute": 0}
