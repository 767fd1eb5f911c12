"""Pure parsing of real-world CSV exports and their preparation into tickets (no database)."""

import csv
import io
from datetime import datetime, timedelta, timezone

import numpy as np
import pyproj
import pytest

from data.importers.csvparse import TableError, clean_text, parse_datetime, parse_number, read_table
from data.importers.tickets import (
    MappingError,
    column_mapping,
    coordinate_system,
    parse_pairs,
    prepare,
    status_table,
)
from geo.coords import from_wgs84

UTC = timezone.utc
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

# A 12345-hotline style export as Excel writes it: BOM, CRLF, a quoted field with line breaks and
# a comma, dates in three formats, a number with a thousands separator, NA for null.
QUIRKY = (
    "\ufeff工单编号,纬度,经度,受理时间,办结时间,状态,诉求内容\r\n"
    '"GD-001",25.96,115.39,2024-03-05 14:15:00,03/06/2024 02:00:00 PM,已办结,"路边摆摊，占道\r\n第二行, 有逗号"\r\n'
    "GD-002,NA,NA,3/7/24 9:00 AM,,处理中,\r\n"
    "\r\n"
    'GD-003,"25.95","1,115.4",2024年3月8日 下午2:30,,Open,"说""引号"""\r\n'
    "GD-004,25.96,115.39,2024-03-09T08:00:00+08:00,NA,,\r\n"
).encode("utf-8")


def test_quirky_file_reads_with_lines_and_fields():
    table = read_table(QUIRKY)
    assert table.had_bom and table.delimiter == ","
    assert table.header == ["工单编号", "纬度", "经度", "受理时间", "办结时间", "状态", "诉求内容"]
    assert [line for line, _ in table.records] == [2, 4, 6, 7]  # the first record spans lines 2-3
    assert table.blank_lines == 1
    first = table.records[0][1]
    assert first[0] == "GD-001" and first[6] == "路边摆摊，占道\r\n第二行, 有逗号"
    assert table.records[2][1][6] == '说"引号"'


def test_without_bom_lf_and_tab_delimited():
    table = read_table(b"id\tcreated_at\nA\t2024-01-01\n")
    assert not table.had_bom and table.delimiter == "\t"
    assert table.records == [(2, ["A", "2024-01-01"])]


def test_gbk_file_is_refused_with_a_hint_and_read_with_the_encoding():
    data = "工单编号,受理时间\nA,2024-01-01\n".encode("gbk")
    with pytest.raises(TableError, match="--encoding gbk"):
        read_table(data)
    assert read_table(data, encoding="gbk").header == ["工单编号", "受理时间"]


def test_utf16_with_bom_nul_characters_and_named_tab():
    table = read_table("id\tcreated_at\r\nA\x00\t2024-01-01\r\n".encode("utf-16"), delimiter="tab")
    assert table.had_bom and table.header == ["id", "created_at"] and table.records == [(2, ["A", "2024-01-01"])]


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty"), (b"\r\n\r\n", "empty"), (b"a,b,a\r\n1,2,3\r\n", "more than once")],
)
def test_unreadable_tables(data, message):
    with pytest.raises(TableError, match=message):
        read_table(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05T14:15:16Z", datetime(2024, 3, 5, 14, 15, 16, tzinfo=UTC)),
        ("2024-03-05T14:15:16.5+08:00", datetime(2024, 3, 5, 6, 15, 16, 500000, tzinfo=UTC)),
        ("2024-03-05 14:15", datetime(2024, 3, 5, 6, 15, tzinfo=UTC)),  # local (Shanghai)
        ("2024/3/5 2:15:00 PM", datetime(2024, 3, 5, 6, 15, tzinfo=UTC)),
        ("03/05/2024 02:15:00 AM", datetime(2024, 3, 4, 18, 15, tzinfo=UTC)),
        ("03/05/2024 12:00:00 AM", datetime(2024, 3, 4, 16, 0, tzinfo=UTC)),
        ("03/05/2024 12:30:00 PM", datetime(2024, 3, 5, 4, 30, tzinfo=UTC)),
        ("3/5/24 9:00", datetime(2024, 3, 5, 1, 0, tzinfo=UTC)),
        ("12/31/99 11:59 PM", datetime(1999, 12, 31, 15, 59, tzinfo=UTC)),
        ("2024年3月5日 下午2:15", datetime(2024, 3, 5, 6, 15, tzinfo=UTC)),
        ("2024年3月5日14:15:00", datetime(2024, 3, 5, 6, 15, tzinfo=UTC)),
        ("2024.03.05", datetime(2024, 3, 4, 16, 0, tzinfo=UTC)),
        ("20240305143000", datetime(2024, 3, 5, 6, 30, tzinfo=UTC)),
        ("２０２４-０３-０５", datetime(2024, 3, 4, 16, 0, tzinfo=UTC)),  # full-width digits
        ("NA", None),
        ("", None),
        ("  null ", None),
    ],
)
def test_dates(text, expected):
    assert parse_datetime(text, "Asia/Shanghai") == expected


