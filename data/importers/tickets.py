"""A ticket export (311 / 12345 style CSV) turned into rows ready to write, or rejected with a reason.

Pure: no database. `prepare` maps columns to fields, parses every cell, converts coordinates to
WGS84 (vectorised) and decides, row by row, between

- a `PreparedTicket` — also when its location is missing, unparsable or not a point on Earth:
  such a ticket is imported without a point (the unassigned queue) and `location_problem` says
  why; a ticket is never dropped for its location;
- a `Reject` with the line and the reason, for rows that cannot be imported at all (no
  external_id, the same external_id twice in the file, no or unreadable created_at, unreadable
  closed_at / due_at, closed_at before created_at, created_at in the future, a status we cannot
  map, a closed status without closed_at, a broken CSV record).

Status mapping (``STATUS_SPELLINGS``; case, spaces, ``_`` and ``-`` do not matter; extend it with
``--status-map VALUE=STATUS``):

=============  =================================================================================
ours           spellings in the file
=============  =================================================================================
reported       new, open, opened, submitted, received, reported, 待受理, 未受理, 待处理, 新建, 已上报
accepted       accepted, acknowledged, 已受理, 受理, 已立案, 立案, 待派遣, 待派单
dispatched     assigned, dispatched, 已派遣, 派遣, 已派单, 已分派, 已转办, 转办, 已交办
in_progress    in progress, processing, working, started, 处理中, 办理中, 正在处理, 已签收, 已接单
handled        handled, pending review, 已处理, 待核查, 待审核, 已反馈, 待结案
closed         closed, completed, complete, done, resolved, finished, 已结案, 结案, 已办结, 办结,
               已完成, 完成, 已关闭, 已回访, 已评价
rejected       rejected, cancelled, canceled, invalid, void, withdrawn, 已作废, 作废, 不予受理, 无效,
               已撤销, 撤销
duplicate      duplicate, 重复, 重复件, 重复工单
suspended      suspended, on hold, hold, deferred, 挂账, 已挂账, 暂缓, 挂起
(empty)        closed when closed_at is given, else reported
=============  =================================================================================
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pyproj

from data.importers.csvparse import Table, clean_text, parse_datetime, parse_number
from geo.coords import SYSTEMS, to_wgs84

FIELDS = (
    "external_id",
    "lon",
    "lat",
    "x",
    "y",
    "created_at",
    "closed_at",
    "due_at",
    "status",
    "category",
    "description",
    "address",
)
MAX_EXTERNAL_ID = 128
MAX_ADDRESS = 255
FUTURE_SLACK = timedelta(days=1)
LOCATION_PROBLEMS = ("no coordinates", "unparsable coordinates", "not a point on Earth")

STATUS_SPELLINGS: dict[str, tuple[str, ...]] = {
    "reported": (
        "new",
        "open",
        "opened",
        "submitted",
        "received",
        "reported",
        "待受理",
        "未受理",
        "待处理",
        "新建",
        "已上报",
    ),
    "accepted": ("accepted", "acknowledged", "已受理", "受理", "已立案", "立案", "待派遣", "待派单"),
    "dispatched": ("assigned", "dispatched", "已派遣", "派遣", "已派单", "已分派", "已转办", "转办", "已交办"),
    "in_progress": (
        "in progress",
        "processing",
        "working",
        "started",
        "处理中",
        "办理中",
        "正在处理",
        "已签收",
        "已接单",
    ),
    "handled": ("handled", "pending review", "已处理", "待核查", "待审核", "已反馈", "待结案"),
    "closed": (
        "closed",
        "completed",
        "complete",
        "done",
        "resolved",
        "finished",
        "已结案",
        "结案",
        "已办结",
        "办结",
        "已完成",
        "完成",
        "已关闭",
        "已回访",
        "已评价",
    ),
    "rejected": (
        "rejected",
        "cancelled",
        "canceled",
        "invalid",
        "void",
        "withdrawn",
        "已作废",
        "作废",
        "不予受理",
        "无效",
        "已撤销",
        "撤销",
    ),
    "duplicate": ("duplicate", "重复", "重复件", "重复工单"),
    "suspended": ("suspended", "on hold", "hold", "deferred", "挂账", "已挂账", "暂缓", "挂起"),
}
OUR_STATUSES = tuple(STATUS_SPELLINGS)
TERMINAL_WITHOUT_CLOSE = ("rejected", "duplicate")  # never "closed": no closed_at, not in 结案数


class MappingError(Exception):
    """The command's column mapping or options do not fit the file; a message for the user."""


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str
    fields: list[str]


@dataclass
class PreparedTicket:
    line: int
    external_id: str
    created_at: datetime
    closed_at: datetime | None
    due_at: datetime | None
    status: str
    file_status: str | None
    category: str | None
    description: str
    address: str | None
    lon: float | None = None  # WGS84; None when location_problem is set
    lat: float | None = None
    location_problem: str | None = None  # LOCATION_PROBLEMS: why the ticket has no point
    location_detail: str | None = None
    ignored_closed_at: datetime | None = None  # a closed_at the status contradicts, kept in the event
    address_truncated: bool = False


