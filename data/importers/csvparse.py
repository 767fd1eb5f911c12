"""Pure parsing of CSV exports as they come out of other systems (311 / 12345 hotlines, Excel).

Nothing here touches the database. Every parser either returns a value, returns None for an
empty / null cell (``NA``, ``N/A``, ``null``, ``-`` ...) or raises ``ValueError`` with a message a
person can act on; the importer turns that message into a reject reason.

- ``read_table``: UTF-8 with or without BOM (or another encoding; UTF-16 with a BOM is found by
  itself), CRLF or LF, quoted fields with line breaks, NUL characters dropped, comma / tab /
  semicolon delimiter; every record keeps the line it starts on.
- ``parse_datetime``: ISO 8601 (with or without ``T``, seconds, fraction, ``Z`` / offset),
  ``YYYY/MM/DD``, ``YYYY.MM.DD``, ``YYYY年MM月DD日``, ``MM/DD/YYYY`` and ``MM/DD/YY`` (or day first),
  12-hour times with ``AM``/``PM`` or ``上午``/``下午``, compact ``YYYYMMDD[HHMMSS]``. Times without
  an offset are local time in the district's zone; results are aware UTC datetimes.
- ``parse_number``: ``1,234.5``, full-width digits, ``1.2E+05``.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

NULL_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "nil", "#n/a", "-", "--", "—"})
DELIMITERS = (",", "\t", ";")
MAX_FIELD = 16 * 1024 * 1024  # a description may be long; the csv module's default is 128 KB


class TableError(Exception):
    """The file cannot be read as a table at all (encoding, no header); a message for the user."""


@dataclass
class Table:
    """A CSV file's header and records; ``records`` are (first line number, fields)."""

    header: list[str]
    records: list[tuple[int, list[str]]] = field(default_factory=list)
    delimiter: str = ","
    had_bom: bool = False
    blank_lines: int = 0


def is_null(text: str | None) -> bool:
    return text is None or text.strip().lower() in NULL_TOKENS


def clean_text(text: str | None) -> str | None:
    """A cell as text: stripped, control characters except tab and line breaks removed (NUL breaks
    PostgreSQL), line breaks normalised to LF; None for null tokens."""
    if is_null(text):
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return text.strip() or None


# --------------------------------------------------------------------------------------------
# The table.


def read_table(source: str | Path | bytes, encoding: str = "utf-8", delimiter: str | None = None) -> Table:
    """Read a CSV file (path or bytes). Raises TableError when it cannot be decoded or is empty."""
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    had_bom = raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"))
    codec = "utf-8-sig" if encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig") else encoding
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16"  # Excel's "Unicode text" export says so with its byte-order mark
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise TableError(
            f"the file is not valid {encoding} (byte {raw[exc.start : exc.start + 1]!r} at offset {exc.start}); "
            "exports from Excel on Chinese Windows are often GBK: try --encoding gbk"
        ) from None
    except LookupError:
        raise TableError(f"unknown encoding {encoding!r}") from None
    text = text.lstrip("\ufeff").replace("\x00", "")  # the csv module refuses NUL characters
    if not text.strip():
        raise TableError("the file is empty")
    first_line = text.split("\n", 1)[0]
    delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter, delimiter) or max(DELIMITERS, key=first_line.count)
    if len(delimiter) != 1:
        raise TableError(f"the delimiter must be one character (or 'tab'), not {delimiter!r}")
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    table = Table(header=[], delimiter=delimiter, had_bom=had_bom)
    line = 1
    for fields in reader:
        start, line = line, reader.line_num + 1
        if not any(f.strip() for f in fields):
            table.blank_lines += 1
            continue
        if header is None:
            header = [h.strip() for h in fields]
            continue
        table.records.append((start, fields))
    if header is None:
        raise TableError("the file has no header row")
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise TableError(f"the header names these columns more than once: {', '.join(duplicates)}")
    table.header = header
    return table


# --------------------------------------------------------------------------------------------
# Numbers.

_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_number(text: str | None) -> float | None:
    """A number from a cell; None when null; ValueError when it is not a number."""
    if is_null(text):
        return None
    value = unicodedata.normalize("NFKC", text).strip().replace(" ", "").replace("\u00a0", "")
    if _GROUPED.match(value):
        return float(value.replace(",", ""))
    if _PLAIN.match(value):
        return float(value)
    raise ValueError(f"{text.strip()!r} is not a number")


