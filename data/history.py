"""Moments in the past: `?as_of=` and `?week=` turned into one aware UTC instant (issue #10).

- `as_of`: an ISO datetime; naive means the district's local time (GCC_TIMEZONE), an offset
  (`+08:00`, `Z`) is honoured. A date alone means the end of that local day.
- `week`: `2026-W47`, an ISO week; it means the END of that week in the district's zone. The
  moment is then next Monday 00:00 local minus one microsecond, so every window that ends "now"
  (the wall's 7 days, today) ends exactly at the week's end and the 7 days are Monday..Sunday.

A moment must be in the past (not after `now`) and not before 2000: anything else is a
`BadMoment` (DomainError, kind bad_request → HTTP 400 with the message).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from data.clock import UTC, day_start, utcnow, zone
from data.errors import DomainError

WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
TICK = timedelta(microseconds=1)


class BadMoment(DomainError):
    """`reason` (week, no_week, as_of, future, not_ended, too_early) and the `value` given let a
    page word the refusal in its own language (labels history.bad_<reason>)."""

    kind = "bad_request"

    def __init__(self, message: str, *, reason: str = "as_of", value: str = ""):
        super().__init__("bad_moment", message, detail={"reason": reason, "value": value})
        self.reason, self.value = reason, value


@dataclass(frozen=True)
class Moment:
    """A historical moment: `at` (aware UTC, the instant the page shows) and, for a week, its
    ISO name and bounds [start, end) (aware UTC)."""

    at: datetime
    week: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def label(self, tz: str, locale: str = "zh") -> str:
        """How a person reads it: `2026-W47（2026-11-23 00:00 前）` or `2026-11-22 18:00:00`."""
        if self.week:
            end = self.end.astimezone(zone(tz))
            if locale == "en":
                return f"{self.week} (until {end:%Y-%m-%d} 00:00)"
            return f"{self.week}（{end:%Y-%m-%d} 00:00 前）"
        return f"{self.at.astimezone(zone(tz)):%Y-%m-%d %H:%M:%S}"

    def query(self) -> str:
        """The query string that names this moment (for links that keep it)."""
        if self.week:
            return f"week={self.week}"
        return "as_of=" + self.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_week(text: str) -> tuple[int, int]:
    """`2026-W47` → (2026, 47); a week the year does not have is a BadMoment."""
    m = WEEK_RE.match(str(text or ""))
    if not m:
        raise BadMoment(
            f"week={str(text)[:20]!s}: expected an ISO week such as 2026-W47", reason="week", value=str(text)[:20]
        )
    year, week = int(m.group(1)), int(m.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise BadMoment(
            f"week={year}-W{week:02d}: the year {year} has no ISO week {week}",
            reason="no_week",
            value=f"{year}-W{week:02d}",
        ) from None
    return year, week


def week_name(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(week: str, tz: str) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) local, as aware UTC instants."""
    year, number = parse_week(week)
    monday = date.fromisocalendar(year, number, 1)
    return day_start(monday, tz), day_start(monday + timedelta(days=7), tz)


def previous_week(week: str) -> str:
    year, number = parse_week(week)
    return week_name(date.fromisocalendar(year, number, 1) - timedelta(days=7))


def last_finished_week(now: datetime | None, tz: str) -> str:
    """The latest ISO week that has ended at `now` (local): last week."""
    today = (now or utcnow()).astimezone(zone(tz)).date()
    return week_name(today - timedelta(days=7))


def week_moment(week: str, tz: str, *, now: datetime | None = None) -> Moment:
    start, end = week_bounds(week, tz)
    now = now or utcnow()
    if end > now:
        raise BadMoment(f"week={week}: the week has not ended yet", reason="not_ended", value=week)
    if start < EARLIEST:
        raise BadMoment(f"week={week}: before 2000", reason="too_early", value=week)
    year, number = parse_week(week)
    return Moment(at=end - TICK, week=f"{year}-W{number:02d}", start=start, end=end)


def parse_as_of(text: str, tz: str, *, now: datetime | None = None) -> Moment:
    raw = str(text or "").strip()
    if not raw or len(raw) > 40:
        raise BadMoment(
            f"as_of={raw[:20]}: expected an ISO date-time such as 2026-11-22T18:00", reason="as_of", value=raw[:20]
        )
    value = raw.replace(" ", "T", 1) if "T" not in raw and " " in raw else raw
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            at = day_start(day + timedelta(days=1), tz) - TICK  # the end of that local day
        else:
            parsed = datetime.fromisoformat(value)
            at = parsed.replace(tzinfo=zone(tz)) if parsed.tzinfo is None else parsed
            at = at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadMoment(
            f"as_of={raw[:20]}: expected an ISO date-time such as 2026-11-22T18:00", reason="as_of", value=raw[:20]
        ) from None
    now = now or utcnow()
    if at > now:
        raise BadMoment(f"as_of={raw[:25]}: in the future", reason="future", value=raw[:25])
    if at < EARLIEST:
        raise BadMoment(f"as_of={raw[:25]}: before 2000", reason="too_early", value=raw[:25])
    return Moment(at=at)


def moment_from_query(query: dict, tz: str, *, now: datetime | None = None) -> Moment | None:
    """The moment a page's query names (`as_of` wins over `week`), None for the live view."""
    as_of, week = query.get("as_of"), query.get("week")
    if isinstance(as_of, list):
        as_of = as_of[0] if as_of else None
    if isinstance(week, list):
        week = week[0] if week else None
    if as_of not in (None, ""):
        return parse_as_of(as_of, tz, now=now)
    if week not in (None, ""):
        return week_moment(str(week), tz, now=now)
    return None
