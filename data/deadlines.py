"""Deadlines: calendar hours or working hours (weekdays 08:30–12:00 and 14:00–18:00, with public
holidays and the weekend days worked instead, 调休). Pure functions of (start, hours, calendar)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from data.clock import UTC, zone

WORK_PERIODS = ((time(8, 30), time(12, 0)), (time(14, 0), time(18, 0)))


@dataclass(frozen=True)
class WorkCalendar:
    """`days` maps a date to True (a working day, e.g. 调休 Saturday) or False (a holiday)."""

    days: Mapping[date, bool] = field(default_factory=dict)
    tz: str = "Asia/Shanghai"

    def is_workday(self, day: date) -> bool:
        if day in self.days:
            return self.days[day]
        return day.weekday() < 5


def due_at(start: datetime, hours: float, *, working_hours: bool, calendar: WorkCalendar) -> datetime:
    """When a limit of `hours` that starts at `start` runs out."""
    if not working_hours:
        return start + timedelta(hours=hours)
    return add_working_hours(start, hours, calendar)


def add_working_hours(start: datetime, hours: float, calendar: WorkCalendar) -> datetime:
    tz = zone(calendar.tz)
    local = start.astimezone(tz)
    remaining = timedelta(hours=hours)
    day = local.date()
    for _ in range(3660):  # ten years of days: a bound, not a limit anyone reaches
        if calendar.is_workday(day):
            for begin, end in WORK_PERIODS:
                p_start = datetime.combine(day, begin, tzinfo=tz)
                p_end = datetime.combine(day, end, tzinfo=tz)
                if local >= p_end:
                    continue
                from_ = max(local, p_start)
                available = p_end - from_
                if remaining <= available:
                    return (from_ + remaining).astimezone(UTC)
                remaining -= available
        day += timedelta(days=1)
        local = datetime.combine(day, time.min, tzinfo=tz)
    raise ValueError("deadline further than ten years away")
