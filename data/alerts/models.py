"""Tables of the early warning (预警, issue #11): alerts, the tickets that are their evidence, and
the log of IoT alarms (which device raised which ticket, and when) the device detector reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from data.models import Base, BigId

ALERT_KINDS = ("surge", "cluster", "recurring", "device")
ALERT_STATES = ("new", "acknowledged", "resolved", "dismissed")
OPEN_ALERT_STATES = ("new", "acknowledged")


class Alert(Base):
    """One alert. `dedup_key` names what it is about (kind, area, category, device); while an alert
    with that key is open (new or acknowledged) new evidence updates it instead of adding a row.
    `region_id` is the area it is about (a grid or a community); grid/community/street are where
    it lies, for scoping exactly as tickets are scoped (data.alerts.store.alert_clause)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(160))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    device_id: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float, default=0.0)  # -log10 p (surge) or a count-based strength
    evidence_count: Mapped[int] = mapped_column(Integer, default=0)
    lon: Mapped[float | None] = mapped_column(Float)  # the evidence's centre, for the map's marker
    lat: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict] = mapped_column(default=dict)  # the detector's numbers (observed, expected, p...)
    first_seen: Mapped[datetime]  # the earliest evidence
    last_seen: Mapped[datetime]  # the newest evidence
    created_at: Mapped[datetime]  # when the alert was raised
    updated_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="new")
    reason: Mapped[str | None] = mapped_column(Text)
    state_changed_at: Mapped[datetime | None]
    state_changed_by: Mapped[str | None] = mapped_column(String(64))
    parent_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))  # after "merge"

    __table_args__ = (
        Index("ix_alerts_dedup_key", "dedup_key"),
        Index("ix_alerts_state_updated", "state", "updated_at"),
        Index("ix_alerts_grid", "grid_id"),
        Index("ix_alerts_community", "community_id"),
    )


class AlertEvidence(Base):
    __tablename__ = "alert_evidence"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)

    __table_args__ = (Index("ix_alert_evidence_ticket", "ticket_id"),)


class IotAlarm(Base):
    """Every IoT alarm the intake took (data.intake.iot): the device, the type, the ticket it
    opened or was folded into, and when. `repeat`: folded into an open ticket."""

    __tablename__ = "iot_alarms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    alarm_type: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    repeat: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (Index("ix_iot_alarms_device_at", "device_id", "alarm_type", "at"),)
