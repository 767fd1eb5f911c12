"""The transition table of the closed loop (GB/T 30428): which action goes from which status to
which, and who may take it. Data plus two checks; data.workflow.step applies it."""

from __future__ import annotations

from dataclasses import dataclass

from data.access import Viewer
from data.errors import WorkflowError
from data.models import ESCALATION_LEVELS, OPEN_STATUSES

STATUS_LABELS = {
    "reported": "待受理",
    "accepted": "已立案",
    "rejected": "已作废",
    "duplicate": "重复件",
    "dispatched": "已派遣",
    "in_progress": "处理中",
    "handled": "待核查",
    "closed": "已结案",
    "rated": "已评价",
    "suspended": "挂账",
}

DESK = ("dispatcher", "supervisor", "admin", "system")
FIELD = ("grid_worker", "grid_head", "property", "department", "system", "admin")


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: tuple[str, ...]
    target: str | None  # None: the status does not change
    roles: tuple[str, ...]
    assignee_only: bool = False  # field roles may act only on orders assigned to them


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("accept", "受理立案", ("reported",), "accepted", DESK),
        Transition("reject", "作废", ("reported",), "rejected", DESK),
        Transition("mark_duplicate", "标记重复", ("reported", "accepted"), "duplicate", DESK),
        Transition("dispatch", "派遣", ("accepted",), "dispatched", DESK),
        Transition("reassign", "改派", ("dispatched", "in_progress"), "dispatched", DESK),
        Transition("respond", "接单", ("dispatched",), "in_progress", FIELD, assignee_only=True),
        Transition("handle", "处理反馈", ("in_progress",), "handled", FIELD, assignee_only=True),
        Transition("verify_close", "核查结案", ("handled",), "closed", DESK),
        Transition("send_back", "返工", ("handled",), "in_progress", DESK),
        Transition("rate", "评价", ("closed",), "rated", ("resident", "dispatcher", "admin", "system")),
        Transition("reopen", "重新办理", ("rated",), "dispatched", ("resident", "dispatcher", "admin", "system")),
        Transition("suspend", "挂账", ("accepted", "dispatched", "in_progress"), "suspended", DESK),
        Transition("resume", "恢复办理", ("suspended",), None, DESK),
        Transition("escalate", "督办", ("accepted", "dispatched", "in_progress", "suspended"), None, DESK),
        Transition(
            "relocate",
            "更正位置",
            ("reported", "accepted", "dispatched", "in_progress", "suspended"),
            None,
            DESK,
        ),
        # A grid redrawn under an open ticket (python app.py import-grids): only the system moves it.
        Transition("regrid", "网格调整", OPEN_STATUSES, None, ("system",)),
        # A newer export of the ticket's own system changed it (python app.py import-tickets):
        # only the system syncs, from any status to what the source says (effects._sync).
        Transition("sync", "同步", tuple(STATUS_LABELS), None, ("system",)),
        Transition(
            "comment",
            "备注",
            ("reported", "accepted", "dispatched", "in_progress", "handled", "suspended", "closed", "rated"),
            None,
            DESK + FIELD,
            assignee_only=True,
        ),
    )
}


def check_transition(status: str, action: str) -> Transition:
    """The transition for `action` from `status`, or WorkflowError."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise WorkflowError("unknown_action", f"unknown action {action!r}")
    if status not in transition.sources:
        raise WorkflowError(
            "invalid_state",
            f"cannot {action} a ticket that is {status} ({STATUS_LABELS.get(status, status)})",
            kind="conflict",
        )
    return transition


def allowed_actions(viewer: Viewer, ticket) -> list[str]:
    """Actions this viewer may perform on this ticket now (for buttons; `apply` checks again)."""
    out = []
    for t in TRANSITIONS.values():
        if ticket.status in t.sources and may(viewer, t, ticket):
            if t.action == "reopen" and ticket.rating != "unsatisfied":
                continue
            if t.action == "escalate" and ticket.escalation_level >= max(ESCALATION_LEVELS):
                continue
            out.append(t.action)
    return out


def may(viewer: Viewer, t: Transition, ticket) -> bool:
    """Whether the viewer's role may take transition `t` on this ticket (its scope was checked when
    the ticket was loaded)."""
    if viewer.role not in t.roles:
        return False
    if t.assignee_only and viewer.role in ("grid_worker", "grid_head", "property", "department"):
        return (viewer.staff_id is not None and viewer.staff_id == ticket.assignee_staff_id) or (
            viewer.organisation_id is not None and viewer.organisation_id == ticket.assignee_org_id
        )
    if viewer.role == "resident":
        return viewer.ticket_token is not None and viewer.ticket_token == ticket.public_token
    return True
