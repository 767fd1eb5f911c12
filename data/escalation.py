"""The deadline sweep: overdue flags and automatic escalation (督办).

- An order dispatched but not responded to (接单) by its response deadline (default 6 hours)
  escalates to the community (level 1).
- An order past its handling deadline is overdue and escalates to the street (level 2).

Each escalation is one `escalations` row, unique per (ticket, level), plus one ticket event, in the
same transaction; the UPDATE only matches tickets still below that level, so a second sweep (or a
second scheduler that somehow ran) escalates nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import workflow
from data.access import Viewer, load_ticket
from data.clock import utcnow
from data.models import WORKING_STATUSES, Ticket
from data.workflow import ActionInput

SYSTEM = Viewer.system()


@dataclass
class SweepResult:
    response_escalations: int = 0
    overdue_flagged: int = 0
    handling_escalations: int = 0
    ticket_ids: list[int] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "escalated_to_community": self.response_escalations,
            "escalated_to_street": self.handling_escalations,
            "newly_overdue": self.overdue_flagged,
        }


def sweep(session: Session, now: datetime | None = None) -> SweepResult:
    """Flag and escalate everything whose deadline has passed at `now`.

    Candidates are found by index; each is then locked (FOR UPDATE; SQLite's writer lock) and
    checked again before the workflow escalates it, so concurrent sweeps escalate each ticket once
    (the unique (ticket, level) index of `escalations` backs that up)."""
    now = now or utcnow()
    result = SweepResult()
    late_response = select(Ticket.id).where(
        Ticket.status == "dispatched",
        Ticket.response_due_at < now,
        Ticket.escalation_level < 1,
    )
    for ticket_id in session.scalars(late_response).all():
        ticket = load_ticket(session, SYSTEM, ticket_id, for_update=True)
        if ticket.status == "dispatched" and ticket.response_due_at < now and ticket.escalation_level < 1:
            _escalate(session, ticket, 1, "response_timeout", now)
            result.response_escalations += 1
            result.ticket_ids.append(ticket_id)

    late_handling = select(Ticket.id).where(
        Ticket.status.in_(WORKING_STATUSES),
        Ticket.handle_due_at < now,
        Ticket.overdue.is_(False),
    )
    for ticket_id in session.scalars(late_handling).all():
        ticket = load_ticket(session, SYSTEM, ticket_id, for_update=True)
        if ticket.overdue or ticket.status not in WORKING_STATUSES or not ticket.handle_due_at < now:
            continue
        ticket.overdue = True
        ticket.updated_at = now
        result.overdue_flagged += 1
        if ticket.escalation_level < 2:
            _escalate(session, ticket, 2, "handling_overdue", now)
            result.handling_escalations += 1
            result.ticket_ids.append(ticket_id)
    return result


def _escalate(session: Session, ticket: Ticket, level: int, reason: str, now: datetime) -> None:
    workflow.apply_to(session, SYSTEM, ticket, ActionInput("escalate", at=now, data={"level": level, "reason": reason}))
