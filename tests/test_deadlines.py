from datetime import date, datetime, timedelta

from data.clock import UTC, zone
from data.deadlines import WorkCalendar, add_working_hours, due_at

SH = zone("Asia/Shanghai")


def local(*args):
    return datetime(*args, tzinfo=SH)


def test_calendar_hours_are_plain_hours():
    start = local(2026, 11, 6, 17, 0)
    assert due_at(start, 6, working_hours=False, calendar=WorkCalendar()) == start + timedelta(hours=6)


def test_working_hours_skip_lunch_nights_and_weekends():
    cal = WorkCalendar()
    # Friday 17:00 + 2 working hours: 1 h on Friday, then Monday 08:30 + 1 h.
    assert add_working_hours(local(2026, 11, 6, 17, 0), 2, cal) == local(2026, 11, 9, 9, 30).astimezone(UTC)
    # 11:00 + 2 h: 1 h before lunch, 1 h after 14:00.
    assert add_working_hours(local(2026, 11, 9, 11, 0), 2, cal) == local(2026, 11, 9, 15, 0).astimezone(UTC)
    # A report at night starts counting at 08:30.
    assert add_working_hours(local(2026, 11, 9, 22, 0), 1, cal) == local(2026, 11, 10, 9, 30).astimezone(UTC)


def test_holidays_and_adjusted_workdays():
    cal = WorkCalendar(days={date(2026, 10, 1): False, date(2026, 10, 2): False, date(2026, 10, 10): True})
    # Wednesday 30 Sep 17:00 + 2 h: 1 h, then 1 and 2 Oct are holidays, 3-4 Oct weekend... 5 Oct.
    assert add_working_hours(local(2026, 9, 30, 17, 0), 2, cal) == local(2026, 10, 5, 9, 30).astimezone(UTC)
    # Saturday 10 Oct is a 调休 working day.
    assert add_working_hours(local(2026, 10, 9, 17, 30), 1, cal) == local(2026, 10, 10, 9, 0).astimezone(UTC)
