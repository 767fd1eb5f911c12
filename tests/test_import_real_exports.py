"""Exports as the field has them (tests/exports.py: San Francisco, New York, Chicago without a
close-date column, Austin, a 12345 hotline) through `python app.py import-tickets`, on every
backend: every row with an identity becomes a ticket, oddities are flagged and counted, the
printed status mapping is a ready override, a newer export syncs what changed, two systems with
overlapping numbers both import, and the indicators treat flagged records as documented."""

from __future__ import annotations

import copy
import shlex
from collections import Counter
from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

import data.locate
from data import aggregates, indicators, quality, workflow
from data.audit import AuditLog
from data.clock import UTC, zone
from data.models import DailyStat, Ticket, TicketEvent
from geo.coords import from_wgs84
from tests import exports
from tests.helpers import DESK

BUILDERS = {
    "san_francisco": exports.san_francisco,
    "new_york": exports.new_york,
    "chicago_without_close_dates": exports.chicago,
    "austin": exports.austin,
    "hotline_12345": exports.hotline_12345,
}
SHANGHAI = zone("Asia/Shanghai")


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch):
    data.locate._cache.clear()  # cached by boundary count and ids, which the emptied test db reuses
    monkeypatch.chdir(tmp_path)  # the default reject file goes to the current directory


def tickets_of(db, system):
    with db.reader() as s:
        return {
            r.external_id: r
            for r in s.execute(
                select(
                    Ticket.id,
                    Ticket.external_id,
                    Ticket.status,
                    Ticket.data_quality,
                    Ticket.source_status,
                    Ticket.closed_at,
                    Ticket.handle_due_at,
                    Ticket.lon,
                    Ticket.lat,
                    Ticket.grid_id,
                    Ticket.source,
                ).where(Ticket.system == system)
            )
        }


def flag_line(flags: Counter) -> str:
    shown = ", ".join(f"{k} {flags[k]}" for k in quality.FLAGS if flags[k])
    return f"Data-quality flags (imported as they are, see docs/import.md): {shown}"


@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_row_with_an_identity_becomes_a_ticket_and_oddities_are_flagged(cli, db, district, tmp_path, name):
    ex = BUILDERS[name](tmp_path, district, np.random.default_rng(13))
    assert ex.flags["time_order"] + ex.flags["closed_without_time"] + ex.flags["unknown_status"] > 0
    code, out, err = cli("import-tickets", ex.path, *ex.argv, "--dry-run")
    assert code == 0, err
    rejected = ex.rows - ex.identified
    summary = f"Records: {ex.rows}; imported {ex.identified}, updated (sync) 0, unchanged 0, rejected {rejected}"
    assert summary in out and flag_line(ex.flags) in out  # the dry run reports what the import does
    assert not tickets_of(db, ex.system)

    code, out, err = cli("import-tickets", ex.path, *ex.argv)
    assert code == 0, err
    assert summary in out and flag_line(ex.flags) in out
    got = tickets_of(db, ex.system)
    assert len(got) == ex.identified  # nothing with an identity is dropped
    assert Counter(t.status for t in got.values()) == ex.statuses
    assert Counter(f for t in got.values() for f in t.data_quality) == ex.flags
    for external_id, want in ex.records.items():
        assert (got[external_id].status, sorted(got[external_id].data_quality)) == (want["status"], want["flags"])
    # The printed mapping names every guessed word and gives the override ready to paste.
    for word, ours in ex.guessed.items():
        assert f"{word!r} -> {ours} (" in out and f"--status-map {shlex.quote(f'{word}={ours}')}" in out
    if rejected:
        with open(tmp_path / f"{ex.path.stem}.rejects.csv", encoding="utf-8-sig") as f:
            assert f.read().count("external_id is empty") == rejected
    # The raw status word is kept beside ours.
    assert {t.source_status for t in got.values() if "unknown_status" in t.data_quality} == set(ex.guessed)


def test_a_file_without_a_close_date_column_counts_its_closures_without_times(cli, db, district, tmp_path):
    ex = exports.chicago(tmp_path, district, np.random.default_rng(5))
    assert cli("import-tickets", ex.path, *ex.argv, "--no-refresh")[0] == 0
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)
    with db.session() as s:
        numbers = indicators.total(s, Ticket.system == ex.system, start, end, now=end)
        assert numbers.reported == ex.identified
        assert numbers.closed_untimed == ex.statuses["closed"] == ex.flags["closed_without_time"]
        assert numbers.closed == numbers.should_close == 0 and numbers.on_time_rate is None
        assert numbers.open_now == ex.statuses["reported"]  # Completed ones are not open
        aggregates.refresh(s, "full")
        assert s.scalar(select(func.sum(DailyStat.closed))) == 0  # no close day to count them on


