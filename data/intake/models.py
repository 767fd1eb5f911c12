"""What callers send the intake: the pydantic models of a report, an action and a rating. They
validate every way in (API, Open311, phone pages) and write the OpenAPI document's schemas."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from data.demo.reference import SOURCE_LABELS
from data.workflow import TRANSITIONS

SOURCES = tuple(SOURCE_LABELS)
COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")
# Text a person typed: any character but control characters (NUL breaks PostgreSQL; the rest
# breaks displays and logs): refused with a 422 naming the field. Also written into the OpenAPI
# document as the fields' pattern. Multi-line text (TEXT) keeps \t, \n and \r (\r\n and \r are
# stored as \n); a single line (LINE) keeps none.
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
MAX_ID = 2**31 - 1


def without_format_characters(value: str | None) -> str | None:
    """Drop invisible format characters (Unicode category Cf: U+202E right-to-left override, zero
    widths, BOM, ...): they can make a stored name or address display as something else. Line
    ends become \n. Control characters (Cc) never get here: the patterns refuse them."""
    if value is None:
        return None
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if value.isascii():
        return value
    return "".join(c for c in value if unicodedata.category(c) != "Cf").strip()


def typed_text(max_length: int, *, multi_line: bool) -> type[str]:
    """A str field of typed text: control characters refused, format characters dropped."""
    pattern = TEXT if multi_line else LINE
    return Annotated[
        str, StringConstraints(max_length=max_length, pattern=pattern), AfterValidator(without_format_characters)
    ]


class Report(BaseModel):
    """A new report (上报). Either `category` or, for an IoT alarm, `alarm_type` names what it is."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="Report")

    category: str | None = Field(
        None,
        pattern=r"^[0-9A-Za-z_.-]{1,32}$",
        description="Sub-category (小类) code: see GET /api/v1/categories.",
        examples=["0101"],
    )
    description: typed_text(2000, multi_line=True) = Field("", description="What is wrong, in the reporter's words.")
    lon: float | None = Field(
        None, ge=-180, le=180, allow_inf_nan=False, description="Longitude in `coord_system`.", examples=[115.41]
    )
    lat: float | None = Field(
        None, ge=-90, le=90, allow_inf_nan=False, description="Latitude in `coord_system`.", examples=[25.96]
    )
    coord_system: Literal["wgs84", "gcj02", "bd09"] = Field(
        "wgs84", description="wgs84 (GPS), gcj02 (AMap/Tencent/WeChat), bd09 (Baidu); stored as WGS84."
    )
    address: typed_text(255, multi_line=False) | None = Field(None, description="Address as the reporter gave it.")
    source: Literal["resident", "patrol", "hotline", "iot", "leader", "import"] | None = Field(
        None, description="Channel (渠道); default: the API key's source."
    )
    priority: int = Field(2, ge=1, le=3, description="1 urgent, 2 normal, 3 low.")
    reporter_name: typed_text(64, multi_line=False) | None = None
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
    note: typed_text(2000, multi_line=True) | None = Field(None, description="Reason, result or comment text.")
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
    comment: typed_text(1000, multi_line=True) | None = None
    reopen: bool = Field(False, description="Ask for the ticket to be handled again (unsatisfied only).")
    token: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{8,64}$", description="The ticket's public token: rate as its resident."
    )

    @model_validator(mode="after")
    def _reopen_only_unsatisfied(self):
        if self.reopen and self.rating != "unsatisfied":
            raise ValueError("reopen is possible only with rating unsatisfied (不满意)")
        return self
