"""The detectors on hand-built cases (issue #11): each fires on a known pattern and stays silent
on a matched quiet control."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from data.alerts import detect
from data.alerts.detect import Alarm, Report, Thresholds
from data.clock import UTC

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # a Tuesday, 20:00 in Shanghai
TH = Thresholds()
LON, LAT = 115.41, 25.95
M_LON = 1 / (111_195.0 * math.cos(math.radians(LAT)))  # degrees of longitude per metre
M_LAT = 1 / 111_195.0


def at(hours_ago: float) -> datetime:
    return NOW - timedelta(hours=hours_ago)


def baseline(per_week: int, *, hour_offset: float = 2.0, weeks: int = 8, start_id: int = 1000) -> list[Report]:
    """`per_week` reports in the same weekday-hour window of each of the past weeks."""
    out = []
    for k in range(1, weeks + 1):
        for j in range(per_week):
            out.append(Report(start_id + k * 10 + j, 7, NOW - k * detect.WEEK - timedelta(hours=hour_offset + j * 0.3)))
    return out


def test_poisson_tail_matches_the_direct_sum():
    lam = 1.7
    direct = 1 - sum(math.exp(-lam) * lam**i / math.factorial(i) for i in range(4))
    assert math.isclose(detect.poisson_tail(4, lam), direct, rel_tol=1e-9)
    assert detect.poisson_tail(0, 3.0) == 1.0
    assert 0 < detect.poisson_tail(30, 0.05) < 1e-40  # tiny tails stay exact, never 0 - cancellation


def test_surge_fires_on_a_burst_above_its_weekday_hour():
    now_burst = [Report(i, 7, at(0.5 + i * 0.4)) for i in range(8)]  # eight where one is usual
    finding = detect.surge(baseline(1) + now_burst, NOW, TH, area_level="grid", area_id=3, category_id=7)
    assert finding is not None
    assert finding.kind == "surge" and finding.key == "surge:grid:3:7"
    assert set(finding.evidence) == {r.id for r in now_burst}
    assert finding.detail["observed"] == 8 and finding.detail["p"] < TH.surge_p
    assert finding.first_seen == now_burst[-1].created_at and finding.last_seen == now_burst[0].created_at


def test_surge_is_silent_when_the_same_count_is_usual_for_that_hour():
    # Matched control: the same eight reports now, but six is what this weekday-hour usually brings.
    now_usual = [Report(i, 7, at(0.5 + i * 0.4)) for i in range(8)]
    assert detect.surge(baseline(6) + now_usual, NOW, TH, area_level="grid", area_id=3, category_id=7) is None


def test_surge_needs_the_minimum_count():
    few = [Report(i, 7, at(0.5 + i)) for i in range(TH.surge_min_count - 1)]  # never seen before, still too few
    assert detect.surge(few, NOW, TH, area_level="grid", area_id=3, category_id=7) is None


def test_surge_leaves_out_weeks_before_the_history_began():
    # Two weeks of history with 4 reports per window: weeks 3-8 are not "zero", they did not exist.
    usual = baseline(4, weeks=2) + [Report(i, 7, at(0.5 + i)) for i in range(5)]
    data_start = NOW - 2 * detect.WEEK - timedelta(hours=12)
    assert detect.surge(usual, NOW, TH, area_level="grid", area_id=1, category_id=7, data_start=data_start) is None
    fired = detect.surge(usual, NOW, Thresholds(surge_p=0.5), area_level="grid", area_id=1, category_id=7)
    assert fired is not None  # counting the missing weeks as zeros would look unusual


def _spot(n: int, metres_apart: float, hours_apart: float, *, first_id=1, category=7, dx=0.0, grid=None) -> list:
    return [
        Report(
            first_id + i,
            category,
            at(1 + i * hours_apart),
            LON + (dx + i * metres_apart) * M_LON,
            LAT,
            grid_id=grid if grid is not None else (1 if i % 2 else 2),  # across a grid border
        )
        for i in range(n)
    ]


def test_cluster_fires_on_close_reports_across_grid_borders():
    close = _spot(5, 40, 1)  # 5 reports 40 m apart (160 m end to end, chained), two grids
    found = detect.clusters(close, NOW, TH)
    assert len(found) == 1
    assert set(found[0].evidence) == {r.id for r in close}
    assert found[0].detail["grids"] == 2


def test_cluster_is_silent_when_the_same_reports_are_spread_out():
    spread = _spot(5, 400, 1)  # the same five, 400 m apart
    assert detect.clusters(spread, NOW, TH) == []
    old = [Report(r.id, r.category_id, at(30 + i), r.lon, r.lat) for i, r in enumerate(_spot(5, 40, 1))]
    assert detect.clusters(old, NOW, TH) == []  # close in space, but outside the window


def _closed_loop(first_id: int, opened_days_ago: float, closed_days_ago: float, dx: float = 0.0) -> Report:
    return Report(
        first_id,
        7,
        NOW - timedelta(days=opened_days_ago),
        LON + dx * M_LON,
        LAT,
        grid_id=1,
        closed_at=NOW - timedelta(days=closed_days_ago),
    )


def test_recurring_fires_on_a_spot_that_keeps_coming_back_after_closing():
    spot = [
        _closed_loop(1, 28, 26),
        _closed_loop(2, 20, 18, dx=5),  # came back 6 days after closing
        _closed_loop(3, 12, 10, dx=-4),  # and again
        Report(4, 7, NOW - timedelta(days=2), LON + 8 * M_LON, LAT, grid_id=1),  # and again
    ]
    found = detect.recurring(spot, NOW, TH)
    assert len(found) == 1
    assert found[0].evidence == (1, 2, 3, 4) and found[0].detail["comebacks"] == 3
    assert detect.recurring(spot[1:], NOW, TH) == []  # closed twice, back twice: below the minimum of three


def test_recurring_is_silent_for_the_same_reports_elsewhere_or_long_after():
    elsewhere = [
        _closed_loop(1, 28, 26),
        _closed_loop(2, 20, 18, dx=200),
        _closed_loop(3, 12, 10, dx=400),
        Report(4, 7, NOW, LON + 600 * M_LON, LAT),
    ]
    assert detect.recurring(elsewhere, NOW, TH) == []
    long_after = [
        _closed_loop(1, 300, 298),
        _closed_loop(2, 200, 198),
        _closed_loop(3, 120, 118),
        Report(4, 7, NOW, LON, LAT),
    ]
    assert detect.recurring(long_after, NOW, TH) == []
    still_open = [Report(i, 7, at(100 - 20 * i), LON, LAT) for i in range(5)]
    assert detect.recurring(still_open, NOW, TH) == []  # repeated while open: duplicates, not comebacks


def test_device_fires_when_it_alarms_again_after_its_tickets_closed():
    alarms = [Alarm("M-1", "pm25", 10, at(60)), Alarm("M-1", "pm25", 11, at(30)), Alarm("M-1", "pm25", 12, at(2))]
    closed = {10: at(50), 11: at(20), 12: None}
    found = detect.devices(alarms, closed, NOW, TH)
    assert len(found) == 1 and found[0].device_id == "M-1"
    assert found[0].evidence == (10, 11, 12) and found[0].detail["after_close"] == 2


def test_device_is_silent_when_repeats_fold_into_one_open_ticket():
    # Matched control: as many alarms, but the ticket never closed (its repeats fold into it).
    alarms = [Alarm("M-2", "pm25", 10, at(h)) for h in (60, 30, 2)]
    assert detect.devices(alarms, {10: None}, NOW, TH) == []


def test_device_flapping_fires_on_many_separate_episodes():
    alarms = [Alarm("M-3", "manhole_displaced", 20 + i, at(40 - i * 8)) for i in range(4)]
    found = detect.devices(alarms, {}, NOW, TH)  # none closed, but four separate tickets: flapping
    assert len(found) == 1 and found[0].detail["flapping"]
    assert detect.devices(alarms[:3], {}, NOW, TH) == []


def test_recurring_counts_closings_that_did_not_last_not_reports():
    # One closing, then two reports nearby (a busy spot): one comeback, below the minimum of two.
    busy = [_closed_loop(1, 20, 18), Report(2, 7, NOW - timedelta(days=5), LON, LAT), Report(3, 7, at(2), LON, LAT)]
    assert detect.recurring(busy, NOW, TH) == []


def test_background_test_tells_a_busy_corner_from_news():
    quiet = detect.background_test(5, 0, 8 * 7 * 24, 24, TH)
    busy = detect.background_test(5, 200, 8 * 7 * 24, 24, TH)  # ~3.6 a day there anyway
    assert quiet["unusual"] and not busy["unusual"]