def test_the_printed_mapping_is_a_ready_override(cli, db, district, tmp_path):
    ex = exports.new_york(tmp_path, district, np.random.default_rng(21))
    code, out, _ = cli("import-tickets", ex.path, *ex.argv)
    assert code == 0
    ready = out.split("To keep or change the guesses, add to the command (and edit the statuses):\n", 1)[1]
    options = shlex.split(ready.splitlines()[0])
    assert options[::2] == ["--status-map"] * len(ex.guessed)
    # Confirming the guesses changes no status; the tickets lose their unknown_status flag (a sync).
    code, out, _ = cli("import-tickets", ex.path, *ex.argv, *options)
    assert code == 0
    unknown = ex.flags["unknown_status"]
    assert f"imported 0, updated (sync) {unknown}, unchanged {ex.identified - unknown}" in out
    assert "To keep or change the guesses" not in out
    got = tickets_of(db, ex.system)
    assert Counter(t.status for t in got.values()) == ex.statuses
    assert not any("unknown_status" in t.data_quality for t in got.values())
    # Overriding a guess changes the statuses it maps.
    code, out, _ = cli("import-tickets", ex.path, *ex.argv, "--status-map", "Pending=suspended")
    assert code == 0
    pending = sum(1 for t in got.values() if t.source_status == "Pending")
    assert f"updated (sync) {unknown}" in out and "'Pending' -> suspended" in out
    after = tickets_of(db, ex.system)
    assert sum(1 for t in after.values() if t.status == "suspended") == pending > 0


def test_a_newer_export_syncs_what_changed(cli, db, district, tmp_path):
    ex = exports.hotline_12345(tmp_path, district, np.random.default_rng(8), n=400)
    assert cli("import-tickets", ex.path, *ex.argv)[0] == 0
    before = tickets_of(db, ex.system)
    rows = copy.deepcopy(ex.table)
    number = {r[0]: i for i, r in enumerate(rows)}
    open_ids = [r[0] for r in rows if r[5] in ("办理中", "已受理") and before[r[0]].lon is not None]
    closed_ids = [r[0] for r in rows if r[5] == "已办结" and "time_order" not in before[r[0]].data_quality]
    closing, due_moved, moving = open_ids[:12], open_ids[12:18], open_ids[18:22]
    reopening = closed_ids[:1]
    # Worked on here, unchanged in the source: stays as we left it.
    local = next(r[0] for r in rows if r[5] == "已受理" and r[0] not in open_ids[:22] and before[r[0]].grid_id)
    with db.session() as s:
        workflow.apply(s, DESK, before[local].id, workflow.ActionInput("dispatch"))
    closed_at = datetime(2026, 4, 20, 10, 30)
    for i in closing:
        rows[number[i]][5], rows[number[i]][3] = "已办结", f"{closed_at:%Y/%m/%d %H:%M:%S}"
    for i in due_moved:
        rows[number[i]][4] = "2026/05/30"
    target = exports.Points(district, np.random.default_rng(99))
    new_points = {}
    for i in moving:
        lon, lat = target.inside()
        new_points[i] = (lon, lat)
        rows[number[i]][10], rows[number[i]][11] = (f"{v:.7f}" for v in from_wgs84(lon, lat, "gcj02"))
    for i in reopening:
        rows[number[i]][5], rows[number[i]][3] = "办理中", ""
    extra = exports.hotline_12345(tmp_path, district, np.random.default_rng(9), n=30, name="extra.csv",
                                  ids=[f"GD-NEW-{k}" for k in range(30)])  # fmt: skip
    path = exports.rewrite(ex, rows + extra.table, "12345导出-新.csv")

    with db.reader() as s:
        events_before = s.scalar(select(func.count(TicketEvent.id)))
        audit_before = s.scalar(select(func.count(AuditLog.id)))
    code, out, err = cli("import-tickets", path, *ex.argv)
    assert code == 0, err
    changed = len(closing) + len(due_moved) + len(moving) + len(reopening)
    assert f"imported 30, updated (sync) {changed}, unchanged {ex.identified - changed}, rejected 0" in out
    assert "Aggregates refreshed (incremental)" in out
    after = tickets_of(db, ex.system)
    assert len(after) == ex.identified + 30
    local_close = closed_at.replace(tzinfo=SHANGHAI).astimezone(UTC)
    for i in closing:
        assert (after[i].status, after[i].closed_at) == ("closed", local_close)
    for i in due_moved:
        assert after[i].status == before[i].status
        assert after[i].handle_due_at == datetime(2026, 5, 30, 23, 59, 59, tzinfo=SHANGHAI).astimezone(UTC)
    for i in moving:
        assert abs(after[i].lon - new_points[i][0]) < 1e-6 and abs(after[i].lat - new_points[i][1]) < 1e-6
    for i in reopening:
        assert (after[i].status, after[i].closed_at) == ("in_progress", None)
    assert after[local].status == "dispatched"  # the source said nothing new of it

    with db.reader() as s:
        syncs = s.scalars(select(TicketEvent).where(TicketEvent.action == "sync")).all()
        assert len(syncs) == changed
        by_ticket = {e.ticket_id: e for e in syncs}
        closing_event = by_ticket[after[closing[0]].id]
        assert (closing_event.from_status, closing_event.to_status) == (before[closing[0]].status, "closed")
        assert closing_event.data["changed"]["closed_at"] == [None, local_close.isoformat()]
        assert closing_event.data["file"] == path.name and closing_event.actor_role == "system"
        moved_event = by_ticket[after[moving[0]].id]
        assert "location" in moved_event.data["changed"]
        assert moved_event.previous_grid_id in (None, before[moving[0]].grid_id)
        # Every event written is audited; 30 new tickets add their import (and close) events.
        events = s.scalar(select(func.count(TicketEvent.id))) - events_before
        assert s.scalar(select(func.count(AuditLog.id))) - audit_before == events
        closed_today = s.scalar(
            select(func.sum(DailyStat.closed)).where(DailyStat.day == closed_at.date(), DailyStat.source == "hotline")
        )
        assert closed_today >= len(closing)

    # The same newer export again: nothing left to sync.
    code, out, _ = cli("import-tickets", path, *ex.argv)
    assert code == 0 and f"imported 0, updated (sync) 0, unchanged {ex.identified + 30}" in out


