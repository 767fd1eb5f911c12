"""What the workflow's effects may look up and leave behind, in two flavours with one interface:

- `SessionContext`: the live system, reading through a SQLAlchemy session (data.workflow.apply);
- `MemoryContext`: bulk writers that build rows in memory and insert them at the end (the demo
  history), reading from dictionaries they were given.

Effects call only these methods, so the same effect code serves both: the demo cannot drift from
the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import deadlines
from data.models import Category, GridTeam, Holiday, Organisation, Staff, Ticket, TicketEvent


@dataclass(frozen=True)
class Team:
    grid_worker_id: int | None
    property_company_id: int | None


@dataclass(frozen=True)
class Assignable:
    active: bool
    organisation_id: int | None


class Context:
    """Rows an effect adds besides the ticket and its event (an escalation, a rating) wait in
    `pending` until the writer knows the event they belong to."""

    def __init__(self):
        self.pending: list[tuple[str, dict[str, Any]]] = []

    def escalated(self, ticket_id: int, level: int, reason: str, at: datetime) -> None:
        self.pending.append(("escalation", dict(ticket_id=ticket_id, level=level, reason=reason, at=at)))

    def rated(self, ticket_id: int, value: str, comment: str | None, at: datetime) -> None:
        self.pending.append(("rating", dict(ticket_id=ticket_id, at=at, value=value, comment=comment)))

    def take_pending(self) -> list[tuple[str, dict[str, Any]]]:
        pending, self.pending = self.pending, []
        return pending

    def recorded(self, event: dict) -> None:
        """Called with every event the workflow produced (a bulk context remembers suspensions)."""


class SessionContext(Context):
    def __init__(self, session: Session, tz: str = "Asia/Shanghai"):
        super().__init__()
        self.session, self.tz = session, tz
        self._calendar: deadlines.WorkCalendar | None = None

    def category(self, category_id: int) -> Category:
        return self.session.get(Category, category_id)

    def calendar(self) -> deadlines.WorkCalendar:
        if self._calendar is None:
            days = {h.day: h.is_workday for h in self.session.scalars(select(Holiday))}
            self._calendar = deadlines.WorkCalendar(days=days, tz=self.tz)
        return self._calendar

    def team(self, grid_id: int) -> Team | None:
        row = self.session.get(GridTeam, grid_id)
        return Team(row.grid_worker_id, row.property_company_id) if row is not None else None

    def staff(self, staff_id: int) -> Assignable | None:
        row = self.session.get(Staff, staff_id)
        return Assignable(row.active, row.organisation_id) if row is not None else None

    def organisation_exists(self, organisation_id: int) -> bool:
        return self.session.get(Organisation, organisation_id) is not None

    def ticket_exists(self, ticket_id: int) -> bool:
        return self.session.get(Ticket, ticket_id) is not None

    def last_suspension(self, ticket_id: int) -> tuple[datetime, dict] | None:
        last = self.session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.action == "suspend")
            .order_by(TicketEvent.id.desc())
            .limit(1)
        ).first()
        return (last.at, dict(last.data or {})) if last is not None else None


class MemoryContext(Context):
    """For bulk writers: categories by id, teams by grid id, staff by id, organisation ids, the
    calendar; tickets it has been told exist (`known`)."""

    def __init__(
        self,
        *,
        categories: dict[int, Any],
        teams: dict[int, Team],
        calendar: deadlines.WorkCalendar,
        staff: dict[int, Assignable] | None = None,
        organisations: set[int] | None = None,
    ):
        super().__init__()
        self.categories, self.teams, self._calendar = categories, teams, calendar
        self.staff_rows, self.organisations = staff or {}, organisations or set()
        self.known: set[int] = set()
        self._suspensions: dict[int, tuple[datetime, dict]] = {}

    def category(self, category_id: int):
        return self.categories[category_id]

    def calendar(self) -> deadlines.WorkCalendar:
        return self._calendar

    def team(self, grid_id: int) -> Team | None:
        return self.teams.get(grid_id)

    def staff(self, staff_id: int) -> Assignable | None:
        return self.staff_rows.get(staff_id)

    def organisation_exists(self, organisation_id: int) -> bool:
        return organisation_id in self.organisations

    def ticket_exists(self, ticket_id: int) -> bool:
        return ticket_id in self.known

    def last_suspension(self, ticket_id: int) -> tuple[datetime, dict] | None:
        return self._suspensions.get(ticket_id)

    def recorded(self, event: dict) -> None:
        if event["action"] == "suspend":
            self._suspensions[event["ticket_id"]] = (event["at"], dict(event["data"]))
