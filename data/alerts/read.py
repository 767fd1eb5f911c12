"""Reading alerts for a viewer: the wall's panel and markers, the desk's queue, /api/v1/alerts.
Always scoped (data.alerts.store.alert_clause); evidence ticket ids only for viewers who may read
tickets, and only the tickets they may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Viewer, ticket_clause
from data.alerts.models import OPEN_ALERT_STATES, Alert, AlertEvidence
from data.alerts.store import alert_clause, allowed_actions
from data.models import Category, Region, Ticket
from data.read.directory import categories, directory

ORDERS = ("newest", "strongest")


@dataclass(frozen=True)
class AlertFilter:
    ids: tuple[int, ...] | None = None
    states: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    category_codes: tuple[str, ...] | None = None
    region_code: str | None = None  # alerts lying in this region (any level)
    updated_after: datetime | None = None
    seen_from: datetime | None = None  # alerts with evidence at or after this moment (last_seen)...
    seen_before: datetime | None = None  # ...and first seen before this one: active in [from, before)
    before_id: int | None = None
    order: str = "newest"  # newest (last evidence) | strongest (score) | id_desc (the API's cursor)
    limit: int = 50


@dataclass(frozen=True)
class AlertRecord:
    id: int
    kind: str
    state: str
    category_code: str | None
    category: str | None
    area_level: str | None
    area_code: str | None
    area_name: str | None
    grid_code: str | None
    device_id: str | None
    score: float
    evidence_count: int
    evidence: tuple[int, ...]  # visible evidence ticket ids (empty without the `tickets` permission)
    first_seen: datetime
    last_seen: datetime
    created_at: datetime
    updated_at: datetime
    reason: str | None
    lon: float | None
    lat: float | None
    detail: dict
    parent_ticket_id: int | None
    actions: tuple[str, ...]

    @property
    def drill_url(self) -> str | None:
        """The area's drill-down page filtered to this alert's evidence."""
        if not self.area_code or self.area_level not in ("grid", "community", "street"):
            return None
        return f"/{self.area_level}/{self.area_code}?alert={self.id}&period=365d"


def _conditions(session: Session, viewer: Viewer, f: AlertFilter) -> list:
    where = [alert_clause(viewer)]
    if f.ids is not None:
        where.append(Alert.id.in_(f.ids))
    if f.states is not None:
        where.append(Alert.state.in_(f.states))
    if f.kinds is not None:
        where.append(Alert.kind.in_(f.kinds))
    if f.category_codes is not None:
        where.append(Alert.category_id.in_(select(Category.id).where(Category.code.in_(f.category_codes))))
    if f.region_code is not None:
        region = session.scalars(select(Region.id).where(Region.code == f.region_code)).first()
        if region is None:
            where.append(Alert.id.is_(None))
        elif directory(session).get(region).level != "district":
            where.append(
                (Alert.grid_id == region)
                | (Alert.community_id == region)
                | (Alert.street_id == region)
                | (Alert.region_id == region)
            )
    if f.updated_after is not None:
        where.append(Alert.updated_at >= f.updated_after)
    if f.seen_from is not None:
        where.append(Alert.last_seen >= f.seen_from)
    if f.seen_before is not None:
        where.append(Alert.first_seen < f.seen_before)
    if f.before_id is not None:
        where.append(Alert.id < f.before_id)
    return where


def alert_records(session: Session, viewer: Viewer, f: AlertFilter) -> list[AlertRecord]:
    order = {
        "newest": (Alert.last_seen.desc(), Alert.id.desc()),
        "strongest": (Alert.score.desc(), Alert.last_seen.desc(), Alert.id.desc()),
        "id_desc": (Alert.id.desc(),),
    }[f.order]
    rows = list(session.scalars(select(Alert).where(*_conditions(session, viewer, f)).order_by(*order).limit(f.limit)))
    evidence: dict[int, list[int]] = {}
    if rows and viewer.can("tickets"):
        for alert_id, ticket_id in session.execute(
            select(AlertEvidence.alert_id, AlertEvidence.ticket_id)
            .join(Ticket, Ticket.id == AlertEvidence.ticket_id)
            .where(AlertEvidence.alert_id.in_([a.id for a in rows]), ticket_clause(viewer))
            .order_by(AlertEvidence.ticket_id)
        ):
            evidence.setdefault(alert_id, []).append(ticket_id)
    tree, cats = directory(session), categories(session)
    out = []
    for a in rows:
        area = tree.get(a.region_id)
        grid = tree.get(a.grid_id)
        cat = cats.get(a.category_id) if a.category_id else None
        out.append(
            AlertRecord(
                id=a.id,
                kind=a.kind,
                state=a.state,
                category_code=cat.code if cat else None,
                category=cat.name if cat else None,
                area_level=area.level if area else None,
                area_code=area.code if area else None,
                area_name=area.name if area else None,
                grid_code=grid.code if grid else None,
                device_id=a.device_id,
                score=a.score,
                evidence_count=a.evidence_count,
                evidence=tuple(evidence.get(a.id, ())),
                first_seen=a.first_seen,
                last_seen=a.last_seen,
                created_at=a.created_at,
                updated_at=a.updated_at,
                reason=a.reason,
                lon=a.lon,
                lat=a.lat,
                detail=dict(a.detail or {}),
                parent_ticket_id=a.parent_ticket_id,
                actions=tuple(allowed_actions(viewer, a)),
            )
        )
    return out


def open_alerts(session: Session, viewer: Viewer, *, order: str = "newest", limit: int = 8) -> list[AlertRecord]:
    """The wall's panel and markers: open alerts, newest (or strongest) first."""
    return alert_records(session, viewer, AlertFilter(states=OPEN_ALERT_STATES, order=order, limit=limit))


def alerts_active(
    session: Session, viewer: Viewer, start: datetime, end: datetime, *, limit: int = 30
) -> list[AlertRecord]:
    """Alerts with evidence in [start, end), strongest first, in the state they are in now (how
    they ended, for a past week): the weekly report's 本周预警."""
    f = AlertFilter(seen_from=start, seen_before=end, order="strongest", limit=limit)
    return alert_records(session, viewer, f)


def evidence_ids(session: Session, viewer: Viewer, alert_id: int) -> tuple[int, ...] | None:
    """The evidence ticket ids of one alert the viewer may see (None: no such alert for them)."""
    found = alert_records(session, viewer, AlertFilter(ids=(alert_id,), limit=1))
    return found[0].evidence if found else None