def test_two_systems_with_overlapping_numbers_both_import_fully(cli, db, district, tmp_path):
    ids = [str(k) for k in range(1, 301)]
    hotline = exports.hotline_12345(tmp_path, district, np.random.default_rng(1), n=300, ids=ids)
    city = exports.hotline_12345(tmp_path, district, np.random.default_rng(2), n=300, ids=ids, name="数字城管.csv",
                                 system="数字城管")  # fmt: skip
    city.argv[city.argv.index("--source") + 1] = "patrol"
    assert cli("import-tickets", hotline.path, *hotline.argv)[0] == 0
    code, out, err = cli("import-tickets", city.path, *city.argv)
    assert code == 0, err
    assert "imported 300, updated (sync) 0, unchanged 0" in out and "System: 数字城管" in out
    a, b = tickets_of(db, "12345"), tickets_of(db, "数字城管")
    assert set(a) == set(b) == set(ids) and {t.source for t in b.values()} == {"patrol"}
    assert not {t.id for t in a.values()} & {t.id for t in b.values()}
    for ex in (hotline, city):
        code, out, _ = cli("import-tickets", ex.path, *ex.argv)
        assert code == 0 and "imported 0, updated (sync) 0, unchanged 300" in out


def test_indicators_take_flagged_records_as_documented(cli, db, district, tmp_path):
    p = exports.Points(district, np.random.default_rng(3))
    (x1, y1), (x2, y2), (x3, y3), (x4, y4) = (p.inside() for _ in range(4))
    rows = [
        # normal: 10 h to close, on time
        ["N", x1, y1, "2026-03-02 08:00", "2026-03-02 18:00", "2026-03-05", "Closed"],
        # closed before opened (a 12-hour slip): closed at its time, no negative duration in the mean
        ["T", x2, y2, "2026-03-02 20:00", "2026-03-02 08:05", "2026-03-05", "Closed"],
        # closed without a close time, due in the period: neither 结案 nor 到期未结, not overdue
        ["U", x3, y3, "2026-03-02 08:00", "", "2026-03-05", "Closed"],
        # open and past due: 到期未结 and overdue now
        ["O", x4, y4, "2026-03-02 08:00", "", "2026-03-05", "Assigned"],
    ]
    path = exports._write(tmp_path / "few.csv", ["id", "lon", "lat", "opened", "closed", "due", "status"], rows)
    code, out, err = cli(
        "import-tickets", path, "--source", "hotline", "--map", "external_id=id", "--map", "created_at=opened",
        "--map", "closed_at=closed", "--map", "due_at=due", "--map", "status=status",
    )  # fmt: skip
    assert code == 0, err
    assert "time_order 1, closed_without_time 1" in out
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    with db.session() as s:
        n = indicators.total(s, Ticket.system == "hotline", start, end, now=end)
        assert (n.reported, n.closed, n.closed_untimed, n.due_unclosed, n.should_close) == (4, 2, 1, 1, 3)
        assert n.closed_on_time == 2 and n.overdue_now == 1 and n.open_now == 1
        assert n.handling_n == 1 and n.mean_handling_hours == pytest.approx(10.0)
        aggregates.refresh(s, "full")
    with db.reader() as s:
        untimed = s.scalars(select(Ticket).where(Ticket.external_id == "U")).one()
        assert untimed.closed_at is None and not untimed.overdue
        events = [e.action for e in untimed.events]
        assert events == ["import"] and untimed.events[0].to_status == "closed"


