"""What /api/v1/alerts accepts and answers (pydantic; they write the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from dashboard.api.schemas import RFC3339, Out
from data.alerts.models import ALERT_KINDS, ALERT_STATES
from data.alerts.read import AlertRecord
from data.intake.models import TEXT

_STATE = "(" + "|".join(ALERT_STATES) + ")"
_KIND = "(" + "|".join(ALERT_KINDS) + ")"


class AlertQuery(BaseModel):
    """Filters of GET /api/v1/alerts (newest first, by id)."""

    model_config = ConfigDict(extra="forbid", title="AlertQuery")

    state: str | None = Field(
        None, pattern=f"^{_STATE}(,{_STATE}){{0,3}}$", description="Comma-separated states, e.g. new,acknowledged."
    )
    kind: str | None = Field(
        None,
        pattern=f"^{_KIND}(,{_KIND}){{0,3}}$",
        description="Comma-separated kinds: surge, cluster, recurring, device.",
    )
    category: str | None = Field(None, pattern=r"^[0-9A-Za-z_.-]{1,32}$", description="Sub-category code.")
    region: str | None = Field(
        None, pattern=r"^[0-9A-Za-z_-]{1,32}$", description="Alerts lying in this region (code)."
    )
    updated_after: AwareDatetime | None = None
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, pattern=r"^[0-9]{1,19}$", description="next_cursor of the previous page.")

    @field_validator("updated_after", mode="before")
    @classmethod
    def _rfc3339_text(cls, value):
        if isinstance(value, str) and not RFC3339.match(value):
            raise ValueError("expected an RFC 3339 date-time such as 2026-11-23T08:00:00+08:00")
        return value


class AlertChange(BaseModel):
    """A state change: acknowledge; resolve or dismiss (with a reason); merge (the evidence tickets
    still waiting become duplicates of one parent order)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="AlertChange")

    action: Literal["acknowledge", "resolve", "dismiss", "merge"]
    reason: str | None = Field(None, max_length=2000, pattern=TEXT, description="Required to resolve or dismiss.")
    parent_ticket_id: int | None = Field(
        None, ge=1, le=2**63 - 1, description="merge: the parent order (default: the earliest)."
    )


class AlertOut(Out):
    id: int
    kind: str = Field(description="surge, cluster, recurring or device")
    state: str = Field(description="new, acknowledged, resolved or dismissed")
    category: str | None = Field(description="Sub-category code")
    category_name: str | None
    area_level: str | None
    area_code: str | None
    area_name: str | None
    grid_code: str | None
    device_id: str | None
    score: float = Field(description="Strength: -log10 p for a surge, the count of reports or comebacks otherwise")
    evidence_count: int
    evidence: list[int] = Field(description="Evidence ticket ids the client may see")
    first_seen: datetime
    last_seen: datetime
    created_at: datetime
    updated_at: datetime
    reason: str | None
    lon: float | None
    lat: float | None
    detail: dict
    parent_ticket_id: int | None
    actions: list[str] = Field(description="State changes this client may make now")


class AlertPageOut(Out):
    items: list[AlertOut]
    next_cursor: str | None


def alert_out(r: AlertRecord) -> AlertOut:
    return AlertOut(
        id=r.id,
        kind=r.kind,
        state=r.state,
        category=r.category_code,
        category_name=r.category,
        area_level=r.area_level,
        area_code=r.area_code,
        area_name=r.area_name,
        grid_code=r.grid_code,
        device_id=r.device_id,
        score=r.score,
        evidence_count=r.evidence_count,
        evidence=list(r.evidence),
        first_seen=r.first_seen,
        last_seen=r.last_seen,
        created_at=r.created_at,
        updated_at=r.updated_at,
        reason=r.reason,
        lon=r.lon,
        lat=r.lat,
        detail=r.detail,
        parent_ticket_id=r.parent_ticket_id,
        actions=list(r.actions),
    )
