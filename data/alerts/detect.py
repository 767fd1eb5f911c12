"""The four detectors, as pure functions: reports (or alarms) in, findings out. No database, no
clock: the job (data.alerts.job) reads what they need and passes `now`.

- surge      a count in the last hours far above the same weekday-hour over the past weeks:
             Poisson upper tail P(X >= observed | expected) below a threshold, with a minimum
             count so one or two reports never make a surge (EARS-style, prospective).
- cluster    several reports of one category close in space and time, wherever grid borders
             run: DBSCAN on points projected to metres (local equirectangular about the points'
             mean latitude; under 0.1 % error across a county), time window first.
- recurring  the same spot and category reported again within N days after it was closed
             ("closed but not solved"), linked per spot.
- device     an IoT device alarming again after its ticket was closed, or flapping (many
             separate alarm episodes in the window).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

EARTH_RADIUS_M = 6371008.8
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Thresholds:
    """The detectors' settings (data.settings GCC_ALERT_*), with their defaults."""

    surge_hours: tuple[int, ...] = (6, 24)
    surge_weeks: int = 8
    surge_p: float = 1e-5
    surge_min_count: int = 5
    surge_prior_weeks: float = 2.0  # weight of the flat (all-hours) rate in the expectation
    surge_min_expected: float = 0.05  # per window: a never-seen category is not infinitely rare
    background_p: float = 1e-4  # a cluster or spot against the same circle's own past weeks
    cluster_radius_m: float = 150.0
    cluster_hours: float = 24.0
    cluster_min_count: int = 5
    recurring_radius_m: float = 20.0
    recurring_days: float = 30.0
    recurring_min: int = 3  # "closed three times this month and it keeps coming back"
    device_hours: float = 72.0
    device_after_close: int = 2
    device_flap_episodes: int = 4

    @classmethod
    def from_settings(cls, s) -> Thresholds:
        return cls(
            surge_hours=tuple(sorted(set(s.gcc_alert_surge_hours))),
            surge_weeks=s.gcc_alert_surge_weeks,
            surge_p=s.gcc_alert_surge_p,
            surge_min_count=s.gcc_alert_surge_min_count,
            background_p=s.gcc_alert_background_p,
            cluster_radius_m=s.gcc_alert_cluster_radius_m,
            cluster_hours=s.gcc_alert_cluster_hours,
            cluster_min_count=s.gcc_alert_cluster_min_count,
            recurring_radius_m=s.gcc_alert_recurring_radius_m,
            recurring_days=s.gcc_alert_recurring_days,
            recurring_min=s.gcc_alert_recurring_min,
            device_hours=s.gcc_alert_device_hours,
            device_after_close=s.gcc_alert_device_after_close,
            device_flap_episodes=s.gcc_alert_device_flap_episodes,
        )


@dataclass(frozen=True)
class Report:
    """What a detector knows of a ticket."""

    id: int
    category_id: int
    created_at: datetime
    lon: float | None = None
    lat: float | None = None
    grid_id: int | None = None
    community_id: int | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class Alarm:
    """One IoT alarm (data.alerts.models.IotAlarm)."""

    device_id: str
    alarm_type: str
    ticket_id: int
    at: datetime


@dataclass(frozen=True)
class Finding:
    """Something unusual: the store turns it into an alert, or updates the open one with its key."""

    kind: str
    key: str
    evidence: tuple[int, ...]
    score: float
    first_seen: datetime
    last_seen: datetime
    category_id: int | None = None
    area_level: str | None = None  # grid | community (surge); the job places the others
    area_id: int | None = None
    device_id: str | None = None
    detail: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# Surge


def poisson_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), summed upward in log space (exact for tiny tails)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    log_term = -lam + k * math.log(lam) - math.lgamma(k + 1)
    total, i = 0.0, k
    while True:
        term = math.exp(log_term)
        total += term
        i += 1
        log_term += math.log(lam) - math.log(i)
        if term < total * 1e-12 or i > k + 10_000:
            break
    return min(1.0, total)


@dataclass(frozen=True)
class SurgeTest:
    hours: int
    observed: int
    expected: float
    p: float
    fires: bool


def surge_test(
    times: Sequence[datetime], now: datetime, hours: int, th: Thresholds, data_start: datetime | None = None
) -> SurgeTest:
    """One window: the count in (now - hours, now] against the same window one, two, ... weeks
    back (weeks before `data_start`, when the history did not exist yet, are left out), blended
    with the flat rate of the whole baseline period."""
    w = timedelta(hours=hours)
    observed = sum(1 for t in times if now - w < t <= now)
    weeks = []
    for k in range(1, th.surge_weeks + 1):
        end = now - k * WEEK
        if data_start is not None and end - w < data_start:
            break
        weeks.append(sum(1 for t in times if end - w < t <= end))
    span_start = now - len(weeks) * WEEK - w
    flat_hours = (len(weeks) * WEEK).total_seconds() / 3600
    flat = sum(1 for t in times if span_start < t <= now - w) * hours / flat_hours if weeks else 0.0
    expected = (sum(weeks) + th.surge_prior_weeks * flat) / (len(weeks) + th.surge_prior_weeks)
    expected = max(expected, th.surge_min_expected)
    p = poisson_tail(observed, expected)
    return SurgeTest(hours, observed, round(expected, 4), p, observed >= th.surge_min_count and p < th.surge_p)