def test_two_digit_years_pivot_like_strptime():
    assert parse_datetime("1/2/68").year == 2068
    assert parse_datetime("1/2/69").year == 1969
    assert parse_datetime("1/2/05").year == 2005


def test_day_first_and_end_of_day():
    assert parse_datetime("13/05/2024", dayfirst=True) == datetime(2024, 5, 12, 16, 0, tzinfo=UTC)
    assert parse_datetime("2024-05-13", end_of_day=True) == datetime(2024, 5, 13, 15, 59, 59, tzinfo=UTC)
    assert parse_datetime("2024-05-13 10:00", end_of_day=True) == datetime(2024, 5, 13, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("13/05/2024", "--dayfirst"),
        ("2024-02-30", "not a valid date"),
        ("05/13/2024 13:00 PM", "hour 13"),
        ("2024-03-05 25:00", "no valid time"),
        ("yesterday", "known format"),
        ("45234.5", "known format"),
        ("0001-01-01T00:00:00+08:00", "out of range"),
    ],
)
def test_bad_dates_say_why(text, message):
    with pytest.raises(ValueError, match=message):
        parse_datetime(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.5", 1234.5),
        ("4,384,123.25", 4384123.25),
        ("-115.4", -115.4),
        ("１１５．４", 115.4),
        ("1.2E+05", 120000.0),
        (" 25.96 ", 25.96),
        ("NA", None),
        ("", None),
        ("#N/A", None),
    ],
)
def test_numbers(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["1,23", "abc", "25.96N", "1.2.3"])
def test_not_numbers(text):
    with pytest.raises(ValueError, match="not a number"):
        parse_number(text)


def test_clean_text_removes_control_characters_and_keeps_line_breaks():
    assert clean_text(" a\x00b\r\nc\x07 ") == "ab\nc"
    assert clean_text("N/A") is None


# --------------------------------------------------------------------------------------------
# Preparation: mapping, statuses, rejects, coordinates.

HEADER = ["id", "lon", "lat", "created", "closed", "due", "state", "cat"]
MAP = {
    "external_id": "id",
    "created_at": "created",
    "closed_at": "closed",
    "due_at": "due",
    "status": "state",
    "category": "cat",
}


def table_of(*rows, header=HEADER):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows])
    return read_table(out.getvalue().encode())


def prepared(*rows, coords="wgs84", statuses=None, mapping=MAP):
    table = table_of(*rows)
    system = coordinate_system(coords)
    return prepare(table, column_mapping(table.header, mapping, system.projected), system, now=NOW, statuses=statuses)


def test_rows_become_tickets_with_statuses_and_times():
    p = prepared(
        ["A", "115.4", "25.9", "2024-01-01 08:00", "2024-01-02 08:00", "", "已办结", "占道经营"],
        ["B", "115.4", "25.9", "2024-01-01 08:00", "", "2024-01-05", "In-Progress", ""],
        ["C", "115.4", "25.9", "2024-01-01 08:00", "2024-01-03", "", "", ""],
        ["D", "115.4", "25.9", "2024-01-01 08:00", "", "", "", ""],
        ["E", "115.4", "25.9", "2024-01-01 08:00", "2024-01-03", "", "cancelled", ""],
    )
    assert not p.rejects
    by_id = {t.external_id: t for t in p.tickets}
    assert [by_id[k].status for k in "ABCDE"] == ["closed", "in_progress", "closed", "reported", "rejected"]
    assert by_id["A"].closed_at == datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    assert by_id["B"].due_at == datetime(2024, 1, 5, 15, 59, 59, tzinfo=UTC)  # end of the local day
    assert by_id["A"].category == "占道经营" and by_id["B"].category is None
    # A cancelled ticket is never closed (it would count as 结案); the file's date is kept aside.
    assert by_id["E"].closed_at is None and by_id["E"].ignored_closed_at is not None


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (["", "115.4", "25.9", "2024-01-01", "", "", "", ""], "external_id is empty"),
        (["A", "115.4", "25.9", "", "", "", "", ""], "created_at is empty"),
        (["A", "115.4", "25.9", "someday", "", "", "", ""], "created_at: 'someday'"),
        (["A", "115.4", "25.9", "2024-01-01"], "4 fields, the header has 8"),
        (["x" * 129, "115.4", "25.9", "2024-01-01", "", "", "", ""], "longer than 128"),
    ],
)
def test_rows_that_cannot_be_tickets_are_rejected_with_a_reason(row, reason):
    p = prepared(row)
    assert not p.tickets
    assert len(p.rejects) == 1 and reason in p.rejects[0].reason
    assert p.rejects[0].line == 2 and p.rejects[0].fields == row


