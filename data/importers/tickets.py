"""A ticket export (311 / 12345 style CSV) turned into rows ready to write, or rejected with a reason.

Pure: no database. `prepare` maps columns to fields, parses every cell, converts coordinates to
WGS84 (vectorised) and decides, row by row, between

- a `PreparedTicket` for every row with an identity (an external_id, first seen in the file, and
  a readable creation time). Oddities do not make a ticket unimportable (issue #13): they are kept
  as the source gave them and flagged (data.quality): closed before created (`time_order`), a
  closed status without a readable close time (`closed_without_time`), a status word in no table
  (`unknown_status`, classified by data.importers.statuses), an unreadable close or due time
  (`unreadable_time`), created after the import (`created_in_future`), no usable point
  (`location_missing`: the unassigned queue; `location_problem` says why). The raw status and
  the raw cells of the mapped fields are kept (`source_status`, `source_record`).
- a `Reject` with the line and the reason, only for rows that cannot be a ticket: no
  external_id (or one longer than 128 characters), the same external_id again in the file, no
  or an unreadable created_at, a broken CSV record.

Statuses: data.importers.statuses (a table of spellings, `--status-map VALUE=STATUS` on top, and
a classification by words for anything else). An empty status is closed when closed_at is given,
else reported. A status that is not closed keeps no closed_at (a cancelled ticket is never
结案); the file's date is kept aside in the import event.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pyproj

from data import quality
from data.importers import statuses as statuses_module
from data.importers.csvparse import Table, clean_text, parse_datetime, parse_number
from data.importers.statuses import OUR_STATUSES, STATUS_SPELLINGS, StatusMapper, normalise_status  # noqa: F401
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
MAX_STATUS = 64  # Ticket.source_status
FUTURE_SLACK = timedelta(days=1)
LOCATION_PROBLEMS = ("no coordinates", "unparsable coordinates", "not a point on Earth")
# Cells kept raw on the ticket (Ticket.source_record["cells"]): the times, status and point.
TRACKED = ("status", "created_at", "closed_at", "due_at", "lon", "lat", "x", "y")


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
    flags: list[str] = field(default_factory=list)  # data.quality.FLAGS, location ones set on writing
    cells: dict[str, str | None] = field(default_factory=dict)  # raw text of the TRACKED fields mapped
    unreadable: dict[str, str] = field(default_factory=dict)  # field -> why its cell could not be read

    def source_values(self) -> dict:
        """What the source says of the fields a re-import keeps in step (data.importers.ticket_writer)."""
        return {
            "status": self.status,
            "source_status": self.file_status,
            "closed_at": _iso(self.closed_at),
            "due_at": _iso(self.due_at),
            "lon": self.lon,
            "lat": self.lat,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass
class Prepared:
    tickets: list[PreparedTicket] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # field -> column
    blank_lines: int = 0
    statuses: StatusMapper | None = None  # the status words met and what they became


# --------------------------------------------------------------------------------------------
# Options.


def status_table(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """data.importers.statuses.status_table, refusing a bad override as a MappingError."""
    try:
        return statuses_module.status_table(overrides)
    except ValueError as exc:
        raise MappingError(str(exc)) from None


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
    mapper = StatusMapper(statuses if statuses is not None else status_table())
    position = {name: table.header.index(column) for name, column in mapping.items()}
    out = Prepared(mapping=dict(mapping), blank_lines=table.blank_lines, statuses=mapper)
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
            ticket = _row(line, cell, mapper, now=now, tz=tz, dayfirst=dayfirst)
        except ValueError as exc:
            out.rejects.append(Reject(line, str(exc), fields))
            continue
        if ticket.external_id in seen:
            reason = f"external_id {ticket.external_id!r} is also on line {seen[ticket.external_id]}"
            out.rejects.append(Reject(line, reason, fields))
            continue
        seen[ticket.external_id] = line
        ticket.cells = {name: clean_text(cell(name)) for name in TRACKED if name in position}
        out.tickets.append(ticket)
        raw_xy.append((cell(xf), cell(yf)))
    _locate(out.tickets, raw_xy, system)
    return out


def _row(line, cell, status_of, *, now, tz, dayfirst) -> PreparedTicket:
    """One record as a ticket; ValueError only when it cannot be one (no identity, no time)."""
    external_id = clean_text(cell("external_id"))
    if external_id is None:
        raise ValueError("external_id is empty")
    external_id = " ".join(external_id.split())
    if len(external_id) > MAX_EXTERNAL_ID:
        raise ValueError(f"external_id is longer than {MAX_EXTERNAL_ID} characters")
    created_at = _when(cell, "created_at", tz, dayfirst)
    if created_at is None:
        raise ValueError("created_at is empty")
    flags: list[str] = []
    unreadable: dict[str, str] = {}
    if created_at > now + FUTURE_SLACK:
        flags.append("created_in_future")
    closed_at = _readable(cell, "closed_at", tz, dayfirst, unreadable)
    due_at = _readable(cell, "due_at", tz, dayfirst, unreadable, end_of_day=True)
    if unreadable:
        flags.append("unreadable_time")

    file_status = clean_text(cell("status"))
    if file_status is None:
        status = "closed" if closed_at is not None else "reported"
    else:
        status, guessed = status_of(file_status[:MAX_STATUS])
        if guessed:
            flags.append("unknown_status")
    ignored_closed_at = None
    if status != "closed" and closed_at is not None:
        ignored_closed_at, closed_at = closed_at, None
    if status == "closed" and closed_at is None:
        flags.append("closed_without_time")
    if closed_at is not None and closed_at < created_at:
        flags.append("time_order")

    address = clean_text(cell("address"))
    truncated = address is not None and len(address) > MAX_ADDRESS
    return PreparedTicket(
        line=line,
        external_id=external_id,
        created_at=created_at,
        closed_at=closed_at,
        due_at=due_at,
        status=status,
        file_status=file_status[:MAX_STATUS] if file_status else None,
        category=clean_text(cell("category")),
        description=clean_text(cell("description")) or "",
        address=address[:MAX_ADDRESS] if truncated else address,
        ignored_closed_at=ignored_closed_at,
        address_truncated=truncated,
        flags=quality.ordered(flags),
        unreadable=unreadable,
    )


def _readable(cell, name, tz, dayfirst, unreadable: dict, end_of_day=False):
    """A time that may be unreadable: None then, with the reason noted in `unreadable`."""
    try:
        return _when(cell, name, tz, dayfirst, end_of_day)
    except ValueError as exc:
        unreadable[name] = str(exc)
        return None


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
