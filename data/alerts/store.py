"""Findings become alerts; alerts change state. The only writer of data.alerts.models.Alert.

- `upsert` turns a detector's finding into an alert: while an alert of the same thing is open
  (new or acknowledged) the finding updates it (new evidence linked, score and last_seen moved),
  so a growing surge stays one row; after it was resolved or dismissed, only enough *new*
  evidence raises a new one.
- `alert_clause(viewer)` limits alerts to the viewer's area exactly as tickets are limited
  (data.access): by the grid, community and street the alert lies in.
- `change_state` (acknowledge, resolve, dismiss) and `merge` (a cluster's reports become
  duplicates of one parent order, through data.workflow) are for dispatchers and supervisors
  within their area (and admins), audited in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from data import audit, workflow
from data.access import AccessDenied, NotVisible, Viewer, ticket_clause
from data.alerts.detect import Finding
from data.alerts.models import OPEN_ALERT_STATES, Alert, AlertEvidence
from data.clock import utcnow
from data.errors import DomainError
from data.models import Region, Ticket

ACTING_ROLES = ("dispatcher", "supervisor", "admin", "system")

# action: (from states, to state)
TRANSITIONS = {
    "acknowledge": (("new",), "acknowledged"),
    "resolve": (OPEN_ALERT_STATES, "resolved"),
    "dismiss": (OPEN_ALERT_STATES, "dismissed"),
}
NEEDS_REASON = ("resolve", "dismiss")
MERGEABLE = ("reported", "accepted")  # statuses data.workflow's mark_duplicate takes


@dataclass(frozen=True)
class Place:
    """Where an alert lies (from its evidence): its area and the grid/community/street chain."""

    region_id: int | None
    grid_id: int | None
    community_id: int | None
    street_id: int | None
    lon: float | None
    lat: float | None


def evidence_of(session: Session, alert_id: int) -> set[int]:
    return set(session.scalars(select(AlertEvidence.ticket_id).where(AlertEvidence.alert_id == alert_id)))


def _matching(session: Session, finding: Finding, states, place: Place | None = None, near_m=None) -> Alert | None:
    """The newest alert in `states` about the same thing: the same key, or (cluster, recurring:
    their key names their first report, which a growing group may change) shared evidence, or
    the same place (within `near_m` of its marker: the same spot seen again)."""
    stmt = select(Alert).where(Alert.dedup_key == finding.key, Alert.state.in_(states))
    found = session.scalars(stmt.order_by(Alert.id.desc()).limit(1)).first()
    if found is not None or finding.kind not in ("cluster", "recurring"):
        return found
    if near_m and place is not None and place.lon is not None:
        from data.duplicates import distance_m

        dlat = near_m / 111_195.0
        nearby = session.scalars(
            select(Alert)
            .where(
                Alert.kind == finding.kind,
                Alert.category_id == finding.category_id,
                Alert.state.in_(states),
                Alert.lat.between(place.lat - dlat, place.lat + dlat),
            )
            .order_by(Alert.id.desc())
        ).all()
        for alert in nearby:
            if alert.lon is not None and distance_m(place.lon, place.lat, alert.lon, alert.lat) <= near_m:
                return alert
    shared = (
        select(Alert)
        .join(AlertEvidence, AlertEvidence.alert_id == Alert.id)
        .where(
            Alert.kind == finding.kind,
            Alert.category_id == finding.category_id,
            Alert.state.in_(states),
            AlertEvidence.ticket_id.in_(finding.evidence),
        )
        .order_by(Alert.id.desc())
        .limit(1)
    )
    return session.scalars(shared).first()


def covered(session: Session, kinds: tuple[str, ...], category_id: int | None, evidence, share: float = 0.8) -> bool:
    """Whether an alert of `kinds` and this category (open, or closed by someone who judged those
    reports) already holds `share` of the evidence (a cluster inside a grid's surge, a community
    surge made by one grid's: one alert is enough)."""
    if not evidence:
        return False
    rows = session.execute(
        select(AlertEvidence.alert_id, AlertEvidence.ticket_id)
        .join(Alert, Alert.id == AlertEvidence.alert_id)
        .where(
            Alert.kind.in_(kinds),
            Alert.category_id == category_id,
            AlertEvidence.ticket_id.in_(list(evidence)),
        )
    ).all()
    per_alert: dict[int, int] = {}
    for alert_id, _ in rows:
        per_alert[alert_id] = per_alert.get(alert_id, 0) + 1
    return any(n >= share * len(evidence) for n in per_alert.values())


def upsert(
    session: Session, finding: Finding, place: Place, now: datetime, *, min_new: int = 1, near_m: float | None = None
) -> str:
    """Record a finding: "raised" (a new alert), "grown" (an open one took new evidence),
    "same" (nothing new) or "closed" (its alert was resolved or dismissed and fewer than
    `min_new` reports arrived since)."""
    alert = _matching(session, finding, OPEN_ALERT_STATES, place, near_m)
    if alert is not None:
        have = evidence_of(session, alert.id)
        new = [t for t in finding.evidence if t not in have]
        if not new:
            return "same"
        for t in new:
            session.add(AlertEvidence(alert_id=alert.id, ticket_id=t))
        alert.evidence_count = len(have) + len(new)
        alert.score = max(alert.score, finding.score)
        alert.first_seen = min(alert.first_seen, finding.first_seen)
        alert.last_seen = max(alert.last_seen, finding.last_seen)
        alert.detail = finding.detail
        alert.lon, alert.lat = place.lon, place.lat
        alert.updated_at = now
        session.flush()
        return "grown"
    before = _matching(session, finding, ("resolved", "dismissed"), place, near_m)
    if before is not None:
        have = evidence_of(session, before.id)
        if sum(1 for t in finding.evidence if t not in have) < min_new:
            return "closed"
    alert = Alert(
        kind=finding.kind,
        dedup_key=finding.key,
        region_id=place.region_id,
        grid_id=place.grid_id,
        community_id=place.community_id,
        street_id=place.street_id,
        category_id=finding.category_id,
        device_id=finding.device_id,
        score=finding.score,
        evidence_count=len(finding.evidence),
        lon=place.lon,
        lat=place.lat,
        detail=finding.detail,
        first_seen=finding.first_seen,
        last_seen=finding.last_seen,
        created_at=now,
        updated_at=now,
        state="new",
    )
    session.add(alert)
    session.flush()
    for t in finding.evidence:
        session.add(AlertEvidence(alert_id=alert.id, ticket_id=t))
    session.flush()
    return "raised"


# ----------------------------------------------------------------------------------------------
# Scope


def alert_clause(viewer: Viewer) -> ColumnElement[bool]:
    """A WHERE clause limiting `alerts` to the viewer's area (as data.access.ticket_clause does for
    tickets). Alerts are aggregates: the wall (kiosk) and staff with `aggregates` see them."""
    if not viewer.can("aggregates"):
        return false()
    if viewer.region_id is None:
        return true() if viewer.role in ("admin", "dispatcher", "system", "kiosk") else false()
    r = viewer.region_id
    is_district = exists().where(Region.id == r, Region.level == "district")
    return or_(Alert.grid_id == r, Alert.community_id == r, Alert.street_id == r, Alert.region_id == r, is_district)


def load_alert(session: Session, viewer: Viewer, alert_id: int, *, for_update: bool = False) -> Alert:
    stmt = select(Alert).where(Alert.id == alert_id, alert_clause(viewer))
    if for_update:
        stmt = stmt.with_for_update(of=Alert)
    alert = session.scalars(stmt).first()
    if alert is None:
        raise NotVisible(f"alert {alert_id} not found or not visible")
    return alert


def may_act(viewer: Viewer) -> bool:
    return viewer.role in ACTING_ROLES and viewer.can("desk")


def allowed_actions(viewer: Viewer, alert: Alert) -> list[str]:
    """The state changes this viewer may make on this alert now (for buttons; the change checks again)."""
    if not may_act(viewer):
        return []
    out = [a for a, (sources, _) in TRANSITIONS.items() if alert.state in sources]
    if alert.state in OPEN_ALERT_STATES and alert.evidence_count > 1 and alert.parent_ticket_id is None:
        out.append("merge")
    return out


def _require_actor(viewer: Viewer) -> None:
    if not may_act(viewer):
        raise AccessDenied(f"role {viewer.role} may not change alerts")


def change_state(
    session: Session, viewer: Viewer, alert_id: int, action: str, reason: str | None = None, *, now=None
) -> Alert:
    """Acknowledge, resolve or dismiss an alert, as `viewer` (dispatchers and supervisors within
    their area, admins). Resolving and dismissing need a reason. Audited."""
    _require_actor(viewer)
    if action == "merge":
        return merge(session, viewer, alert_id, note=reason, now=now)
    if action not in TRANSITIONS:
        raise DomainError("unknown_action", f"unknown alert action {action!r}")
    reason = (reason or "").strip() or None
    if action in NEEDS_REASON and not reason:
        raise DomainError("reason_required", f"{action} needs a reason")
    alert = load_alert(session, viewer, alert_id, for_update=True)
    sources, target = TRANSITIONS[action]
    if alert.state not in sources:
        raise DomainError("invalid_state", f"cannot {action} an alert that is {alert.state}", kind="conflict")
    return _set_state(session, viewer, alert, action, target, reason, now or utcnow())


def _set_state(session, viewer, alert: Alert, action: str, target: str, reason, now, extra=None) -> Alert:
    previous = alert.state
    alert.state = target
    if reason:
        alert.reason = reason
    alert.state_changed_at = now
    alert.state_changed_by = (viewer.name or viewer.role)[:64]
    alert.updated_at = now
    audit.record(
        session,
        "alert",
        viewer,
        target_type="alert",
        target_id=alert.id,
        at=now,
        detail={"action": action, "from": previous, "to": target, "reason": reason, **(extra or {})},
    )
    session.flush()
    return alert


def merge(
    session: Session, viewer: Viewer, alert_id: int, *, parent_id: int | None = None, note=None, now=None
) -> Alert:
    """Turn an alert's reports into one parent order: every other evidence ticket still waiting
    (reported or accepted) is marked a duplicate of the parent (data.workflow `mark_duplicate`,
    each one its own audited event), so the field team goes once. The parent is the given ticket
    or the earliest evidence ticket not itself a duplicate. The alert is acknowledged."""
    _require_actor(viewer)
    alert = load_alert(session, viewer, alert_id, for_update=True)
    if alert.state not in OPEN_ALERT_STATES:
        raise DomainError("invalid_state", f"cannot merge an alert that is {alert.state}", kind="conflict")
    rows = session.execute(
        select(Ticket.id, Ticket.status, Ticket.created_at)
        .join(AlertEvidence, AlertEvidence.ticket_id == Ticket.id)
        .where(AlertEvidence.alert_id == alert.id, ticket_clause(viewer))
        .order_by(Ticket.created_at, Ticket.id)
    ).all()
    ids = [r.id for r in rows]
    if parent_id is None:
        candidates = [r.id for r in rows if r.status not in ("duplicate", "rejected")]
        if not candidates:
            raise DomainError("nothing_to_merge", "no evidence ticket can be the parent order", kind="conflict")
        parent_id = candidates[0]
    elif parent_id not in ids:
        raise DomainError("bad_parent", f"ticket {parent_id} is not evidence of alert {alert.id}")
    at = now or utcnow()
    merged, skipped = [], []
    for r in rows:
        if r.id == parent_id:
            continue
        if r.status not in MERGEABLE:
            skipped.append(r.id)
            continue
        workflow.apply(
            session,
            viewer,
            r.id,
            workflow.ActionInput("mark_duplicate", duplicate_of=parent_id, note=note or f"预警 {alert.id} 合并", at=at),
        )
        merged.append(r.id)
    alert.parent_ticket_id = parent_id
    target = "acknowledged" if alert.state == "new" else alert.state
    return _set_state(
        session, viewer, alert, "merge", target, None, at, {"parent": parent_id, "merged": merged, "skipped": skipped}
    )
