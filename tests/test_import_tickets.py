"""`python app.py import-tickets` with real CSV files in temporary folders, on every backend: the
quirks of real exports, the reject file, coordinate systems, the unassigned queue, idempotent
re-imports, history events and aggregates, refusals that write nothing."""

import csv
import io
from datetime import datetime, timezone

import pyproj
import pytest
import shapely
from sqlalchemy import func, select

import data.locate
from data import escalation, indicators
from data.audit import AuditLog
from data.importers.cli import rejects_path
from data.models import Category, DailyStat, Escalation, GridStat, GridTeam, Ticket, TicketEvent
from geo.coords import from_wgs84

UTC = timezone.utc


@pytest.fixture(autouse=True)
def fresh_locator(tmp_path, monkeypatch):
    # data.locate caches by boundary count and ids; the emptied test database reuses both.
    data.locate._cache.clear()
    monkeypatch.chdir(tmp_path)  # the default reject file goes to the current directory


def points(district):
    """A point well inside each grid of the district fixture: (grid_id, lon, lat)."""
    return [
        (gid, *polygon.representative_point().coords[0])
        for gid, polygon in zip(district.grid_ids, district.grid_polygons, strict=True)
    ]


def write_csv(path, header, rows, *, bom=True, encoding="utf-8"):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode(encoding))
    return path


def counts(db):
    with db.reader() as s:
        return tuple(s.scalar(select(func.count(m.id))) for m in (Ticket, TicketEvent, AuditLog))


HOTLINE_MAP = [
    "--map", "external_id=工单编号", "--map", "lon=经度", "--map", "lat=纬度", "--map", "created_at=受理时间",
    "--map", "closed_at=办结时间", "--map", "due_at=办理时限", "--map", "status=办理状态",
    "--map", "category=问题类型", "--map", "description=诉求内容", "--map", "address=事发地址",
]  # fmt: skip
HOTLINE_HEADER = ["工单编号", "经度", "纬度", "受理时间", "办结时间", "办理时限", "办理状态", "问题类型", "诉求内容",
                  "事发地址"]  # fmt: skip


