"""The early-warning job: incremental. A detector's answer can only change when a report (or an
IoT alarm) arrives — windows only lose reports as time passes — so each run examines only the
grid × category and community × category pairs, categories near new points, spots and devices
that tickets and alarms newer than the last run's watermark touched. The first run (no
watermark) takes the last GCC_ALERT_LOOKBACK_HOURS.

`run(session, settings, now=...)` is also how the benchmark replays history: everything it reads
is bounded by `now` (tickets created, closed and alarms raised up to then).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from time import perf_counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.alerts import detect, store
from data.alerts.detect import Alarm, Finding, Report, Thresholds
from data.alerts.models import IotAlarm
from data.clock import utcnow
from data.models import AppState, Ticket

STATE_KEY = "alerts.watermark"
CHUNK = 500
TICKET_COLUMNS = (
    Ticket.id,
    Ticket.category_id,
    Ticket.created_at,
    Ticket.lon,
    Ticket.lat,
    Ticket.grid_id,
    Ticket.community_id,
    Ticket.closed_at,
    Ticket.status,
)
NOT_A_COMEBACK = ("rejected", "duplicate")  # refused, or a repeat of an open order: not "came back"


def _report(row, now: datetime) -> Report:
    closed = row.closed_at if row.closed_at is not None and row.closed_at <= now else None
    return Report(row.id, row.category_id, row.created_at, row.lon, row.lat, row.grid_id, row.community_id, closed)


def load_watermark(session: Session) -> dict | None:
    state = session.get(AppState, STATE_KEY)
    return json.loads(state.value) if state is not None else None


def save_watermark(session: Session, mark: dict) -> None:
    state = session.get(AppState, STATE_KEY)
    if state is None:
        session.add(AppState(key=STATE_KEY, value=json.dumps(mark)))
    else:
        state.value = json.dumps(mark)


def run(
    session: Session,
    settings,
    now: datetime | None = None,
    *,
    th: Thresholds | None = None,
    since: datetime | None = None,
    commit=None,
) -> dict:
    """One incremental run; returns its summary (what was examined and what changed). `since`
    (a replay of history: bench/bench_alerts.py) examines what was created in (since, now]
    instead of what is newer than the watermark. `commit` (the scheduler's, data.jobs): called
    after each stage's writes, so SQLite's write lock is held for writing only."""
    t0 = perf_counter()
    now = now or utcnow()
    th = th or Thresholds.from_settings(settings)
    mark = None if since is not None else load_watermark(session)
    if mark is None:
        since = since or now - timedelta(hours=settings.gcc_alert_lookback_hours)
        touched = session.execute(
            select(*TICKET_COLUMNS).where(Ticket.created_at > since, Ticket.created_at <= now)
        ).all()
        alarms = session.scalars(select(IotAlarm).where(IotAlarm.at > since, IotAlarm.at <= now)).all()
    else:
        touched = session.execute(
            select(*TICKET_COLUMNS).where(Ticket.id > mark["ticket_id"], Ticket.created_at <= now)
        ).all()
        alarms = session.scalars(select(IotAlarm).where(IotAlarm.id > mark["alarm_id"], IotAlarm.at <= now)).all()
    new_mark = {
        "ticket_id": max([r.id for r in touched], default=(mark or {}).get("ticket_id", 0)),
        "alarm_id": max([a.id for a in alarms], default=(mark or {}).get("alarm_id", 0)),
        "at": now.isoformat(),
    }
    if mark is None:  # start after everything that exists up to now, examined or not
        new_mark["ticket_id"] = session.scalar(select(func.max(Ticket.id)).where(Ticket.created_at <= now)) or 0
        new_mark["alarm_id"] = session.scalar(select(func.max(IotAlarm.id)).where(IotAlarm.at <= now)) or 0
    outcome: Counter = Counter()
    # Each stage reads (nothing locked), then writes its findings (and commits, given `commit`):
    # on SQLite the write lock is then held for the writes only, not for a whole first run.
    stages = []
    if alarms:  # first: a sensor's comebacks are its alert, not also a recurring spot
        stages.append(lambda: _devices(session, alarms, now, th))
    if touched:
        stages += [
            lambda: _surges(session, touched, now, th, "grid"),
            lambda: _surges(session, touched, now, th, "community"),
            lambda: _clusters(session, touched, now, th),
            lambda: _recurring(session, touched, now, th),
        ]
    for stage in stages:
        pending = stage()
        for finding, min_new, cover in pending:
            outcome["findings"] += 1
            if cover and store.covered(session, cover[0], finding.category_id, finding.evidence, share=cover[1]):
                outcome["covered"] += 1
                continue
            near = {"cluster": th.cluster_radius_m, "recurring": 2 * th.recurring_radius_m}.get(finding.kind)
            place = place_of(session, finding)
            outcome[store.upsert(session, finding, place, now, min_new=min_new, near_m=near)] += 1
        if pending and commit is not None:
            commit()
    save_watermark(session, new_mark)
    session.flush()
    return {
        "tickets": len(touched),
        "alarms": len(alarms),
        **{k: outcome[k] for k in ("findings", "raised", "grown", "same", "closed", "covered")},
        "seconds": round(perf_counter() - t0, 4),
    }


# ----------------------------------------------------------------------------------------------
# Where an alert lies


def place_of(session: Session, finding: Finding, rows: dict[int, Report] | None = None) -> store.Place:
    """The alert's area and location from its evidence: the grid holding most of it (and that
    grid's community and street), the mean of its points; a community surge lies in the community."""
    found = session.execute(
        select(Ticket.id, Ticket.grid_id, Ticket.community_id, Ticket.street_id, Ticket.lon, Ticket.lat).where(
            Ticket.id.in_(finding.evidence)
        )
    ).all()
    chains = Counter((r.grid_id, r.community_id, r.street_id) for r in found)
    grid_id, community_id, street_id = chains.most_common(1)[0][0] if chains else (None, None, None)
    if finding.area_level == "community":
        grid_id = None
        community_id = finding.area_id
        streets = Counter(r.street_id for r in found if r.community_id == community_id)
        street_id = streets.most_common(1)[0][0] if streets else street_id
    points = [(r.lon, r.lat) for r in found if r.lon is not None and r.lat is not None]
    lon = sum(p[0] for p in points) / len(points) if points else None
    lat = sum(p[1] for p in points) / len(points) if points else None
    region_id = finding.area_id if finding.area_id is not None else (grid_id or community_id)
    return store.Place(region_id, grid_id, community_id, street_id, lon, lat)


# ----------------------------------------------------------------------------------------------
# Detectors over what was touched


def _data_start(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Ticket.created_at)))


