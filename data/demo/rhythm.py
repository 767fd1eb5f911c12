"""The demo district's rhythm: when, where and what residents report, and how fast orders move.

One model for the year of history (data.demo.history) and the live simulator
(data.demo.simulator), so the wall looks the same after hours of running as the history it
starts from (issue #13):

- volume: `PER_GRID_PER_DAY` reports per grid per day, growing over the year (`trend`: 0.85 a
  year ago to 1.15 today), with the season (±12 %) and the weekday (`WEEKDAY_FACTOR`);
- hour of day: `HOUR_PROFILE` (quiet nights, a morning and an afternoon peak);
- where: 35 % around a dozen hot spots (~160 m spread) that depend only on the district's grids,
  a few just outside the district (a resident at the edge, a GPS error), the rest uniform;
- what: the categories' weights (data.demo.reference) and the channels' shares (`SOURCES`);
  IoT alarms only in their categories;
- how fast: the step timings below (accept 4–75 min after the report, dispatch 1–20 min later,
  respond in time 88 % for grid workers and 50 % for property companies, handle within 10–85 %
  of the handling limit, 8 % late, verify 0.3–6 h after, 7 % sent back, 30 % rated within 48 h).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import shapely

from data.clock import zone
from data.demo.district import category_weights
from data.demo.reference import IOT_CATEGORIES, SOURCES

PER_GRID_PER_DAY = 2.0
HOUR_PROFILE = np.array(
    [0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.6, 1.4, 2.4, 3.0, 3.1, 2.6, 1.8, 1.7, 2.5, 2.8, 2.7, 2.4, 2.0, 2.1, 2.0, 1.5,
     0.9, 0.5]
)  # fmt: skip
HOUR_SHARE = HOUR_PROFILE / HOUR_PROFILE.sum()
WEEKDAY_FACTOR = np.array([1.08, 1.04, 1.0, 1.0, 1.02, 0.82, 0.78])
HOT_SPOTS = 14
HOT_SHARE = 0.35
HOT_SIGMA_DEG = 0.0016  # ~160 m
OUTSIDE_SHARE = 1 / 2000
OUTSIDE_SIGMA_DEG = 0.003

# Step timings (minutes or hours as named): data.demo.history replays them, the simulator draws them.
ACCEPT_MINUTES = (4, 75)
REJECT_SHARE = 0.03
DUPLICATE_SHARE = 0.03
DISPATCH_MINUTES = (1, 20)
RESPOND_IN_TIME = {"property": 0.5, "grid_worker": 0.88}
RESPOND_IN_TIME_SPAN = (0.05, 0.9)  # of the response window
RESPOND_LATE_HOURS = (0.3, 8)  # after the response deadline
HANDLE_LATE_SHARE = 0.08
HANDLE_SPAN = (0.1, 0.85)  # of the handling window, at least 20 minutes after the response
HANDLE_LATE_HOURS = (1, 48)
VERIFY_HOURS = (0.3, 6)
SEND_BACK_SHARE = 0.07
REWORK_HOURS = (1, 20)
RATED_SHARE = 0.7  # of closed orders, rated by their resident (the history: ~69,000 ratings of ~95,000 closed)
RATE_HOURS = (1, 48)
RATINGS = {"satisfied": 80, "basic": 14, "unsatisfied": 6}


def trend(back: int, days: int) -> float:
    """Volume grows over the year: 0.85 `days` ago, 1.15 today (`back` days ago)."""
    return 0.85 + 0.3 * (1 - back / max(days, 1))


def season(day) -> float:
    return 1 + 0.12 * np.sin((day.timetuple().tm_yday / 365.0) * 2 * np.pi)


def day_volume(day, *, back: int, days: int, per_day: float) -> float:
    """Expected reports on local `day`, `back` days before the history's last day."""
    return per_day * trend(back, days) * season(day) * WEEKDAY_FACTOR[day.weekday()]


def creation_times(rng, now: datetime, days: int, per_day: float, tz: str = "Asia/Shanghai") -> list[datetime]:
    """Report times of the `days` days up to `now` (a Poisson count per day, spread by the hour profile)."""
    local_now = now.astimezone(zone(tz))
    today = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for back in range(days, -1, -1):
        day = today - timedelta(days=back)
        count = int(rng.poisson(day_volume(day, back=back, days=days, per_day=per_day)))
        hours = rng.choice(24, size=count, p=HOUR_SHARE)
        seconds = rng.integers(0, 3600, size=count)
        offsets = np.sort(hours * 3600 + seconds)
        for off in offsets:
            at = day + timedelta(seconds=int(off))
            if at <= local_now:
                out.append(at.astimezone(now.tzinfo))
    return out