def hotline_file(tmp_path, district):
    """A 12345 export as it comes: BOM, CRLF, a field with line breaks, ISO / US 12-hour / two-digit
    year / Chinese dates, a thousands separator, NA, a blank line, rows that cannot be imported."""
    p = points(district)
    text = (
        "\ufeff" + ",".join(HOTLINE_HEADER) + "\r\n"
        f"RX-1,{p[0][1]:.7f},{p[0][2]:.7f},2026-10-05 08:15:00,10/06/2026 04:30:00 PM,2026-10-08,已办结,暴露垃圾,"
        f'"楼下垃圾三天没人清运，\r\n味道很大, 请尽快处理",某小区3栋\r\n'
        f"RX-2,{p[1][1]:.7f},{p[1][2]:.7f},10/7/26 9:05 AM,NA,NA,处理中,飞线充电,楼道里飞线给电动车充电,NA\r\n"
        f'RX-3,NA,NA,2026年10月8日 下午3:20,,,待受理,公共设施/路灯损坏,"路灯不亮",\r\n'
        "\r\n"
        f'RX-4,"1,{p[2][1]:.4f}",{p[2][2]:.7f},2026-10-09T10:00:00+08:00,2026-10-09T18:00:00+08:00,,办结,,'
        "坐标有千分位错误,\r\n"
        f"RX-5,{p[3][1]:.7f},{p[3][2]:.7f},not a date,,,处理中,暴露垃圾,,\r\n"
        f"RX-6,{p[3][1]:.7f},{p[3][2]:.7f},2026-10-10 10:00,,,被外星人带走,暴露垃圾,,\r\n"
        f"RX-1,{p[3][1]:.7f},{p[3][2]:.7f},2026-10-11 10:00,,,处理中,暴露垃圾,,\r\n"
        f"RX-7,{p[4][1]:.7f},{p[4][2]:.7f},2026-10-12 10:00,2026-10-12 09:00,,已办结,暴露垃圾,,\r\n"
        f"RX-8,{p[4][1]:.7f}\r\n"
    )
    path = tmp_path / "12345导出.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_a_real_hotline_export(cli, db, district, tmp_path):
    path = hotline_file(tmp_path, district)
    code, out, err = cli("import-tickets", path, "--source", "hotline", *HOTLINE_MAP)
    assert code == 0, err
    assert "UTF-8 BOM" in out and "1 blank lines skipped" in out
    assert "Records: 9; imported 6, updated (sync) 0, unchanged 0, rejected 3" in out
    assert "Unassigned queue (imported without a grid): no coordinates 1, not a point on Earth 1" in out
    assert "Data-quality flags (imported as they are, see docs/import.md): time_order 1, unknown_status 1, " \
        "location_missing 2" in out  # fmt: skip
    assert "'被外星人带走' -> reported (1)  [guessed from its words: flagged unknown_status]" in out
    assert "--status-map '被外星人带走=reported'" in out
    assert "Aggregates refreshed (incremental)" in out

    p = points(district)
    with db.reader() as s:
        t = {x.external_id: x for x in s.scalars(select(Ticket).where(Ticket.source == "hotline"))}
        assert sorted(t) == ["RX-1", "RX-2", "RX-3", "RX-4", "RX-6", "RX-7"]
        one = t["RX-1"]
        assert (one.status, one.grid_id, one.location_match) == ("closed", p[0][0], "inside")
        assert one.community_id == district.community_of[p[0][0]]
        assert one.created_at == datetime(2026, 10, 5, 0, 15, tzinfo=UTC)
        assert one.closed_at == datetime(2026, 10, 6, 8, 30, tzinfo=UTC)
        assert one.handle_due_at == datetime(2026, 10, 8, 15, 59, 59, tzinfo=UTC)
        assert one.description == "楼下垃圾三天没人清运，\n味道很大, 请尽快处理"
        assert one.address == "某小区3栋" and one.category.name == "暴露垃圾" and one.category.code != "IMP-001"
        assert t["RX-2"].created_at == datetime(2026, 10, 7, 1, 5, tzinfo=UTC) and t["RX-2"].status == "in_progress"
        assert t["RX-2"].grid_id == p[1][0] and t["RX-2"].address is None
        three = t["RX-3"]
        assert (three.status, three.grid_id, three.lon, three.location_match) == ("reported", None, None, "unassigned")
        assert three.created_at == datetime(2026, 10, 8, 7, 20, tzinfo=UTC)
        four = t["RX-4"]  # "1,115.x" is a thousands separator on a longitude: not on Earth, flagged
        assert (four.status, four.grid_id, four.lon) == ("closed", None, None)
        # Unknown categories land under 导入类; an empty one is 未分类 there.
        imported = {c.name: c for c in s.scalars(select(Category).where(Category.code.like("IMP%")))}
        assert set(imported) == {"导入类", "飞线充电", "未分类"}
        assert t["RX-2"].category_id == imported["飞线充电"].id
        assert imported["飞线充电"].parent_id == imported["导入类"].id
        assert three.category.name == "路灯损坏"  # matched as 大类/小类
        assert t["RX-4"].category_id == imported["未分类"].id
        # Odd rows are imported as the source gave them, and flagged.
        six, seven = t["RX-6"], t["RX-7"]
        assert (six.status, six.source_status, six.data_quality) == ("reported", "被外星人带走", ["unknown_status"])
        assert (seven.status, seven.data_quality) == ("closed", ["time_order"])
        assert seven.closed_at == datetime(2026, 10, 12, 1, 0, tzinfo=UTC) < seven.created_at
        assert seven.source_record["cells"]["closed_at"] == "2026-10-12 09:00"
        assert three.data_quality == ["location_missing"] and one.data_quality == [] and one.system == "hotline"

        events = s.execute(
            select(
                TicketEvent.ticket_id,
                TicketEvent.action,
                TicketEvent.from_status,
                TicketEvent.to_status,
                TicketEvent.at,
                TicketEvent.grid_id,
            ).order_by(TicketEvent.id)
        ).all()
        history = {}
        for e in events:
            history.setdefault(e.ticket_id, []).append(e)
        assert [(e.action, e.from_status, e.to_status) for e in history[one.id]] == [
            ("import", None, "handled"),
            ("verify_close", "handled", "closed"),
        ]
        assert [e.at for e in history[one.id]] == [one.created_at, one.closed_at]
        assert history[one.id][0].grid_id == p[0][0]
        assert [(e.action, e.to_status) for e in history[t["RX-2"].id]] == [("import", "in_progress")]
        assert s.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "ticket")) == len(events) == 9
        assert s.scalar(select(func.count()).select_from(GridStat).where(GridStat.grid_id == p[1][0])) == 1
        assert s.scalar(select(func.sum(DailyStat.closed)).where(DailyStat.source == "hotline")) == 3

    with open(rejects_path(str(path), None), encoding="utf-8-sig", newline="") as f:
        rejects = list(csv.reader(f))
    assert rejects[0] == ["line", "reason", *HOTLINE_HEADER]
    reasons = {row[0]: row[1] for row in rejects[1:]}
    # Lines: header 1, RX-1 2-3 (a line break inside a field), RX-2 4, RX-3 5, blank 6, RX-4 7.
    assert set(reasons) == {"8", "10", "12"}  # only rows that cannot be tickets
    assert reasons["8"].startswith("created_at: 'not a date'")
    assert reasons["10"] == "external_id 'RX-1' is also on line 2"
    assert reasons["12"] == "the record has 2 fields, the header has 10"
    assert rejects[1][2:] == ["RX-5", f"{p[3][1]:.7f}", f"{p[3][2]:.7f}", "not a date", "", "", "处理中", "暴露垃圾",
                              "", ""]  # fmt: skip


