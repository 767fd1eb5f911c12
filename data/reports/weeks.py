"""ISO weeks in the district's time zone: "2026-W47" is Monday 00:00 to the next Monday 00:00,
local time, as UTC instants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from data.clock import day_start, local_day, utcnow

WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


@dataclass(frozen=True)
class Week:
    year: int
    number: int
    tz: str

    @property
    def name(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def start(self) -> datetime:
        return day_start(self.monday, self.tz)

    @property
    def end(self) -> datetime:
        return day_start(self.monday + timedelta(days=7), self.tz)

    def previous(self) -> Week:
        return of_day(self.monday - timedelta(days=7), self.tz)

    def label(self) -> str:
        """2026年第47周（11月16日—11月22日）"""
        m, s = self.monday, self.sunday
        return f"{self.year}年第{self.number}周（{m.month}月{m.day}日—{s.month}月{s.day}日）"


def of_day(day: date, tz: str) -> Week:
    y, w, _ = day.isocalendar()
    return Week(y, w, tz)


def parse(text: str, tz: str) -> Week:
    """'2026-W47' (or '2026W47') → Week; ValueError naming the expected form otherwise."""
    m = WEEK.match((text or "").strip())
    if not m:
        raise ValueError(f"a week is written like 2026-W47, not {text!r}")
    year, number = int(m.group(1)), int(m.group(2))
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        raise ValueError(f"{year} has no ISO week {number}") from None
    return Week(year, number, tz)


def last_finished(tz: str, now: datetime | None = None) -> Week:
    """The latest week that has ended at `now` (on a Monday: the week that ended at midnight)."""
    today = local_day(now or utcnow(), tz)
    return of_day(today - timedelta(days=7), tz)
