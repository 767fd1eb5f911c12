"""Dispatch rules and deadlines: who an order goes to, and when its clocks run out.

Automatic dispatch by grid: the grid's property company for a property matter (when the grid has
one), else the grid worker. The response and handling clocks start at dispatch (data.deadlines).
`ctx` is a data.workflow.context context (the live session, or a bulk writer's memory).
"""

from __future__ import annotations

from data import deadlines
from data.errors import WorkflowError


def auto_assignee(ctx, ticket) -> tuple[int | None, int | None]:
    """The grid's property company for a property matter (when the grid has one), else the grid
    worker. (None, None) when the ticket has no grid or the grid has no team."""
    if ticket.grid_id is None:
        return None, None
    team = ctx.team(ticket.grid_id)
    if team is None:
        return None, None
    if ctx.category(ticket.category_id).property_matter and team.property_company_id:
        return None, team.property_company_id
    return team.grid_worker_id, None


def choose_assignee(ctx, ticket, staff_id: int | None, org_id: int | None) -> tuple[int | None, int | None]:
    if staff_id is None and org_id is None:
        staff_id, org_id = auto_assignee(ctx, ticket)
        if staff_id is None and org_id is None:
            raise WorkflowError(
                "no_assignee",
                "no automatic assignee: the ticket has no grid or the grid has no team; choose one",
            )
        return staff_id, org_id
    if staff_id is not None:
        staff = ctx.staff(staff_id)
        if staff is None or not staff.active:
            raise WorkflowError("bad_assignee", f"staff {staff_id} does not exist or is inactive")
        return staff_id, staff.organisation_id if org_id is None else org_id
    if not ctx.organisation_exists(org_id):
        raise WorkflowError("bad_assignee", f"organisation {org_id} does not exist")
    return None, org_id


def set_deadlines(ctx, ticket, at, *, response: bool, handling: bool) -> None:
    category = ctx.category(ticket.category_id)
    calendar = ctx.calendar() if category.working_hours else deadlines.WorkCalendar()
    if response:
        ticket.response_due_at = deadlines.due_at(
            at, category.response_hours, working_hours=category.working_hours, calendar=calendar
        )
    if handling:
        ticket.handle_due_at = deadlines.due_at(
            at, category.handling_hours, working_hours=category.working_hours, calendar=calendar
        )
        ticket.overdue = False
