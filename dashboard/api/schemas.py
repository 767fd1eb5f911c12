"""What the API answers: pydantic models (they write the OpenAPI document's response schemas) and
the mappers that fill them from data.read.ticket_records.TicketRecord — personal data as the
viewer may see it (presented by the read layer), no staff names or notes in the public (resident)
view."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from dashboard.labels import action_label, event_note, rating_label, source_label, status_label
from data import workflow
from data.access import Viewer
from data.clock import UTC
from data.read.directory import CategoryInfo, RegionInfo
from data.read.directory import categories as directory_categories
from data.read.ticket_records import TicketRecord

STATUSES = tuple(workflow.STATUS_LABELS)
_ONE_STATUS = "(" + "|".join(STATUSES) + ")"
MAX_ID = 2**63 - 1
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$")


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(Out):
    """Every 4xx answer."""

    error: str = Field(description="Machine-readable code, e.g. invalid_request, api_key_required.")
    detail: Any = Field(description="What is wrong: a sentence, or a list of field errors.")


class CategoryOut(Out):
    code: str
    name: str
    group_code: str
    group_name: str
    kind: str = Field(description="component (部件) or event (事件)")
    property_matter: bool
    response_hours: float
    handling_hours: float


class RegionOut(Out):
    id: int
    code: str
    name: str


class PhotoOut(Out):
    ref: str
    url: str
    thumb_url: str


class EventOut(Out):
    id: int
    at: datetime
    action: str
    action_label: str
    from_status: str | None
    to_status: str | None
    actor_role: str
    actor_name: str | None
    note: str | None
    photos: list[PhotoOut]


class DuplicateOut(Out):
    ticket_id: int
    distance_m: float


class TicketOut(Out):
    id: int
    status: str
    status_label: str
    open: bool
    source: str
    source_label: str
    category: CategoryOut
    priority: int
    description: str
    address: str | None
    lon: float | None
    lat: float | None
    location_match: str
    grid: RegionOut | None
    community: RegionOut | None
    street: RegionOut | None
    reporter_name: str | None = Field(description="Masked (张*) except for system keys (data.privacy).")
    reporter_phone: str | None = Field(description="Masked (138****5678) except for system keys (data.privacy).")
    photos: list[PhotoOut]
    assignee_staff_id: int | None
    assignee_org_id: int | None
    escalation_level: int
    overdue: bool
    rework_count: int
    duplicate_of: int | None
    duplicate_candidates: list[DuplicateOut]
    rating: str | None
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None
    dispatched_at: datetime | None
    responded_at: datetime | None
    handled_at: datetime | None
    closed_at: datetime | None
    response_due_at: datetime | None
    handle_due_at: datetime | None
    system: str | None = Field(description="The system an imported ticket came from (null: made here).")
    external_id: str | None = Field(description="The id in that system (or the API caller's own id).")
    source_status: str | None = Field(description="An imported ticket's status word as its system gave it.")
    data_quality: list[str] = Field(
        description="What was odd in the imported record: time_order, closed_without_time, unknown_status, "
        "unreadable_time, created_in_future, location_missing, location_outside (docs/import.md)."
    )
    allowed_actions: list[str] = Field(description="Actions this client may perform now.")


class TicketDetailOut(TicketOut):
    history: list[EventOut]


class TicketPageOut(Out):
    items: list[TicketOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class TimelineOut(Out):
    at: datetime
    action: str
    label: str
    status: str | None
    status_label: str | None
    photos: list[PhotoOut]


class PublicStatusOut(Out):
    """A ticket as its reporter sees it (the /t/<token> page): no staff names, no notes."""

    ticket_id: int
    token: str
    status: str
    status_label: str
    open: bool
    category: str
    group: str
    description: str
    address: str | None
    created_at: datetime
    updated_at: datetime
    expected_at: datetime | None = Field(description="The handling deadline, once dispatched.")
    photos: list[PhotoOut]
    timeline: list[TimelineOut]
    rating: str | None
    rating_label: str | None
    can_rate: bool
    can_reopen: bool


class SubmittedOut(Out):
    ticket_id: int
    token: str = Field(description="The ticket's public token: keep it to follow and rate the ticket.")
    status_url: str = Field(description="The public status page (/t/<token>).")
    created: bool = Field(description="False when an IoT alarm was added to its open ticket, or on a replay.")
    repeat_alarm: bool
    replayed: bool = Field(description="True when this answers a repeated Idempotency-Key.")
    duplicates: list[DuplicateOut] = Field(description="Open tickets of the same category close by (suggested).")
    notices: list[str]
    ticket: PublicStatusOut


class ActionOut(Out):
    ticket_id: int
    event_id: int | None
    status: str
    status_label: str
    replayed: bool


class TicketQuery(BaseModel):
    """Filters of GET /api/v1/tickets (newest first)."""

    model_config = ConfigDict(extra="forbid", title="TicketQuery")

    status: str | None = Field(
        None,
        pattern=f"^{_ONE_STATUS}(,{_ONE_STATUS}){{0,9}}$",
        description="Comma-separated statuses, e.g. reported,accepted.",
    )
    open: bool | None = Field(None, description="Only open (true) or only finished (false) tickets.")
    category: str | None = Field(None, pattern=r"^[0-9A-Za-z_.-]{1,32}$", description="Sub-category code.")
    source: Literal["resident", "patrol", "hotline", "iot", "leader", "import"] | None = Field(
        None, description="Channel (渠道)."
    )
    grid: str | None = Field(None, pattern=r"^[0-9A-Za-z_-]{1,32}$", description="Grid code.")
    created_after: AwareDatetime | None = None
    created_before: AwareDatetime | None = None
    updated_after: AwareDatetime | None = None
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, pattern=r"^[0-9]{1,19}$", description="next_cursor of the previous page.")

    @field_validator("created_after", "created_before", "updated_after", mode="before")
    @classmethod
    def _rfc3339_text(cls, value):
        # A query string is text: only an RFC 3339 date-time, not pydantic's lax unix numbers.
        if isinstance(value, str) and not RFC3339.match(value):
            raise ValueError("expected an RFC 3339 date-time such as 2026-11-23T08:00:00+08:00")
        return value

    @field_validator("open", mode="before")
    @classmethod
    def _true_or_false(cls, value):
        if isinstance(value, str) and value not in ("true", "false"):
            raise ValueError("expected true or false")
        return value

    @field_validator("created_after", "created_before", "updated_after")
    @classmethod
    def _representable(cls, value):
        if value is not None:
            try:
                value.astimezone(UTC)
            except OverflowError:
                raise ValueError("date out of range") from None
        return value


# ----------------------------------------------------------------------------------------------
# Mappers: data.read.ticket_records.TicketRecord (already presented for the viewer) → answers.


def photo_out(ref: str, *, ticket_id: int | None = None, token: str | None = None) -> PhotoOut:
    query = f"t={quote(token)}" if token else f"ticket={ticket_id}"
    url = f"/photos/{quote(ref)}?{query}"
    return PhotoOut(ref=ref, url=url, thumb_url=url + "&thumb=1")


def category_out(category: CategoryInfo, group: CategoryInfo | None) -> CategoryOut:
    return CategoryOut(
        code=category.code,
        name=category.name,
        group_code=group.code if group else "",
        group_name=group.name if group else "",
        kind=category.kind,
        property_matter=category.property_matter,
        response_hours=category.response_hours,
        handling_hours=category.handling_hours,
    )


def categories(session: Session) -> list[CategoryOut]:
    cats = directory_categories(session)
    subs = sorted((c for c in cats.values() if c.parent_id is not None), key=lambda c: c.code)
    return [category_out(c, cats.get(c.parent_id)) for c in subs]


def region_out(region: RegionInfo | None) -> RegionOut | None:
    return RegionOut(id=region.id, code=region.code, name=region.name) if region else None


def ticket_out(viewer: Viewer, t: TicketRecord, candidates: list[dict] | None = None) -> TicketOut | TicketDetailOut:
    """A ticket for an API client; with its history when the record carries events."""
    fields = dict(
        id=t.id,
        status=t.status,
        status_label=status_label(t.status),
        open=t.is_open,
        source=t.source,
        source_label=source_label(t.source),
        category=category_out(t.category, t.group),
        priority=t.priority,
        description=t.description,
        address=t.reporter.address,
        lon=t.lon,
        lat=t.lat,
        location_match=t.location_match,
        grid=region_out(t.grid),
        community=region_out(t.community),
        street=region_out(t.street),
        reporter_name=t.reporter.name,
        reporter_phone=t.reporter.phone,
        photos=[photo_out(r, ticket_id=t.id) for r in t.photos],
        assignee_staff_id=t.assignee_staff_id,
        assignee_org_id=t.assignee_org_id,
        escalation_level=t.escalation_level,
        overdue=t.overdue,
        rework_count=t.rework_count,
        duplicate_of=t.duplicate_of_id,
        duplicate_candidates=[
            DuplicateOut(ticket_id=d["ticket_id"], distance_m=d["distance_m"]) for d in candidates or []
        ],
        rating=t.rating,
        created_at=t.created_at,
        updated_at=t.updated_at,
        accepted_at=t.accepted_at,
        dispatched_at=t.dispatched_at,
        responded_at=t.responded_at,
        handled_at=t.handled_at,
        closed_at=t.closed_at,
        response_due_at=t.response_due_at,
        handle_due_at=t.handle_due_at,
        system=t.system,
        external_id=t.external_id,
        source_status=t.source_status,
        data_quality=list(t.data_quality),
        allowed_actions=workflow.allowed_actions(viewer, t),
    )
    if t.events is None:
        return TicketOut(**fields)
    history = [
        EventOut(
            id=e.id,
            at=e.at,
            action=e.action,
            action_label=action_label(e.action),
            from_status=e.from_status,
            to_status=e.to_status,
            actor_role=e.actor_role,
            actor_name=e.actor_name,
            note=event_note(e.action, e.note, e.data),
            photos=[photo_out(r, ticket_id=t.id) for r in e.photos],
        )
        for e in t.events
    ]
    return TicketDetailOut(**fields, history=history)


def public_status(t: TicketRecord) -> PublicStatusOut:
    """The reporter's view of a ticket (a record read with detail): status, the timeline of
    actions (labels only: no staff names, no internal notes), photos."""
    resident = Viewer(role="resident", ticket_token=t.public_token)
    allowed = workflow.allowed_actions(resident, t)
    timeline = [
        TimelineOut(
            at=e.at,
            action=e.action,
            label=action_label(e.action),
            status=e.to_status,
            status_label=status_label(e.to_status) if e.to_status else None,
            photos=[photo_out(r, token=t.public_token) for r in e.photos],
        )
        for e in t.events or ()
        if e.action != "comment"  # comments are internal notes
    ]
    return PublicStatusOut(
        ticket_id=t.id,
        token=t.public_token,
        status=t.status,
        status_label=status_label(t.status),
        open=t.is_open,
        category=t.category.name,
        group=t.group.name if t.group else "",
        description=t.description,
        address=t.reporter.address,
        created_at=t.created_at,
        updated_at=t.updated_at,
        expected_at=t.handle_due_at if t.is_open else None,
        photos=[photo_out(r, token=t.public_token) for r in t.photos],
        timeline=timeline,
        rating=t.rating,
        rating_label=rating_label(t.rating) or None,
        can_rate="rate" in allowed,
        can_reopen="reopen" in allowed,
    )
