"""Dispatch rules and deadlines: who an order goes to, and when its clocks run out.

Automatic dispatch by grid: the grid's property company for a property matter (when the grid has
one), else the grid worker. The response and handling clocks start at dispatch (data.deadlines).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import deadlines
from data.errors import WorkflowError
from data.models import Category, GridTeam, Holiday, Organisation, Staff, Ticket


def auto_assignee(session: Session, ticket: Ticket) -> tuple[int | None, int | None]:
    """The grid's property company for a property matter (when the grid has one), else the grid
    worker. (None, None) when the ticket has no grid or the grid has no team."""
    if ticket.grid_id is None:
        return None, None
    team = session.get(GridTeam, ticket.grid_id)
    if team is None:
        return None, None
    category = ticket.category or session.get(Category, ticket.category_id)
    if category.property_matter and team.property_company_id:
        return None, team.property_company_id
    return team.grid_worker_id, None


def choose_assignee(session, ticket, staff_id, org_id) -> tuple[int | None, int | None]:
    if staff_id is None and org_id is None:
        staff_id, org_id = auto_assignee(session, ticket)
        if staff_id is None and org_id is None:
            raise WorkflowError(
                "no_assignee",
                "no automatic assignee: the ticket has no grid or the grid has no team; choose one",
            )
        return staff_id, org_id
    if staff_id is not None:
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.active:
            raise WorkflowError("bad_assignee", f"staff {staff_id} does not exist or is inactive")
        return staff_id, staff.organisation_id if org_id is None else org_id
    if session.get(Organisation, org_id) is None:
        raise WorkflowError("bad_assignee", f"organisation {org_id} does not exist")
    return None, org_id


def work_calendar(session: Session, tz: str = "Asia/Shanghai") -> deadlines.WorkCalendar:
    days = {h.day: h.is_workday for h in session.scalars(select(Holiday))}
    return deadlines.WorkCalendar(days=days, tz=tz)


def set_deadlines(session, ticket, at, *, response: bool, handling: bool) -> None:
    category = ticket.category or session.get(Category, ticket.category_id)
    calendar = work_calendar(session) if category.working_hours else deadlines.WorkCalendar()
    if response:
        ticket.response_due_at = deadlines.due_at(
            at, category.response_hours, working_hours=category.working_hours, calendar=calendar
        )
    if handling:
        ticket.handle_due_at = deadlines.due_at(
            at, category.handling_hours, working_hours=category.working_hours, calendar=calendar
        )
        ticket.overdue = False
