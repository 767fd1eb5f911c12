"""Time: aware UTC in Python, naive UTC in the database, local days in the district's time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

UTC = timezone.utc
DEFAULT_TZ = "Asia/Shanghai"


def utcnow() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=8)
def zone(name: str = DEFAULT_TZ) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(at: datetime, tz: str = DEFAULT_TZ) -> date:
    """The calendar day (in the district's zone) an instant falls on."""
    return at.astimezone(zone(tz)).date()


def day_start(day: date, tz: str = DEFAULT_TZ) -> datetime:
    """The UTC instant at which a local day starts."""
    return datetime.combine(day, time.min, tzinfo=zone(tz)).astimezone(UTC)


def day_range(day: date, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    return day_start(day, tz), day_start(day + timedelta(days=1), tz)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC on every backend and gives back aware UTC datetimes.

    SQLite has no time zones and PostgreSQL's timestamptz would convert on the session's zone;
    one convention everywhere keeps comparisons and indexes simple.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)