@pytest.mark.parametrize(
    ("row", "status", "flags"),
    [
        (["A", "115.4", "25.9", "2024-01-02", "2024-01-01", "", "", ""], "closed", ["time_order"]),
        (["A", "115.4", "25.9", "2024-01-01", "soon", "", "", ""], "reported", ["unreadable_time"]),
        (["A", "115.4", "25.9", "2024-01-01", "", "later", "", ""], "reported", ["unreadable_time"]),
        (["A", "115.4", "25.9", "2024-01-01", "", "", "weird", ""], "reported", ["unknown_status"]),
        (["A", "115.4", "25.9", "2024-01-01", "", "", "closed", ""], "closed", ["closed_without_time"]),
        (["A", "115.4", "25.9", "2024-01-01", "NA", "", "Closed (Duplicate)", ""], "duplicate", ["unknown_status"]),
        (["A", "115.4", "25.9", "2024-01-01", "whenever", "", "办结", ""], "closed",
         ["closed_without_time", "unreadable_time"]),
        (["A", "115.4", "25.9", "2030-01-01", "", "", "", ""], "reported", ["created_in_future"]),
    ],
)  # fmt: skip
def test_odd_rows_are_tickets_with_flags_and_their_raw_cells(row, status, flags):
    p = prepared(row)
    assert not p.rejects
    (t,) = p.tickets
    assert (t.status, t.flags) == (status, flags)
    assert t.cells == {k: (row[i] if row[i] not in ("", "NA") else None) for k, i in (
        ("lon", 1), ("lat", 2), ("created_at", 3), ("closed_at", 4), ("due_at", 5), ("status", 6))}  # fmt: skip
    if "unreadable_time" in flags:
        assert set(t.unreadable) <= {"closed_at", "due_at"} and (t.closed_at, t.due_at) == (None, None)


def test_duplicate_external_id_in_the_file_keeps_the_first():
    p = prepared(["A", "1", "1", "2024-01-01", "", "", "", ""], ["A", "2", "2", "2024-01-02", "", "", "", ""])
    assert [t.line for t in p.tickets] == [2]
    assert p.rejects[0].reason == "external_id 'A' is also on line 2"


def test_status_map_extends_the_table():
    row = ["A", "115.4", "25.9", "2024-01-01", "", "", "Waiting for parts", ""]
    guessed = prepared(row)
    assert (guessed.tickets[0].status, guessed.tickets[0].flags) == ("reported", ["unknown_status"])
    assert "--status-map 'Waiting for parts=reported'" in "\n".join(guessed.statuses.lines())
    statuses = status_table(parse_pairs(["Waiting for parts=suspended"], "--status-map"))
    mapped = prepared(row, statuses=statuses)
    assert (mapped.tickets[0].status, mapped.tickets[0].flags) == ("suspended", [])
    assert "--status-map" not in "\n".join(mapped.statuses.lines())
    with pytest.raises(MappingError, match="status must be one of"):
        status_table({"x": "finished"})


def test_bad_locations_are_flagged_not_rejected():
    p = prepared(
        ["A", "NA", "NA", "2024-01-01", "", "", "", ""],
        ["B", "east", "25.9", "2024-01-01", "", "", "", ""],
        ["C", "0", "0", "2024-01-01", "", "", "", ""],
        ["D", "1,115.4", "25.9", "2024-01-01", "", "", "", ""],
        ["E", "115.4", "", "2024-01-01", "", "", "", ""],
        ["F", "115.4", "25.9", "2024-01-01", "", "", "", ""],
    )
    assert not p.rejects
    problems = {t.external_id: (t.location_problem, t.lon) for t in p.tickets}
    assert problems == {
        "A": ("no coordinates", None),
        "B": ("unparsable coordinates", None),
        "C": ("no coordinates", None),
        "D": ("not a point on Earth", None),
        "E": ("no coordinates", None),
        "F": (None, 115.4),
    }


