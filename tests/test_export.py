"""`python app.py export-tickets` and the export functions the web layer can reuse: one row per
ticket in the viewer's scope, Excel-friendly UTF-8 with BOM, overdue as true/false, audited."""

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from data import workflow
from data.access import AccessDenied, Viewer
from data.audit import AuditLog
from data.importers.export import COLUMNS, is_overdue, ticket_rows, write_csv
from data.models import Region, Ticket
from tests.helpers import DESK, T0, new_ticket, run_loop

UTC = timezone.utc
NOW = datetime(2026, 11, 23, tzinfo=UTC)
DUE = datetime(2026, 11, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "due", "closed", "flagged", "expected"),
    [
        ("closed", DUE, DUE - timedelta(hours=1), False, False),
        ("closed", DUE, DUE + timedelta(hours=1), False, True),  # closed late
        ("in_progress", DUE, None, False, True),  # open past due
        ("in_progress", NOW + timedelta(days=1), None, False, False),
        ("reported", None, None, False, False),
        ("rejected", DUE, None, False, False),  # never worked: not overdue
        ("in_progress", None, None, True, True),  # flagged by the deadline sweep
    ],
)
def test_overdue(status, due, closed, flagged, expected):
    assert is_overdue(status, due, closed, flagged, NOW) is expected


@pytest.fixture
def tickets(db, district):
    """Three tickets in two communities: open, closed on time, and open past its deadline."""
    grids = district.grid_ids
    other = next(g for g in grids if district.community_of[g] != district.community_of[grids[0]])
    with db.session() as s:
        a = new_ticket(s, grids[0], at=T0, external_id="E-1", source="hotline")
        b = new_ticket(s, grids[0], at=T0 + timedelta(days=2))
        c = new_ticket(s, other, at=T0 + timedelta(days=5))
        run_loop(s, b.id, b.created_at, rating=None)  # closed 6 hours after dispatch: on time
        workflow.apply(s, DESK, c.id, workflow.ActionInput("accept", at=c.created_at))
        workflow.apply(s, DESK, c.id, workflow.ActionInput("dispatch", at=c.created_at))
        return a.id, b.id, c.id


def export(db, viewer, **kw):
    with db.reader() as s:
        out = io.StringIO()
        count = write_csv(ticket_rows(s, viewer, now=NOW, **kw), out)
    return count, out.getvalue()


def test_rows_for_the_whole_district(db, district, tickets):
    count, text = export(db, Viewer.system())
    assert count == 3 and text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert list(rows[0]) == list(COLUMNS)
    a, b, c = rows
    with db.reader() as s:
        grid = s.get(Region, district.grid_ids[0])
        community = s.get(Region, grid.parent_id)
        street = s.get(Region, community.parent_id)
        ticket = s.get(Ticket, tickets[0])
        assert (a["external_id"], a["source"], a["grid_code"], a["community_code"], a["street_code"]) == (
            "E-1",
            "hotline",
            grid.code,
            community.code,
            street.code,
        )
        assert a["lon"] == repr(ticket.lon) and a["lat"] == repr(ticket.lat)
    assert a["created_at"] == "2026-11-02T09:00:00+08:00" and a["closed_at"] == a["due_at"] == ""
    assert (a["status"], a["overdue"]) == ("reported", "false")
    assert (b["status"], b["overdue"], b["external_id"]) == ("closed", "false", "")
    assert c["status"] == "dispatched" and c["due_at"] and c["overdue"] == "true"  # due days before NOW
    assert a["category"] == "暴露垃圾" and a["location_match"] == "inside"


def test_scope_since_and_permission(db, district, tickets):
    first = district.community_of[district.grid_ids[0]]
    count, text = export(db, Viewer(role="supervisor", region_id=first))
    assert count == 2 and "E-1" in text
    count, _ = export(db, Viewer.system(), since=T0 + timedelta(days=1))
    assert count == 2
    for role in ("kiosk", "grid_worker", "property", "anonymous"):
        with pytest.raises(AccessDenied):
            export(db, Viewer(role=role))


def test_cli_export_writes_bom_csv_and_an_audit_row(cli, db, tickets, tmp_path):
    out = tmp_path / "工单.csv"
    code, stdout, err = cli("export-tickets", out, "--since", "2026-11-04")
    assert code == 0, err
    assert "Exported 2 tickets" in stdout and "UTF-8 with BOM" in stdout
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert len(rows) == 2 and {r["category"] for r in rows} == {"暴露垃圾"}
    assert not (tmp_path / "工单.csv.partial").exists()
    with db.reader() as s:
        row = s.scalars(select(AuditLog).where(AuditLog.action == "export")).one()
        assert row.detail["rows"] == 2 and row.role == "system" and row.client == "system"


def test_cli_export_refusals(cli, db, tickets, tmp_path):
    code, _, err = cli("export-tickets", tmp_path / "x.csv", "--since", "last week")
    assert code == 2 and "--since" in err and "Traceback" not in err
    code, _, err = cli("export-tickets", tmp_path / "missing" / "x.csv")
    assert code == 1 and "cannot write" in err and "Traceback" not in err
    with db.reader() as s:
        assert s.scalars(select(AuditLog).where(AuditLog.action == "export")).first() is None
