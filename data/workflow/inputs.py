"""What every way in hands the workflow: a `Submission` (a new report) or an `ActionInput` (one
action on a ticket). The API, Open311, the phone pages, the desk, the importers, the simulator, the
deadline sweep and the demo history all build one of these; nothing passes a workflow value by
position."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from data.clock import utcnow
from data.placement import UNPLACED, Placement


@dataclass(frozen=True)
class Submission:
    """A new report (上报): what it is, where, and who reported it. `placement` is where the point
    falls (data.locate); `at` defaults to now."""

    source: str
    category_id: int
    description: str = ""
    lon: float | None = None
    lat: float | None = None
    placement: Placement = UNPLACED
    address: str | None = None
    priority: int = 2
    photos: tuple[str, ...] = ()
    reporter_name: str | None = None
    reporter_phone: str | None = None
    external_id: str | None = None
    at: datetime | None = None

    def __post_init__(self):
        object.__setattr__(self, "photos", tuple(self.photos or ()))


@dataclass(frozen=True)
class ActionInput:
    """One action on a ticket and its inputs. Which fields an action reads is the action's own
    business (data.workflow.effects); `data` carries what only internal callers give (the sweep's
    automatic escalation level and reason, an IoT device's repeated alarm)."""

    action: str
    note: str | None = None
    photos: tuple[str, ...] = ()
    assignee_staff_id: int | None = None
    assignee_org_id: int | None = None
    duplicate_of: int | None = None
    rating: str | None = None
    placement: Placement | None = None
    lon: float | None = None
    lat: float | None = None
    at: datetime | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "photos", tuple(self.photos or ()))

    def timed(self) -> ActionInput:
        """This input with `at` set (now, when it was not given)."""
        return self if self.at is not None else replace(self, at=utcnow())