@dataclass
class Prepared:
    tickets: list[PreparedTicket] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # field -> column
    blank_lines: int = 0


# --------------------------------------------------------------------------------------------
# Options.


def normalise_status(value: str) -> str:
    return re.sub(r"[\s_\-]+", " ", value.strip().lower())


def status_table(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Normalised file spelling -> our status, with `overrides` ({spelling: status}) on top."""
    table = {normalise_status(s): ours for ours, spellings in STATUS_SPELLINGS.items() for s in spellings}
    table.update({normalise_status(ours): ours for ours in OUR_STATUSES})
    for spelling, ours in (overrides or {}).items():
        if ours not in OUR_STATUSES:
            raise MappingError(f"--status-map {spelling}={ours}: status must be one of {', '.join(OUR_STATUSES)}")
        table[normalise_status(spelling)] = ours
    return table


def parse_pairs(pairs: list[str] | None, option: str) -> dict[str, str]:
    """["a=b", ...] -> {"a": "b"}; MappingError for a pair without '='."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise MappingError(f"{option} {pair!r}: expected NAME=VALUE")
        if key.strip() in out:
            raise MappingError(f"{option}: {key.strip()!r} is given twice")
        out[key.strip()] = value.strip()
    return out


def column_mapping(header: list[str], given: dict[str, str], projected: bool) -> dict[str, str]:
    """field -> column name. Fields not given map to a column of the same name (any case)."""
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
        raise MappingError(f"unknown field(s) {', '.join(unknown)} in --map; fields are: {', '.join(FIELDS)}")
    by_lower = {h.lower(): h for h in header}
    mapping = {}
    for name, column in given.items():
        found = column if column in header else by_lower.get(column.lower())
        if found is None:
            raise MappingError(
                f"--map {name}={column}: the file has no column {column!r}; its columns are: {', '.join(header)}"
            )
        mapping[name] = found
    for name in FIELDS:
        if name not in mapping and name in by_lower:
            mapping[name] = by_lower[name]
    for required in ("external_id", "created_at"):
        if required not in mapping:
            raise MappingError(
                f"map the {required} field to a column (--map {required}=COLUMN); "
                f"the file's columns are: {', '.join(header)}"
            )
    if projected:
        if not {"x", "y"} & set(mapping):  # columns mapped as lon/lat hold the EPSG:NNNN x/y
            for lonlat, xy in (("lon", "x"), ("lat", "y")):
                if lonlat in mapping:
                    mapping[xy] = mapping.pop(lonlat)
        pair = ("x", "y")
    else:
        if {"x", "y"} & set(given):
            raise MappingError(
                "x and y are projected coordinates: give --coords epsg:NNNN with them "
                "(or map the columns as lon and lat)"
            )
        pair = ("lon", "lat")
    if (pair[0] in mapping) != (pair[1] in mapping):
        raise MappingError(f"map both {pair[0]} and {pair[1]}, or neither")
    return mapping


@dataclass(frozen=True)
class CoordinateSystem:
    """wgs84 / gcj02 / bd09 (lon, lat) or a projected EPSG:NNNN (x, y)."""

    name: str
    epsg: int | None = None

    @property
    def projected(self) -> bool:
        return self.epsg is not None

    def to_wgs84(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.epsg is None:
            return to_wgs84(x, y, self.name)
        transformer = pyproj.Transformer.from_crs(self.epsg, 4326, always_xy=True)
        lon, lat = transformer.transform(x, y, errcheck=False)
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def coordinate_system(text: str) -> CoordinateSystem:
    key = text.strip().lower().replace("-", "").replace("_", "")
    if key in SYSTEMS:
        return CoordinateSystem(key)
    match = re.fullmatch(r"epsg:?(\d{4,6})", key)
    if not match:
        raise MappingError(f"--coords {text!r}: expected wgs84, gcj02, bd09 or epsg:NNNN (e.g. epsg:4547)")
    epsg = int(match.group(1))
    try:
        crs = pyproj.CRS.from_epsg(epsg)
    except pyproj.exceptions.CRSError:
        raise MappingError(f"--coords {text!r}: EPSG:{epsg} is not a known coordinate reference system") from None
    if epsg == 4326:
        return CoordinateSystem("wgs84")
    return CoordinateSystem(f"EPSG:{epsg} ({crs.name})", epsg)


# --------------------------------------------------------------------------------------------
# Rows.


def prepare(
    table: Table,
    mapping: dict[str, str],
    system: CoordinateSystem,
    *,
    now: datetime,
    tz: str = "Asia/Shanghai",
    dayfirst: bool = False,
    statuses: dict[str, str] | None = None,
) -> Prepared:
    """Every record of `table` as a PreparedTicket or a Reject (see the module docstring)."""
    statuses = statuses if statuses is not None else status_table()
    position = {name: table.header.index(column) for name, column in mapping.items()}
    out = Prepared(mapping=dict(mapping), blank_lines=table.blank_lines)
    seen: dict[str, int] = {}
    raw_xy: list[tuple[str | None, str | None]] = []
    width = len(table.header)
    xf, yf = ("x", "y") if system.projected else ("lon", "lat")
    for line, fields in table.records:
        if len(fields) != width:
            out.rejects.append(Reject(line, f"the record has {len(fields)} fields, the header has {width}", fields))
            continue

        def cell(name, fields=fields):
            return fields[position[name]] if name in position else None

        try:
            ticket = _row(line, cell, statuses, now=now, tz=tz, dayfirst=dayfirst)
        except ValueError as exc:
            out.rejects.append(Reject(line, str(exc), fields))
            continue
        if ticket.external_id in seen:
            reason = f"external_id {ticket.external_id!r} is also on line {seen[ticket.external_id]}"
            out.rejects.append(Reject(line, reason, fields))
            continue
        seen[ticket.external_id] = line
        out.tickets.append(ticket)
        raw_xy.append((cell(xf), cell(yf)))
    _locate(out.tickets, raw_xy, system)
    return out


def _row(line, cell, statuses, *, now, tz, dayfirst) -> PreparedTicket:
    external_id = clean_text(cell("external_id"))
    if external_id is None:
        raise ValueError("external_id is empty")
    external_id = " ".join(external_id.split())
    if len(external_id) > MAX_EXTERNAL_ID:
        raise ValueError(f"external_id is longer than {MAX_EXTERNAL_ID} characters")
    created_at = _when(cell, "created_at", tz, dayfirst)
    if created_at is None:
        raise ValueError("created_at is empty")
    if created_at > now + FUTURE_SLACK:
        raise ValueError(f"created_at {cell('created_at').strip()!r} is in the future")
    closed_at = _when(cell, "closed_at", tz, dayfirst)
    due_at = _when(cell, "due_at", tz, dayfirst, end_of_day=True)
    if closed_at is not None and closed_at < created_at:
        raise ValueError(f"closed_at {cell('closed_at').strip()!r} is before created_at {cell('created_at').strip()!r}")

    file_status = clean_text(cell("status"))
    if file_status is None:
        status = "closed" if closed_at is not None else "reported"
    else:
        status = statuses.get(normalise_status(file_status))
        if status is None:
            raise ValueError(
                f"status {file_status!r} is not one we know; map it with --status-map '{file_status}=STATUS' "
                f"(STATUS one of {', '.join(OUR_STATUSES)})"
            )
    ignored_closed_at = None
    if status == "closed" and closed_at is None:
        raise ValueError(f"status {file_status!r} is closed but closed_at is empty")
    if status != "closed" and closed_at is not None:
        ignored_closed_at, closed_at = closed_at, None

    address = clean_text(cell("address"))
    truncated = address is not None and len(address) > MAX_ADDRESS
    return PreparedTicket(
        line=line,
        external_id=external_id,
        created_at=created_at,
        closed_at=closed_at,
        due_at=due_at,
        status=status,
        file_status=file_status,
        category=clean_text(cell("category")),
        description=clean_text(cell("description")) or "",
        address=address[:MAX_ADDRESS] if truncated else address,
        ignored_closed_at=ignored_closed_at,
        address_truncated=truncated,
    )


def _when(cell, name, tz, dayfirst, end_of_day=False):
    try:
        return parse_datetime(cell(name), tz, dayfirst=dayfirst, end_of_day=end_of_day)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _locate(tickets: list[PreparedTicket], raw_xy, system: CoordinateSystem) -> None:
    """Parse and convert every point; a point that is not usable becomes a location_problem."""
    n = len(tickets)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    for i, (ticket, (rx, ry)) in enumerate(zip(tickets, raw_xy, strict=True)):
        try:
            vx, vy = parse_number(rx), parse_number(ry)
        except ValueError as exc:
            ticket.location_problem, ticket.location_detail = "unparsable coordinates", str(exc)
            continue
        if vx is None or vy is None:
            ticket.location_problem = "no coordinates"
        elif not system.projected and vx == 0 and vy == 0:
            ticket.location_problem, ticket.location_detail = "no coordinates", "(0, 0) is a blank, not a place"
        else:
            x[i], y[i] = vx, vy
    ok = np.isfinite(x) & np.isfinite(y)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    if ok.any():
        lon[ok], lat[ok] = system.to_wgs84(x[ok], y[ok])
    for i in np.flatnonzero(ok):
        lo, la = float(lon[i]), float(lat[i])
        if math.isfinite(lo) and math.isfinite(la) and -180 <= lo <= 180 and -90 <= la <= 90:
            tickets[i].lon, tickets[i].lat = round(lo, 7), round(la, 7)
        else:
            tickets[i].location_problem = "not a point on Earth"
            tickets[i].location_detail = f"({x[i]:g}, {y[i]:g}) in {system.name} gives ({lo:g}, {la:g})"