def _surges(session: Session, touched, now: datetime, th: Thresholds, level: str) -> list:
    """Surges of the grid × category (or community × category) pairs the new reports touched.
    A community surge that one grid's surge already holds is not raised again (cover)."""
    start = now - th.surge_weeks * detect.WEEK - timedelta(hours=max(th.surge_hours))
    data_start = _data_start(session)
    column = Ticket.grid_id if level == "grid" else Ticket.community_id
    pairs = {(getattr(r, f"{level}_id"), r.category_id) for r in touched if getattr(r, f"{level}_id") is not None}
    areas = sorted({a for a, _ in pairs})
    by_pair: dict[tuple[int, int], list[Report]] = defaultdict(list)
    for i in range(0, len(areas), CHUNK):
        chunk = areas[i : i + CHUNK]
        chosen = set(chunk)
        cats = sorted({c for a, c in pairs if a in chosen})
        rows = session.execute(
            select(Ticket.id, column, Ticket.category_id, Ticket.created_at).where(
                column.in_(chunk), Ticket.category_id.in_(cats), Ticket.created_at > start, Ticket.created_at <= now
            )
        ).all()
        for tid, area, category, created in rows:
            if (area, category) in pairs:
                by_pair[(area, category)].append(Report(tid, category, created))
    out = []
    cover = (("surge",), 0.8) if level == "community" else None
    for (area, category), reports in sorted(by_pair.items()):
        finding = detect.surge(
            reports, now, th, area_level=level, area_id=area, category_id=category, data_start=data_start
        )
        if finding is not None:
            out.append((finding, th.surge_min_count, cover))
    return out


def _bbox(points, radius_m: float):
    lat_mid = sum(p[1] for p in points) / len(points)
    dlat = radius_m / 111_195.0
    dlon = radius_m / (111_195.0 * max(0.01, math.cos(math.radians(lat_mid))))
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return min(lons) - dlon, max(lons) + dlon, min(lats) - dlat, max(lats) + dlat


def _clusters(session: Session, touched, now: datetime, th: Thresholds) -> list:
    """Clusters around the new points: per touched category, the window's reports within a few
    radii of its new points (a bounding box in SQL, so only those rows come back; measured at
    10,000 grids against one read of the whole window: 5x faster)."""
    since = now - timedelta(hours=th.cluster_hours)
    out = []
    by_category: dict[int, list] = defaultdict(list)
    for r in touched:
        if r.lon is not None and r.lat is not None and r.created_at > since:
            by_category[r.category_id].append((r.lon, r.lat))
    for category, points in sorted(by_category.items()):
        # Reports near the new ones (a reach of a few radii: a chain longer than that is cut).
        lo_lon, hi_lon, lo_lat, hi_lat = _bbox(points, 4 * th.cluster_radius_m)
        rows = session.execute(
            select(*TICKET_COLUMNS).where(
                Ticket.created_at > since,
                Ticket.created_at <= now,
                Ticket.category_id == category,
                Ticket.lon.between(lo_lon, hi_lon),
                Ticket.lat.between(lo_lat, hi_lat),
            )
        ).all()
        new_ids = {r.id for r in touched}
        reports = [_report(r, now) for r in rows]
        for finding in detect.clusters(reports, now, th):
            if not new_ids.intersection(finding.evidence):
                continue
            finding = _against_background(session, finding, reports, th.cluster_radius_m, th.cluster_hours, th)
            if finding is not None:
                out.append((finding, th.cluster_min_count, (("surge",), 0.8)))
    return out