def test_a_ticket_shows_where_it_came_from_and_what_was_odd(settings, cli, db, district, tmp_path):
    # (settings first: it clears DATABASE_URL, which the cli fixture then sets to the test database)
    from data.access import Viewer
    from data.read.ticket_records import ticket_record
    from data.read.tickets import deadline
    from tests.api_fixtures import make_client, new_key

    rows = [["K-1", "", "", "2026-03-02 08:00", "", "2026-03-05", "Closed (Duplicate)"],
            ["K-2", "", "", "2026-03-02 08:00", "", "2026-03-05", "完成"]]  # fmt: skip
    path = exports._write(tmp_path / "k.csv", ["id", "lon", "lat", "opened", "closed", "due", "status"], rows)
    code, out, err = cli(
        "import-tickets", path, "--source", "hotline", "--system", "数字城管", "--map", "external_id=id",
        "--map", "created_at=opened", "--map", "closed_at=closed", "--map", "due_at=due", "--map", "status=status",
    )  # fmt: skip
    assert code == 0, err
    assert "imported 2" in out, out
    got = tickets_of(db, "数字城管")
    assert set(got) == {"K-1", "K-2"}, (got, out)
    with db.reader() as s:
        view = ticket_record(s, Viewer(role="admin", name="admin"), got["K-2"].id)
    assert (view.system, view.external_id, view.source_status) == ("数字城管", "K-2", "完成")
    assert list(view.data_quality) == ["closed_without_time", "location_missing"]
    now = datetime(2026, 4, 1, tzinfo=UTC)
    assert deadline(view.handle_due_at, view.closed_at, now, finished=True).state == "ended"  # not "overdue"

    client = make_client(db, settings)
    key = new_key(db, "k", role="system")
    answer = client.get(f"/api/v1/tickets/{got['K-1'].id}", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert (body["status"], body["system"], body["external_id"]) == ("duplicate", "数字城管", "K-1")
    assert body["source_status"] == "Closed (Duplicate)"
    assert body["data_quality"] == ["unknown_status", "location_missing"]
    history = [e["action"] for e in body["history"]]
    assert history == ["import"]


def test_grid_changes_keep_location_flags_current(cli, db, district, tmp_path):
    """A point outside every grid is flagged; moved into a grid (relocate), the flag goes."""
    p = exports.Points(district, np.random.default_rng(4))
    far = p.outside()
    path = exports._write(tmp_path / "f.csv", ["id", "lon", "lat", "opened"], [["F", *far, "2026-03-02 08:00"]])
    assert cli("import-tickets", path, "--source", "hotline", "--map", "external_id=id",
               "--map", "created_at=opened")[0] == 0  # fmt: skip
    ticket = tickets_of(db, "hotline")["F"]
    assert ticket.data_quality == ["location_outside"]
    lon, lat = p.inside()
    with db.session() as s:
        placement = data.locate.locator(s).place(lon, lat)
        workflow.apply(s, DESK, ticket.id, workflow.ActionInput("relocate", placement=placement, lon=lon, lat=lat,
                       at=datetime.now(UTC) + timedelta(seconds=1)))  # fmt: skip
    assert tickets_of(db, "hotline")["F"].data_quality == []


def test_sync_is_a_system_action_that_sets_only_what_its_system_controls(db, district):
    from data.access import AccessDenied, Viewer
    from tests.helpers import new_ticket

    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0])
        t.system, t.external_id = "12345", "S-1"
        s.flush()
        due = datetime(2026, 12, 1, tzinfo=UTC)
        with pytest.raises(AccessDenied, match="may not sync"):
            workflow.apply(
                s,
                DESK.__class__(role="dispatcher"),
                t.id,
                workflow.ActionInput("sync", data={"fields": {"status": "closed"}}),
            )
        with pytest.raises(workflow.WorkflowError, match="cannot set description"):
            workflow.apply(s, DESK, t.id, workflow.ActionInput("sync", data={"fields": {"description": "x"}}))
        with pytest.raises(workflow.WorkflowError, match="needs the fields"):
            workflow.apply(s, DESK, t.id, workflow.ActionInput("sync", data={}))
        event = workflow.apply(
            s,
            DESK,
            t.id,
            workflow.ActionInput(
                "sync", data={"fields": {"status": "accepted", "handle_due_at": due}, "file": "f.csv"}
            ),
        )
        assert (event.from_status, event.to_status, t.status, t.handle_due_at) == (
            "reported",
            "accepted",
            "accepted",
            due,
        )
        assert event.data == {"file": "f.csv", "changed": {"status": ["reported", "accepted"],
                                                           "handle_due_at": [None, due.isoformat()]}}  # fmt: skip
        assert "sync" not in workflow.allowed_actions(Viewer(role="dispatcher"), t)