def test_reimport_is_idempotent_and_a_status_map_reclassifies_through_sync(cli, db, district, tmp_path):
    path = hotline_file(tmp_path, district)
    assert cli("import-tickets", path, "--source", "hotline", *HOTLINE_MAP)[0] == 0
    before = counts(db)
    code, out, _ = cli("import-tickets", path, "--source", "hotline", *HOTLINE_MAP)
    assert code == 0 and "imported 0, updated (sync) 0, unchanged 6, rejected 3" in out
    assert counts(db) == before
    code, out, _ = cli(
        "import-tickets", path, "--source", "hotline", *HOTLINE_MAP, "--status-map", "被外星人带走=suspended"
    )
    assert code == 0 and "imported 0, updated (sync) 1, unchanged 5, rejected 3" in out
    assert "'被外星人带走' -> suspended (1)\n" in out and "--status-map 被外星人带走" not in out.split("Events")[0]
    with db.reader() as s:
        six = s.scalars(select(Ticket).where(Ticket.external_id == "RX-6")).one()
        assert (six.status, six.data_quality) == ("suspended", [])
        sync = s.scalars(select(TicketEvent).where(TicketEvent.action == "sync")).one()
        assert (sync.ticket_id, sync.from_status, sync.to_status) == (six.id, "reported", "suspended")
        assert sync.data["changed"]["status"] == ["reported", "suspended"]
        # the same external id from another system is another ticket
    code, out, _ = cli("import-tickets", path, "--source", "patrol", *HOTLINE_MAP)
    assert code == 0 and "imported 6, updated (sync) 0, unchanged 0" in out


def test_dry_run_writes_nothing(cli, db, district, tmp_path):
    path = hotline_file(tmp_path, district)
    code, out, err = cli("import-tickets", path, "--source", "hotline", *HOTLINE_MAP, "--dry-run")
    assert code == 0, err
    assert "Dry run: nothing was written" in out and "imported 6" in out and "time_order 1" in out
    assert "Rejected rows (3; dry run: no reject file written)" in out and "line 12: the record has 2 fields" in out
    assert counts(db) == (0, 0, 0)
    assert not rejects_path(str(path), None).exists()
    with db.reader() as s:
        assert s.scalar(select(func.count(Category.id)).where(Category.code.like("IMP%"))) == 0


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_phone_map_coordinates_are_stored_as_wgs84(cli, db, district, tmp_path, system):
    rows = []
    for i, (_, lon, lat) in enumerate(points(district)):
        x, y = from_wgs84(lon, lat, system)
        rows.append([f"P{i}", f"{x:.8f}", f"{y:.8f}", "2026-10-01 08:00"])
    path = write_csv(tmp_path / "app.csv", ["id", "lng", "lat", "time"], rows, bom=False)
    code, out, err = cli(
        "import-tickets",
        path,
        "--source",
        "resident",
        "--coords",
        system,
        "--map",
        "external_id=id",
        "--map",
        "lon=lng",
        "--map",
        "created_at=time",
    )
    assert code == 0, err
    assert f"Coordinates: {system} -> WGS84" in out and "Placed: inside 12" in out
    with db.reader() as s:
        got = {r[0]: r[1:] for r in s.execute(select(Ticket.external_id, Ticket.grid_id, Ticket.lon, Ticket.lat))}
    for i, (gid, lon, lat) in enumerate(points(district)):
        grid_id, stored_lon, stored_lat = got[f"P{i}"]
        assert grid_id == gid
        assert abs(stored_lon - lon) < 1e-6 and abs(stored_lat - lat) < 1e-6  # < 0.1 m