def test_gcj02_points_are_converted_to_wgs84():
    lon, lat = from_wgs84(115.41, 25.95, "gcj02")
    p = prepared(["A", f"{lon:.9f}", f"{lat:.9f}", "2024-01-01", "", "", "", ""], coords="gcj02")
    t = p.tickets[0]
    assert abs(t.lon - 115.41) < 2e-7 and abs(t.lat - 25.95) < 2e-7
    assert abs(lon - 115.41) > 1e-3  # the offset is real (hundreds of metres)


def test_projected_xy_with_thousands_separators():
    x, y = pyproj.Transformer.from_crs(4326, 4547, always_xy=True).transform(115.41, 25.95)
    header = ["id", "X", "Y", "created"]
    table = read_table(f'id,X,Y,created\r\nA,"{x:,.3f}","{y:,.3f}",2024-01-01\r\n'.encode())
    system = coordinate_system("EPSG:4547")
    mapping = column_mapping(header, {"external_id": "id", "x": "X", "y": "Y", "created_at": "created"}, True)
    t = prepare(table, mapping, system, now=NOW).tickets[0]
    assert abs(t.lon - 115.41) < 1e-7 and abs(t.lat - 25.95) < 1e-7
    assert "," in f"{x:,.3f}"


def test_projected_columns_mapped_as_lon_lat_are_taken_as_x_y():
    mapping = column_mapping(["id", "lon", "lat", "t"], {"external_id": "id", "created_at": "t"}, True)
    assert mapping["x"] == "lon" and mapping["y"] == "lat" and "lon" not in mapping


@pytest.mark.parametrize(
    ("given", "projected", "message"),
    [
        ({"created_at": "created"}, False, "external_id"),
        ({"external_id": "id", "created_at": "nope"}, False, "no column 'nope'"),
        ({"external_id": "id", "created_at": "created", "colour": "cat"}, False, "unknown field"),
        ({"external_id": "id", "created_at": "created", "x": "lat2", "y": "lat"}, False, "epsg"),
        ({"external_id": "id", "created_at": "created", "lat": "lat"}, False, "map both lon and lat"),
    ],
)
def test_bad_mappings(given, projected, message):
    with pytest.raises(MappingError, match=message):
        column_mapping(["id", "created", "cat", "lat2", "lat"], given, projected)


def test_columns_named_like_fields_map_themselves_case_insensitively():
    mapping = column_mapping(["External_ID", "Created_At", "LON", "lat"], {}, False)
    assert mapping == {"external_id": "External_ID", "created_at": "Created_At", "lon": "LON", "lat": "lat"}


@pytest.mark.parametrize(
    ("text", "name"),
    [("wgs84", "wgs84"), ("GCJ-02", "gcj02"), ("bd09", "bd09"), ("epsg:4326", "wgs84"), ("EPSG:4547", "EPSG:4547")],
)
def test_coordinate_systems(text, name):
    assert coordinate_system(text).name.startswith(name)


@pytest.mark.parametrize("text", ["mercator", "epsg:1", "epsg:99999"])
def test_unknown_coordinate_systems(text):
    with pytest.raises(MappingError):
        coordinate_system(text)


def test_quirky_file_end_to_end_preparation():
    table = read_table(QUIRKY)
    mapping = column_mapping(
        table.header,
        {
            "external_id": "工单编号",
            "lat": "纬度",
            "lon": "经度",
            "created_at": "受理时间",
            "closed_at": "办结时间",
            "status": "状态",
            "description": "诉求内容",
        },
        False,
    )
    p = prepare(table, mapping, coordinate_system("wgs84"), now=NOW)
    assert not p.rejects
    t = {x.external_id: x for x in p.tickets}
    assert t["GD-001"].status == "closed" and t["GD-001"].description == "路边摆摊，占道\n第二行, 有逗号"
    assert t["GD-001"].closed_at - t["GD-001"].created_at == timedelta(hours=23, minutes=45)
    assert t["GD-002"].location_problem == "no coordinates" and t["GD-002"].status == "in_progress"
    assert t["GD-003"].location_problem == "not a point on Earth"  # lon 1,115.4 is a typo, not 115.4
    assert t["GD-003"].created_at == datetime(2024, 3, 8, 6, 30, tzinfo=UTC)
    assert t["GD-004"].status == "reported" and t["GD-004"].lon == 115.39
    assert np.isclose(t["GD-004"].lat, 25.96)