def expected_reports(start: datetime, end: datetime, n_grids: int, tz: str = "Asia/Shanghai") -> float:
    """Expected reports in [start, end) at today's pace (the history's last day): the day's volume
    spread over the hours by HOUR_PROFILE, summed hour by hour."""
    local = zone(tz)
    total = 0.0
    at = start
    while at < end:
        here = at.astimezone(local)
        hour_end = (here.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).astimezone(start.tzinfo)
        until = min(end, hour_end)
        volume = day_volume(here, back=0, days=1, per_day=PER_GRID_PER_DAY * n_grids)
        total += volume * HOUR_SHARE[here.hour] * (until - at).total_seconds() / 3600
        at = until
    return total


# ----------------------------------------------------------------------------------------------
# Where.


@dataclass(frozen=True)
class Area:
    """The district's grids as the location model sees them."""

    union: shapely.Geometry
    centres: np.ndarray  # hot spots (k, 2)
    weights: np.ndarray  # their shares of the hot reports
    ring: np.ndarray  # the outline's vertices, for reports just outside


def area_of(polygons, codes) -> Area:
    """The model's area for these grids. Hot spots depend only on the grids (their codes), so
    the history and a simulator started later find the same ones."""
    order = np.argsort(np.asarray(list(codes), dtype=str), kind="stable")
    polygons = np.asarray(list(polygons), dtype=object)[order]
    union = shapely.union_all(polygons)
    outline = union if union.geom_type == "Polygon" else max(union.geoms, key=lambda g: g.area)
    own = np.random.default_rng(zlib.crc32("|".join(np.asarray(list(codes), dtype=str)[order]).encode()))
    picked = own.choice(len(polygons), size=min(HOT_SPOTS, len(polygons)), replace=False)
    centres = shapely.get_coordinates(shapely.point_on_surface(polygons[picked]))
    weights = own.dirichlet(np.ones(len(centres)) * 0.8)
    return Area(union, centres, weights, shapely.get_coordinates(outline.exterior))