# --------------------------------------------------------------------------------------------
# Dates and times.

_TIME = (
    r"(?:SEP(?P<H>\d{1,2})[:：](?P<M>\d{2})(?:[:：](?P<S>\d{2})(?:[.,](?P<F>\d+))?)?"
    r"\s*(?P<ampm>am|pm|a\.m\.|p\.m\.|上午|下午)?)?"
    r"\s*(?P<tz>z|utc|gmt|[+-]\d{2}:?\d{2})?"
)
_SPACE_OR_T = _TIME.replace("SEP", r"[T\s]+")
_YMD = re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _SPACE_OR_T + "$", re.I)
_CN = re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日?" + _TIME.replace("SEP", r"\s*") + "$", re.I)
_MDY = re.compile(r"^(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4}|\d{2})" + _SPACE_OR_T + "$", re.I)
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:[T\s]?(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?)?$")
_CN_AMPM = re.compile(r"(上午|下午)")


def two_digit_year(yy: int) -> int:
    """POSIX strptime's rule: 69-99 are 1969-1999, 00-68 are 2000-2068."""
    return 1900 + yy if yy >= 69 else 2000 + yy


def parse_datetime(
    text: str | None, tz: str = "Asia/Shanghai", *, dayfirst: bool = False, end_of_day: bool = False
) -> datetime | None:
    """An aware UTC datetime from a cell; None when null; ValueError when it cannot be read.

    A date without a time is the start of that local day, or its last second with ``end_of_day``
    (a deadline given as a date means "by the end of that day"). Slash dates with the year last
    are month first (``03/05/2024`` is 5 March) unless ``dayfirst``.
    """
    if is_null(text):
        return None
    value = unicodedata.normalize("NFKC", text).strip()
    if half := _CN_AMPM.search(value):  # 下午2:15 → 2:15 下午, the order the pattern expects
        value = f"{value[: half.start()]}{value[half.end() :]} {half.group(1)}"
    value = re.sub(r"\s+", " ", value).strip()
    match = _YMD.match(value) or _CN.match(value)
    if match:
        year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    elif match := _MDY.match(value):
        first, second = int(match["a"]), int(match["b"])
        month, day = (second, first) if dayfirst else (first, second)
        year = int(match["y"]) if len(match["y"]) == 4 else two_digit_year(int(match["y"]))
        if month > 12:
            order = "DD/MM/YYYY" if dayfirst else "MM/DD/YYYY"
            hint = "" if dayfirst else " (for day-first dates use --dayfirst)"
            raise ValueError(f"{text.strip()!r} is not a date in {order}: month {month}{hint}")
    elif match := _COMPACT.match(value):
        year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    else:
        raise ValueError(f"{text.strip()!r} is not a date and time in a known format")
    try:
        day_value = datetime(year, month, day).date()
    except ValueError as exc:
        raise ValueError(f"{text.strip()!r} is not a valid date ({exc})") from None
    clock = _clock(match, text)
    if clock is None:
        clock = time(23, 59, 59) if end_of_day else time(0, 0)
    zone_text = match.groupdict().get("tz")
    if zone_text:
        zone = _fixed_zone(zone_text)
    else:
        zone = ZoneInfo(tz)
    try:
        return datetime.combine(day_value, clock, tzinfo=zone).astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{text.strip()!r} is out of range") from None


def _clock(match: re.Match, text: str) -> time | None:
    groups = match.groupdict()
    if groups.get("H") is None:
        return None
    hour, minute = int(groups["H"]), int(groups["M"])
    second = int(groups["S"] or 0)
    fraction = groups.get("F") or ""
    micro = int((fraction + "000000")[:6]) if fraction else 0
    ampm = (groups.get("ampm") or "").lower().replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"{text.strip()!r}: hour {hour} with {groups['ampm']}")
        if ampm in ("am", "上午"):
            hour = 0 if hour == 12 else hour
        else:
            hour = 12 if hour == 12 else hour + 12
    try:
        return time(hour, minute, second, micro)
    except ValueError:
        raise ValueError(f"{text.strip()!r} has no valid time of day") from None


def _fixed_zone(text: str) -> timezone:
    text = text.lower()
    if text in ("z", "utc", "gmt"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