def surge(
    reports: Sequence[Report],
    now: datetime,
    th: Thresholds,
    *,
    area_level: str,
    area_id: int,
    category_id: int,
    data_start: datetime | None = None,
) -> Finding | None:
    """A surge of one category in one area (its reports over the baseline period up to now), or
    None. The window with the smallest p wins; the evidence is that window's reports."""
    times = [r.created_at for r in reports if r.created_at <= now]
    best = None
    for hours in th.surge_hours:
        test = surge_test(times, now, hours, th, data_start)
        if test.fires and (best is None or test.p < best.p):
            best = test
    if best is None:
        return None
    w = timedelta(hours=best.hours)
    inside = sorted((r for r in reports if now - w < r.created_at <= now), key=lambda r: r.created_at)
    return Finding(
        kind="surge",
        key=f"surge:{area_level}:{area_id}:{category_id}",
        evidence=tuple(r.id for r in inside),
        score=round(min(-math.log10(max(best.p, 1e-300)), 99.0), 2),
        first_seen=inside[0].created_at,
        last_seen=inside[-1].created_at,
        category_id=category_id,
        area_level=area_level,
        area_id=area_id,
        detail={"hours": best.hours, "observed": best.observed, "expected": best.expected, "p": float(f"{best.p:.3g}")},
    )


def background_test(observed: int, baseline: int, baseline_hours: float, window_hours: float, th: Thresholds) -> dict:
    """A cluster's (or a spot's) count against the same place's own past: `baseline` reports of the
    category in the circle over `baseline_hours` before it. A busy corner that always has this
    many is not news; returns the numbers and whether it is unusual (Poisson tail < background_p)."""
    expected = baseline * window_hours / baseline_hours if baseline_hours > 0 else 0.0
    expected = max(expected, th.surge_min_expected)
    p = poisson_tail(observed, expected)
    return {
        "background": baseline,
        "expected": round(expected, 4),
        "p": float(f"{p:.3g}"),
        "unusual": p < th.background_p,
    }


# ----------------------------------------------------------------------------------------------
# Space: points in metres, neighbours by a hash of cells


