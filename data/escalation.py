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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from data import audit
from data.access import Viewer
from data.clock import utcnow
from data.models import ESCALATION_LEVELS, WORKING_STATUSES, Escalation, Ticket, TicketEvent


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
    """Flag and escalate everything whose deadline has passed at `now`."""
    now = now or utcnow()
    result = SweepResult()
    late_response = select(Ticket.id).where(
        Ticket.status == "dispatched",
        Ticket.response_due_at < now,
        Ticket.escalation_level < 1,
    )
    for ticket_id in session.scalars(late_response).all():
        if _escalate(session, ticket_id, 1, "response_timeout", now, Ticket.status == "dispatched"):
            result.response_escalations += 1
            result.ticket_ids.append(ticket_id)

    late_handling = select(Ticket.id).where(
        Ticket.status.in_(WORKING_STATUSES),
        Ticket.handle_due_at < now,
        Ticket.overdue.is_(False),
    )
    for ticket_id in session.scalars(late_handling).all():
        flagged = session.execute(
            update(Ticket).where(Ticket.id == ticket_id, Ticket.overdue.is_(False)).values(overdue=True, updated_at=now)
        ).rowcount
        if flagged:
            result.overdue_flagged += 1
            if _escalate(session, ticket_id, 2, "handling_overdue", now, Ticket.status.in_(WORKING_STATUSES)):
                result.handling_escalations += 1
                result.ticket_ids.append(ticket_id)
    return result


def _escalate(session: Session, ticket_id: int, level: int, reason: str, now: datetime, still) -> bool:
    changed = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.escalation_level < level, still)
        .values(escalation_level=level, updated_at=now)
    ).rowcount
    if not changed:
        return False
    ticket = session.get(Ticket, ticket_id, populate_existing=True)
    event = TicketEvent(
        ticket_id=ticket_id,
        at=now,
        action="escalate",
        from_status=ticket.status,
        to_status=ticket.status,
        actor_role="system",
        actor_name="系统",
        note=f"{'响应' if reason == 'response_timeout' else '处置'}超时，自动督办至{_level_name(level)}",
        photos=[],
        data={"level": level, "to": ESCALATION_LEVELS[level], "reason": reason},
        grid_id=ticket.grid_id,
    )
    session.add(event)
    session.flush()
    audit.record_ticket_event(session, Viewer.system(), event)  # automatic 督办 is audited too
    session.add(Escalation(ticket_id=ticket_id, level=level, reason=reason, at=now, event_id=event.id))
    session.flush()
    return True


def _level_name(level: int) -> str:
    return {1: "社区", 2: "街道"}[level]
