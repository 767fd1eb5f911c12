"""Incidents planted in the demo for the early warning to find (issue #11), so a newcomer sees
alerts on the wall within minutes of the first start, and the benchmark has a ground truth:

- a burst: six reports of 漏水 from one estate within three hours (a surge, and a cluster);
- a recurring spot: 道路破损 at one place, closed three times and reported again;
- a flapping sensor: a PM2.5 sensor that alarms again each time its ticket is closed.

Every ticket goes through data.workflow like any other (reports, then the closed loop); the
sensor's alarms are logged as the intake logs them (data.alerts.models.IotAlarm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import workflow
from data.access import Viewer
from data.alerts.models import IotAlarm
from data.clock import utcnow
from data.intake_tables import IotAlarmState
from data.locate import locator
from data.models import Category, Estate, Region, Ticket

SYSTEM = Viewer.system()  # nameless, as every system viewer (the pages word the role)
M_LAT = 1 / 111_195.0


@dataclass(frozen=True)
class Planted:
    kind: str  # surge | recurring | device: what the early warning should say
    tickets: tuple[int, ...]
    first_at: datetime  # the first evidence
    due_at: datetime  # when the evidence reached the detector's minimum (an alert is due from then)
    grid_id: int


def _category(session: Session, code: str) -> Category:
    return session.scalars(select(Category).where(Category.code == code)).one()


def _point(session: Session, grid_id: int) -> tuple[float, float]:
    estate = session.scalars(select(Estate).where(Estate.grid_id == grid_id).limit(1)).first()
    if estate is not None and estate.lon is not None:
        return estate.lon, estate.lat
    import shapely

    from data.regions import current_boundary

    p = shapely.from_geojson(current_boundary(session, grid_id).geometry).representative_point()
    return p.x, p.y


def _offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    return lon + east_m * M_LAT / max(0.01, math.cos(math.radians(lat))), lat + north_m * M_LAT


def _report(session: Session, code: str, lon: float, lat: float, at: datetime, source: str, text: str) -> Ticket:
    return workflow.create(
        session,
        Viewer(role="resident") if source != "iot" else SYSTEM,
        workflow.Submission(
            source=source,
            category_id=_category(session, code).id,
            description=text,
            lon=lon,
            lat=lat,
            placement=locator(session).place(lon, lat),
            at=at,
        ),
    )


def _close(session: Session, ticket_id: int, start: datetime, hours: float) -> None:
    """The whole loop (accept → dispatch → respond → handle → verify and close) within `hours`."""
    for i, action in enumerate(("accept", "dispatch", "respond", "handle", "verify_close")):
        at = start + timedelta(hours=hours * (i + 1) / 5)
        extra = {"photos": ("demo/site-1.jpg",), "note": "已处理"} if action == "handle" else {}
        workflow.apply(session, SYSTEM, ticket_id, workflow.ActionInput(action, at=at, **extra))


def plant_burst(
    session: Session, grid_id: int, end: datetime, *, n: int = 6, code: str = "0402", min_count: int = 5
) -> Planted:
    """`n` reports of one category from one estate over the three hours before `end`."""
    lon, lat = _point(session, grid_id)
    ids, times = [], []
    for i in range(n):
        at = end - timedelta(hours=3) + timedelta(hours=3 * (i + 1) / n)
        p = _offset(lon, lat, 15 * math.cos(i), 15 * math.sin(i))
        ids.append(_report(session, code, *p, at, "resident", "楼上漏水，天花板渗水").id)
        times.append(at)
    # Due once the surge's minimum count (GCC_ALERT_SURGE_MIN_COUNT, default 5) is reached.
    return Planted("surge", tuple(ids), times[0], times[min(min_count, n) - 1], grid_id)


def plant_recurring(session: Session, grid_id: int, last: datetime, *, code: str = "0301") -> Planted:
    """One spot reported and closed three times in four weeks (each time back about a week after
    closing), and reported once more at `last`."""
    lon, lat = _point(session, grid_id)
    lon, lat = _offset(lon, lat, 60, -40)
    ids = []
    for k, days in enumerate((27, 18, 9)):
        at = last - timedelta(days=days)
        t = _report(session, code, *_offset(lon, lat, 3 * k, 2 * k), at, "patrol", "路面坑洼，已多次修补")
        _close(session, t.id, at, 30)
        ids.append(t.id)
    ids.append(_report(session, code, *_offset(lon, lat, 4, -3), last, "resident", "同一处路面又坏了").id)
    return Planted("recurring", tuple(ids), last - timedelta(days=27), last, grid_id)


def plant_device(session: Session, grid_id: int, last: datetime, *, device: str = "PM25-DEMO-01") -> Planted:
    """A PM2.5 sensor whose alarm comes back after each closing: alarms 48 h and 24 h before
    `last` (each ticket closed within 6 h) and at `last`."""
    lon, lat = _point(session, grid_id)
    lon, lat = _offset(lon, lat, -50, 30)
    ids = []
    for hours in (48, 24, 0):
        at = last - timedelta(hours=hours)
        t = _report(session, "0601", lon, lat, at, "iot", f"设备 {device} PM2.5 超标告警")
        session.add(IotAlarm(device_id=device, alarm_type="pm25", ticket_id=t.id, at=at, repeat=False))
        if hours:
            _close(session, t.id, at, 6)
        ids.append(t.id)
    state = session.get(IotAlarmState, (device, "pm25"))
    if state is None:
        session.add(IotAlarmState(device_id=device, alarm_type="pm25", ticket_id=ids[-1], first_at=last, last_at=last))
    else:
        state.ticket_id, state.first_at, state.last_at, state.alarms = ids[-1], last, last, 1
    session.flush()
    return Planted("device", tuple(ids), last - timedelta(hours=48), last, grid_id)


def plant(session: Session, now: datetime | None = None) -> list[Planted]:
    """The demo's three incidents, in three different grids, all within the last few hours."""
    now = now or utcnow()
    grids = list(session.scalars(select(Region.id).where(Region.level == "grid").order_by(Region.id)))
    if len(grids) < 3:
        return []
    pick = [grids[len(grids) // 5], grids[len(grids) // 2], grids[(4 * len(grids)) // 5]]
    return [
        plant_burst(session, pick[0], now - timedelta(minutes=20)),
        plant_recurring(session, pick[1], now - timedelta(hours=1)),
        plant_device(session, pick[2], now - timedelta(minutes=40)),
    ]