def _against_background(session: Session, finding: Finding, reports, radius_m: float, window_h: float, th):
    """The finding, with the place's own past in its detail, if its count is unusual there; else None.
    The circle: the evidence's centre, wide enough to hold the evidence (at least `radius_m`)."""
    chosen = [r for r in reports if r.id in set(finding.evidence) and r.lon is not None]
    if not chosen:
        return finding
    lon = sum(r.lon for r in chosen) / len(chosen)
    lat = sum(r.lat for r in chosen) / len(chosen)
    reach = max([radius_m] + [_metres(lon, lat, r.lon, r.lat) for r in chosen])
    end = finding.first_seen
    start = max(end - th.surge_weeks * detect.WEEK, _data_start(session) or end)
    lo_lon, hi_lon, lo_lat, hi_lat = _bbox([(lon, lat)], reach)
    rows = session.execute(
        select(Ticket.lon, Ticket.lat).where(
            Ticket.category_id == finding.category_id,
            Ticket.created_at >= start,
            Ticket.created_at < end,
            Ticket.lon.between(lo_lon, hi_lon),
            Ticket.lat.between(lo_lat, hi_lat),
        )
    ).all()
    baseline = sum(1 for x, y in rows if _metres(lon, lat, x, y) <= reach)
    window_h = max(window_h, (finding.last_seen - finding.first_seen).total_seconds() / 3600)
    test = detect.background_test(len(finding.evidence), baseline, (end - start).total_seconds() / 3600, window_h, th)
    if not test["unusual"]:
        return None
    return Finding(**{**finding.__dict__, "detail": {**finding.detail, **test}})


def _metres(lon1, lat1, lon2, lat2) -> float:
    from data.duplicates import distance_m

    return distance_m(lon1, lat1, lon2, lat2)


def _recurring(session: Session, touched, now: datetime, th: Thresholds) -> list:
    reach = timedelta(days=3 * th.recurring_days)
    seen: set[int] = set()
    out = []
    for r in touched:
        if r.lon is None or r.lat is None or r.id in seen:
            continue
        lo_lon, hi_lon, lo_lat, hi_lat = _bbox([(r.lon, r.lat)], 2 * th.recurring_radius_m)
        where = [
            Ticket.category_id == r.category_id,
            Ticket.created_at > r.created_at - reach,
            Ticket.created_at <= now,
            Ticket.lon.between(lo_lon, hi_lon),
            Ticket.lat.between(lo_lat, hi_lat),
        ]
        if r.grid_id is not None:  # the grid's index; a spot straddling a border is seen from each side
            where.append(Ticket.grid_id == r.grid_id)
        rows = session.execute(select(*TICKET_COLUMNS).where(*where)).all()
        spot = [_report(x, now) for x in rows if x.status not in NOT_A_COMEBACK]
        for finding in detect.recurring(spot, now, th):
            if r.id in finding.evidence:
                seen.update(finding.evidence)
                finding = _against_background(session, finding, spot, th.recurring_radius_m, 24.0, th)
                if finding is None:
                    continue
                # A sensor's comebacks are its device alert already.
                out.append((finding, 1, (("device",), 0.5)))
    return out


def _devices(session: Session, alarms, now: datetime, th: Thresholds) -> list:
    since = now - timedelta(hours=th.device_hours)
    out = []
    devices = sorted({(a.device_id, a.alarm_type) for a in alarms})
    for device_id, alarm_type in devices:
        rows = session.scalars(
            select(IotAlarm).where(
                IotAlarm.device_id == device_id,
                IotAlarm.alarm_type == alarm_type,
                IotAlarm.at > since,
                IotAlarm.at <= now,
            )
        ).all()
        ticket_ids = {a.ticket_id for a in rows}
        closed = dict(session.execute(select(Ticket.id, Ticket.closed_at).where(Ticket.id.in_(ticket_ids))).all())
        closed = {t: (c if c is not None and c <= now else None) for t, c in closed.items()}
        category = session.scalar(select(Ticket.category_id).where(Ticket.id == rows[-1].ticket_id)) if rows else None
        for finding in detect.devices(
            [Alarm(a.device_id, a.alarm_type, a.ticket_id, a.at) for a in rows], closed, now, th
        ):
            out.append((Finding(**{**finding.__dict__, "category_id": category}), 1, None))
    return out
