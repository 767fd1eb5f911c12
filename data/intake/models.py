"""What callers send the intake: the pydantic models of a report, an action and a rating. They
validate every way in (API, Open311, phone pages) and write the OpenAPI document's schemas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from data.demo.reference import SOURCE_LABELS
from data.workflow import TRANSITIONS

SOURCES = tuple(SOURCE_LABELS)
COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")
# Text a person typed: any character but control characters (NUL breaks PostgreSQL; the rest
# breaks displays and logs). Also written into the OpenAPI document as the fields' pattern.
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
LINE = r"^[^\x00-\x1f\x7f]*$"
MAX_ID = 2**31 - 1


class Report(BaseModel):
    """A new report (上报). Either `category` or, for an IoT alarm, `alarm_type` names what it is."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="Report")

    category: str | None = Field(
        None,
        pattern=r"^[0-9A-Za-z_.-]{1,32}$",
        description="Sub-category (小类) code: see GET /api/v1/categories.",
        examples=["0101"],
    )
    description: str = Field("", max_length=2000, pattern=TEXT, description="What is wrong, in the reporter's words.")
    lon: float | None = Field(
        None, ge=-180, le=180, allow_inf_nan=False, description="Longitude in `coord_system`.", examples=[115.41]
    )
    lat: float | None = Field(
        None, ge=-90, le=90, allow_inf_nan=False, description="Latitude in `coord_system`.", examples=[25.96]
    )
    coord_system: Literal["wgs84", "gcj02", "bd09"] = Field(
        "wgs84", description="wgs84 (GPS), gcj02 (AMap/Tencent/WeChat), bd09 (Baidu); stored as WGS84."
    )
    address: str | None = Field(None, max_length=255, pattern=LINE, description="Address as the reporter gave it.")
    source: Literal["resident", "patrol", "hotline", "iot", "leader", "import"] | None = Field(
        None, description="Channel (渠道); default: the API key's source."
    )
    priority: int = Field(2, ge=1, le=3, description="1 urgent, 2 normal, 3 low.")
    reporter_name: str | None = Field(None, max_length=64, pattern=LINE)
    reporter_phone: str | None = Field(None, pattern=r"^\+?[0-9][0-9 -]{2,19}$")
    external_id: str | None = Field(
        None, pattern=r"^[\x21-\x7e]{1,128}$", description="The caller's own id (unique per source)."
    )
    device_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="IoT device (source iot).")
    alarm_type: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="IoT alarm type.")

    @model_validator(mode="after")
    def _point_is_whole(self):
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        return self


class Action(BaseModel):
    """A state transition or an update (`comment`) on a ticket, checked by the state machine."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="Action")

    action: Literal[tuple(TRANSITIONS)] = Field(  # type: ignore[valid-type]
        description="Workflow action, e.g. accept, dispatch, respond, handle, verify_close, comment, mark_duplicate."
    )
    note: str | None = Field(None, max_length=2000, pattern=TEXT, description="Reason, result or comment text.")
    assignee_staff_id: int | None = Field(None, ge=1, le=MAX_ID)
    assignee_org_id: int | None = Field(None, ge=1, le=MAX_ID)
    duplicate_of: int | None = Field(None, ge=1, le=2**63 - 1, description="The original ticket (mark_duplicate).")
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False, description="New point (relocate).")
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    coord_system: Literal["wgs84", "gcj02", "bd09"] = "wgs84"


class RatingIn(BaseModel):
    """The resident's evaluation of a closed ticket; `reopen` (only with unsatisfied) sends it back."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="Rating")

    rating: Literal["satisfied", "basic", "unsatisfied"] = Field(description="满意 / 基本满意 / 不满意")
    comment: str | None = Field(None, max_length=1000, pattern=TEXT)
    reopen: bool = Field(False, description="Ask for the ticket to be handled again (unsatisfied only).")
    token: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{8,64}$", description="The ticket's public token: rate as its resident."
    )

    @model_validator(mode="after")
    def _reopen_only_unsatisfied(self):
        if self.reopen and self.rating != "unsatisfied":
            raise ValueError("reopen is possible only with rating unsatisfied (不满意)")
        return self