def locations(rng, world, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` report points for a DemoWorld (its grid_polygons and grid_codes)."""
    return sample_points(rng, area_of(world.grid_polygons, world.grid_codes), n)


def sample_points(rng, area: Area, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each point: around a hot spot (HOT_SHARE; one that falls outside the district is drawn
    again uniformly), just outside the district (OUTSIDE_SHARE), or uniform inside it."""
    kind = rng.choice(3, size=n, p=[HOT_SHARE, OUTSIDE_SHARE, 1 - HOT_SHARE - OUTSIDE_SHARE])
    pts = np.full((n, 2), np.nan)
    hot = np.flatnonzero(kind == 0)
    which = rng.choice(len(area.centres), size=len(hot), p=area.weights)
    pts[hot] = area.centres[which] + rng.normal(0, HOT_SIGMA_DEG, size=(len(hot), 2))
    out = np.flatnonzero(kind == 1)
    pts[out] = area.ring[rng.integers(0, len(area.ring), size=len(out))] + rng.normal(
        0, OUTSIDE_SIGMA_DEG, size=(len(out), 2)
    )
    strayed = hot[~shapely.contains_xy(area.union, pts[hot, 0], pts[hot, 1])]
    need = np.concatenate([np.flatnonzero(kind == 2), strayed])
    minx, miny, maxx, maxy = area.union.bounds
    while len(need):
        cand = np.column_stack([rng.uniform(minx, maxx, len(need) * 2), rng.uniform(miny, maxy, len(need) * 2)])
        inside = cand[shapely.contains_xy(area.union, cand[:, 0], cand[:, 1])][: len(need)]
        pts[need[: len(inside)]] = inside
        need = need[len(inside) :]
    return pts[:, 0], pts[:, 1]


# ----------------------------------------------------------------------------------------------
# What.


def kinds(rng, categories, n: int):
    """(the categories drawn from, category index per report, channel names, channel index per
    report): categories by their weights, channels by SOURCES, IoT alarms in IoT categories."""
    weights = category_weights()
    cats = [c for c in categories if c.code in weights]
    p = np.array([weights[c.code] for c in cats], dtype=float)
    cat_choice = rng.choice(len(cats), size=n, p=p / p.sum())
    source_names = list(SOURCES)
    sources = rng.choice(len(source_names), size=n, p=np.array(list(SOURCES.values())))
    iot_cats = [i for i, c in enumerate(cats) if c.code in IOT_CATEGORIES]
    is_iot = sources == source_names.index("iot")
    cat_choice[is_iot] = rng.choice(iot_cats, size=int(is_iot.sum()))
    return cats, cat_choice, source_names, sources


# ----------------------------------------------------------------------------------------------
# How fast: the next step of an open order and when it is due.


@dataclass(frozen=True)
class OrderState:
    """What the timings need to know of a ticket (a row of data.models.Ticket)."""

    id: int
    status: str
    rework_count: int
    created_at: datetime
    accepted_at: datetime | None
    dispatched_at: datetime | None
    responded_at: datetime | None
    handled_at: datetime | None
    closed_at: datetime | None
    response_due_at: datetime | None
    handle_due_at: datetime | None
    updated_at: datetime
    by_property: bool  # assigned to a property company
    has_grid: bool


def next_step(t: OrderState) -> tuple[str, datetime, dict] | None:
    """(action, when, extra) for the order's next step, or None when it waits for a person (no
    grid to dispatch to) or for nothing (closed and never rated). Drawn from a generator seeded by
    the order and its state, so every tick computes the same answer until the order moves."""
    r = random.Random(f"{t.id}:{t.status}:{t.rework_count}")

    def uniform(lo_hi, unit):
        return timedelta(**{unit: r.uniform(*lo_hi)})

    if t.status == "reported":
        at = t.created_at + uniform(ACCEPT_MINUTES, "minutes")
        roll = r.random()
        if roll < REJECT_SHARE:
            return "reject", at, {"note": "不属于受理范围"}
        if roll < REJECT_SHARE + DUPLICATE_SHARE:
            return "mark_duplicate", at, {}
        return "accept", at, {}
    if t.status == "accepted":
        if not t.has_grid:
            return None  # outside every grid: waits in the unassigned queue for a manual dispatch
        return "dispatch", (t.accepted_at or t.updated_at) + uniform(DISPATCH_MINUTES, "minutes"), {}
    if t.status == "dispatched":
        start, due = t.dispatched_at or t.updated_at, t.response_due_at
        if due is None:
            return "respond", start + uniform(RESPOND_LATE_HOURS, "hours"), {}
        if r.random() < RESPOND_IN_TIME["property" if t.by_property else "grid_worker"]:
            return "respond", start + (due - start) * r.uniform(*RESPOND_IN_TIME_SPAN), {}
        return "respond", due + uniform(RESPOND_LATE_HOURS, "hours"), {}
    if t.status == "in_progress":
        if t.rework_count:  # sent back: handled again some hours later
            return "handle", t.updated_at + uniform(REWORK_HOURS, "hours"), {}
        start, due = t.dispatched_at or t.updated_at, t.handle_due_at
        if due is None:
            return "handle", t.updated_at + uniform(HANDLE_LATE_HOURS, "hours"), {}
        if r.random() < HANDLE_LATE_SHARE:
            return "handle", due + uniform(HANDLE_LATE_HOURS, "hours"), {}
        earliest = (t.responded_at or t.updated_at) + timedelta(minutes=20)
        return "handle", max(earliest, start + (due - start) * r.uniform(*HANDLE_SPAN)), {}
    if t.status == "handled":
        at = (t.handled_at or t.updated_at) + uniform(VERIFY_HOURS, "hours")
        if t.rework_count == 0 and r.random() < SEND_BACK_SHARE:
            return "send_back", at, {"note": "现场核查未处理到位"}
        return "verify_close", at, {}
    if t.status == "closed" and t.closed_at is not None:
        if r.random() >= RATED_SHARE:
            return None
        value = r.choices(list(RATINGS), weights=list(RATINGS.values()))[0]
        return "rate", t.closed_at + uniform(RATE_HOURS, "hours"), {"rating": value}
    return None
