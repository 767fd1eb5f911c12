"""Tables of the intake (issue #5): API keys, idempotency records, rate-limit counters, uploaded
photos, duplicate suggestions and the IoT alarm state of each device.

Kept apart from data.models: they belong to the intake, not to the ticket's life cycle.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from data.models import Base, BigId


class ApiKey(Base):
    """A client of the API (the 12345 hotline system, an IoT platform, a mini-program backend).
    Only the SHA-256 of the key is stored; the key itself is printed once when it is created."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to recognise a key in lists
    role: Mapped[str] = mapped_column(String(32))  # a data.access role: resident | dispatcher | system
    source: Mapped[str] = mapped_column(String(32))  # default ticket source of its reports
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """One `Idempotency-Key` of one client: the fingerprint of the request it came with and what
    that request produced. The unique (scope, key) pair is what makes 50 concurrent identical
    submissions create one ticket: the first insert wins, the others wait for it and replay."""

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))  # the client: "key:<api key id>", "form:report", ...
    key: Mapped[str] = mapped_column(String(255))
    operation: Mapped[str] = mapped_column(String(32))  # report | action | rating
    fingerprint: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),)


class RateCounter(Base):
    """A fixed-window counter shared by every process: (bucket, window start) → hits."""

    __tablename__ = "rate_counters"

    bucket: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch seconds
    hits: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_rate_counters_window", "window_start"),)


class UploadedPhoto(Base):
    """A photo decoded, cleaned and stored by data.photos; `ref` is its path under <instance>/photos.
    The ticket it belongs to is what /photos/<ref> checks the viewer against."""

    __tablename__ = "uploaded_photos"

    ref: Mapped[str] = mapped_column(String(128), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))  # report | result
    sha256: Mapped[str] = mapped_column(String(64))  # of the stored (cleaned) file
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class DuplicateSuggestion(Base):
    """An open ticket of the same category close by in space and time, suggested as the original
    of a new report. The desk shows them; linking is workflow action `mark_duplicate`."""

    __tablename__ = "duplicate_suggestions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    original_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    distance_m: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("ticket_id", "original_id", name="uq_duplicate_suggestion"),)


class IotAlarmState(Base):
    """The ticket an IoT device's alarm of one type last opened, so repeated alarms within the
    window update that ticket instead of flooding the queue."""

    __tablename__ = "iot_alarm_states"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    alarm_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    alarms: Mapped[int] = mapped_column(Integer, default=1)