def test_projected_xy_with_thousands_separators(cli, db, district, tmp_path):
    forward = pyproj.Transformer.from_crs(4326, 4547, always_xy=True)
    rows = []
    for i, (_, lon, lat) in enumerate(points(district)):
        x, y = forward.transform(lon, lat)
        rows.append([f"S{i}", f"{x:,.2f}", f"{y:,.2f}", "2026-10-01"])
    path = write_csv(tmp_path / "survey.csv", ["编号", "X坐标", "Y坐标", "日期"], rows)
    code, out, err = cli(
        "import-tickets",
        path,
        "--source",
        "patrol",
        "--coords",
        "epsg:4547",
        "--map",
        "external_id=编号",
        "--map",
        "x=X坐标",
        "--map",
        "y=Y坐标",
        "--map",
        "created_at=日期",
    )
    assert code == 0, err
    assert "Placed: inside 12" in out
    with db.reader() as s:
        got = dict(s.execute(select(Ticket.external_id, Ticket.grid_id)).all())
    assert got == {f"S{i}": gid for i, (gid, _, _) in enumerate(points(district))}


def test_points_outside_every_grid_wait_unassigned_with_their_point(cli, db, district, tmp_path):
    outline = shapely.union_all(district.grid_polygons)
    minx, _miny, maxx, maxy = outline.bounds
    far = (round(maxx + 0.05, 7), round(maxy + 0.05, 7))  # ~5 km away; stored to 7 decimals (~1 cm)
    edge = shapely.get_coordinates(outline.exterior)[0]
    near = (edge[0] + 0.0001 * (1 if edge[0] >= (minx + maxx) / 2 else -1), edge[1])
    if outline.contains(shapely.Point(near)):
        near = (edge[0] - 0.0001 * (1 if edge[0] >= (minx + maxx) / 2 else -1), edge[1])
    assert not outline.contains(shapely.Point(near)) and outline.distance(shapely.Point(near)) < 0.0002
    rows = [["FAR", *map(str, far), "2026-10-01"], ["NEAR", *map(str, near), "2026-10-01"]]
    path = write_csv(tmp_path / "edge.csv", ["external_id", "lon", "lat", "created_at"], rows)
    code, out, err = cli("import-tickets", path, "--source", "resident")
    assert code == 0, err
    assert "Unassigned queue (imported without a grid): outside every grid 1" in out
    with db.reader() as s:
        got = {t.external_id: t for t in s.scalars(select(Ticket))}
        assert (got["FAR"].grid_id, got["FAR"].location_match) == (None, "unassigned")
        assert (got["FAR"].lon, got["FAR"].lat) == far  # kept: a dispatcher can see where it was
        assert got["NEAR"].grid_id is not None and got["NEAR"].location_match == "nearest"