def project(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """WGS84 lon/lat to metres on a local equirectangular plane about the mean latitude."""
    if not points:
        return []
    lat0 = math.radians(sum(p[1] for p in points) / len(points))
    kx, ky = EARTH_RADIUS_M * math.cos(lat0) * math.pi / 180, EARTH_RADIUS_M * math.pi / 180
    return [(lon * kx, lat * ky) for lon, lat in points]


def _neighbours(xy: Sequence[tuple[float, float]], radius: float) -> list[list[int]]:
    """For each point, the indexes of the points within `radius` (itself included)."""
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, (x, y) in enumerate(xy):
        cells[(math.floor(x / radius), math.floor(y / radius))].append(i)
    r2 = radius * radius
    out = []
    for x, y in xy:
        cx, cy = math.floor(x / radius), math.floor(y / radius)
        near = []
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in cells.get((cx + dx, cy + dy), ()):
                    ox, oy = xy[j]
                    if (ox - x) ** 2 + (oy - y) ** 2 <= r2:
                        near.append(j)
        out.append(near)
    return out


def clusters(reports: Sequence[Report], now: datetime, th: Thresholds) -> list[Finding]:
    """Space-time clusters of one category: DBSCAN (eps = radius, min points = the minimum
    count) over the located reports of the last `cluster_hours`."""
    since = now - timedelta(hours=th.cluster_hours)
    pts = [r for r in reports if r.lon is not None and r.lat is not None and since < r.created_at <= now]
    if len(pts) < th.cluster_min_count:
        return []
    near = _neighbours(project([(r.lon, r.lat) for r in pts]), th.cluster_radius_m)
    core = [len(n) >= th.cluster_min_count for n in near]
    label = [-1] * len(pts)
    groups: list[list[int]] = []
    for i in range(len(pts)):
        if not core[i] or label[i] >= 0:
            continue
        label[i] = len(groups)
        members, stack = [i], [i]
        while stack:
            j = stack.pop()
            for k in near[j]:
                if label[k] < 0:
                    label[k] = label[i]
                    members.append(k)
                    if core[k]:
                        stack.append(k)
        groups.append(members)
    out = []
    for members in groups:
        if len(members) < th.cluster_min_count:
            continue
        chosen = sorted((pts[m] for m in members), key=lambda r: (r.created_at, r.id))
        grids = {r.grid_id for r in chosen}
        out.append(
            Finding(
                kind="cluster",
                key=f"cluster:{chosen[0].category_id}:{chosen[0].id}",
                evidence=tuple(r.id for r in chosen),
                score=float(len(chosen)),
                first_seen=chosen[0].created_at,
                last_seen=chosen[-1].created_at,
                category_id=chosen[0].category_id,
                detail={
                    "count": len(chosen),
                    "radius_m": th.cluster_radius_m,
                    "hours": th.cluster_hours,
                    "grids": len(grids),
                },
            )
        )
    return out


# ----------------------------------------------------------------------------------------------
# Recurring


def recurring(reports: Sequence[Report], now: datetime, th: Thresholds) -> list[Finding]:
    """Spots where one category came back after closing: a report within `recurring_radius_m` of
    an earlier report of the category that was closed at most `recurring_days` before it. Linked
    reports form a spot; its comebacks are the closings that did not last (each counted once,
    however many reports followed it); a spot with at least `recurring_min` is a finding."""
    pts = sorted(
        (r for r in reports if r.lon is not None and r.lat is not None and r.created_at <= now),
        key=lambda r: (r.created_at, r.id),
    )
    if len(pts) < th.recurring_min + 1:
        return []
    near = _neighbours(project([(r.lon, r.lat) for r in pts]), th.recurring_radius_m)
    parent = list(range(len(pts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    window = timedelta(days=th.recurring_days)
    comebacks: set[int] = set()
    for i, r in enumerate(pts):
        for j in near[i]:
            p = pts[j]
            closed = p.closed_at
            if j == i or closed is None or closed > now or p.created_at >= r.created_at:
                continue
            if closed <= r.created_at <= closed + window:
                comebacks.add(j)  # this closing did not last
                parent[root(i)] = root(j)
    spots: dict[int, list[int]] = defaultdict(list)
    for i in range(len(pts)):
        spots[root(i)].append(i)
    out = []
    for members in spots.values():
        back = sum(1 for m in members if m in comebacks)
        if back < th.recurring_min:
            continue
        chosen = [pts[m] for m in sorted(members)]
        out.append(
            Finding(
                kind="recurring",
                key=f"recurring:{chosen[0].category_id}:{chosen[0].id}",
                evidence=tuple(r.id for r in chosen),
                score=float(back),
                first_seen=chosen[0].created_at,
                last_seen=chosen[-1].created_at,
                category_id=chosen[0].category_id,
                detail={"comebacks": back, "days": th.recurring_days, "radius_m": th.recurring_radius_m},
            )
        )
    return out


# ----------------------------------------------------------------------------------------------
# Devices


def devices(
    alarms: Iterable[Alarm], closed_at: dict[int, datetime | None], now: datetime, th: Thresholds
) -> list[Finding]:
    """Per device and alarm type, over the last `device_hours`: episodes (distinct tickets) and
    comebacks (an episode that began after the device's previous ticket was closed). Fires on
    `device_after_close` comebacks or `device_flap_episodes` episodes."""
    since = now - timedelta(hours=th.device_hours)
    by_device: dict[tuple[str, str], list[Alarm]] = defaultdict(list)
    for a in alarms:
        if since < a.at <= now:
            by_device[(a.device_id, a.alarm_type)].append(a)
    out = []
    for (device, kind), items in sorted(by_device.items()):
        items.sort(key=lambda a: (a.at, a.ticket_id))
        episodes: list[tuple[int, datetime]] = []  # (ticket, first alarm)
        for a in items:
            if not episodes or episodes[-1][0] != a.ticket_id:
                if a.ticket_id not in {t for t, _ in episodes}:
                    episodes.append((a.ticket_id, a.at))
        comebacks = 0
        for (prev, _), (_, started) in pairwise(episodes):
            closed = closed_at.get(prev)
            if closed is not None and closed <= started:
                comebacks += 1
        flapping = len(episodes) >= th.device_flap_episodes
        if comebacks < th.device_after_close and not flapping:
            continue
        out.append(
            Finding(
                kind="device",
                key=f"device:{device}:{kind}",
                evidence=tuple(t for t, _ in episodes),
                score=float(max(comebacks, len(episodes))),
                first_seen=items[0].at,
                last_seen=items[-1].at,
                device_id=device,
                detail={
                    "alarm_type": kind,
                    "alarms": len(items),
                    "episodes": len(episodes),
                    "after_close": comebacks,
                    "flapping": flapping,
                    "hours": th.device_hours,
                },
            )
        )
    return out