def test_open_orders_go_to_their_grid_team_and_old_deadlines_are_overdue_without_escalation(
    cli, db, district, tmp_path
):
    (gid, lon, lat), (_gid2, lon2, lat2) = points(district)[:2]
    rows = [
        ["OLD", lon, lat, "2026-01-01 08:00", "", "2026-01-03", "已派遣", "暴露垃圾"],
        ["NEW", lon2, lat2, "2026-01-01 08:00", "", "2099-01-03", "in progress", "暴露垃圾"],
        ["DONE", lon, lat, "2026-01-01 08:00", "2026-01-05 08:00", "2026-01-03", "closed", "暴露垃圾"],
    ]
    path = write_csv(tmp_path / "open.csv", ["id", "lon", "lat", "created", "closed", "due", "status", "cat"], rows)
    code, out, err = cli(
        "import-tickets",
        path,
        "--source",
        "hotline",
        "--map",
        "external_id=id",
        "--map",
        "created_at=created",
        "--map",
        "closed_at=closed",
        "--map",
        "due_at=due",
        "--map",
        "status=status",
        "--map",
        "category=cat",
        "--no-refresh",
    )
    assert code == 0, err
    assert "Open dispatched tickets given to their grid's team: 2" in out
    assert "past due (written overdue, not escalated): 1" in out and "run `python app.py aggregates`" in out
    with db.session() as s:
        got = {t.external_id: t for t in s.scalars(select(Ticket))}
        team = s.get(GridTeam, gid)
        old = got["OLD"]
        assert (old.assignee_staff_id or old.assignee_org_id) in (team.grid_worker_id, team.property_company_id)
        assert old.overdue and not got["NEW"].overdue and not got["DONE"].overdue
        assert old.accepted_at == old.dispatched_at == old.created_at
        assert escalation.sweep(s).summary()["escalated_to_street"] == 0
        assert s.scalar(select(func.count(Escalation.id))) == 0
        # The closed one counts as closed, late, in its period; 'overdue now' counts the old open one.
        start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
        numbers = indicators.total(s, Ticket.source == "hotline", start, end, now=end)
        assert (numbers.closed, numbers.closed_on_time, numbers.overdue_now) == (1, 0, 1)
        verify = s.scalars(select(TicketEvent).where(TicketEvent.action == "verify_close")).one()
        assert verify.data == {"on_time": False, "imported": True}


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--source", "12345"], 2, "--source must be one of"),
        (["--source", "hotline", "--map", "external_id=编号"], 2, "no column '编号'"),
        (["--source", "hotline", "--map", "created_at"], 2, "expected NAME=VALUE"),
        (["--source", "hotline", "--coords", "mercator"], 2, "--coords 'mercator'"),
        (["--source", "hotline", "--status-map", "x=finished"], 2, "status must be one of"),
    ],
)
def test_bad_options_are_refused(cli, db, district, tmp_path, argv, code, message):
    path = write_csv(tmp_path / "t.csv", ["external_id", "lon", "lat", "created_at"], [["A", "1", "1", "2026-01-01"]])
    got, _, err = cli("import-tickets", path, *argv)
    assert got == code and message in err and "nothing was written" in err and "Traceback" not in err
    assert counts(db) == (0, 0, 0)


def test_gbk_file_needs_its_encoding(cli, db, district, tmp_path):
    path = write_csv(
        tmp_path / "gbk.csv", ["工单编号", "受理时间"], [["甲-1", "2026-01-01"]], bom=False, encoding="gbk"
    )
    argv = [
        "import-tickets",
        path,
        "--source",
        "hotline",
        "--map",
        "external_id=工单编号",
        "--map",
        "created_at=受理时间",
    ]
    code, _, err = cli(*argv)
    assert code == 1 and "--encoding gbk" in err and counts(db) == (0, 0, 0)
    code, _out, err = cli(*argv, "--encoding", "gbk")
    assert code == 0, err
    with db.reader() as s:
        assert s.scalars(select(Ticket.external_id)).one() == "甲-1"


def test_unwritable_reject_file_is_refused_before_anything_is_written(cli, db, district, tmp_path):
    path = hotline_file(tmp_path, district)
    code, _, err = cli(
        "import-tickets", path, "--source", "hotline", *HOTLINE_MAP, "--rejects", tmp_path / "no" / "r.csv"
    )
    assert code == 2 and "cannot write the reject file" in err and counts(db) == (0, 0, 0)


def test_missing_file(cli, db, tmp_path):
    code, _, err = cli("import-tickets", tmp_path / "none.csv", "--source", "hotline")
    assert code == 1 and "cannot read" in err and "Traceback" not in err
