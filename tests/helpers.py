"""Small builders for tests: tickets through the real workflow at chosen times."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from data import workflow
from data.access import Viewer
from data.clock import UTC
from data.locate import locator
from data.models import Category, GridTeam, Region, Staff, Ticket

DESK = Viewer.system("测试调度")
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


def category(session, name: str) -> Category:
    return session.scalars(select(Category).where(Category.name == name)).one()


def grid_point(session, grid_id: int) -> tuple[float, float]:
    import shapely

    from data.regions import current_boundary

    point = shapely.from_geojson(current_boundary(session, grid_id).geometry).representative_point()
    return point.x, point.y


def new_ticket(session, grid_id: int, category_name: str = "暴露垃圾", at: datetime = T0, **kw):
    lon, lat = grid_point(session, grid_id)
    return workflow.create(
        session,
        Viewer(role="resident"),
        workflow.Submission(
            source=kw.pop("source", "resident"),
            category_id=category(session, category_name).id,
            description=kw.pop("description", "测试"),
            lon=lon,
            lat=lat,
            placement=locator(session).place(lon, lat),
            at=at,
            **kw,
        ),
    )


def assignee_viewer(session, ticket) -> Viewer:
    if ticket.assignee_staff_id:
        staff = session.get(Staff, ticket.assignee_staff_id)
        return Viewer(role="grid_worker", staff_id=staff.id)
    return Viewer(role="property", organisation_id=ticket.assignee_org_id)


def run_loop(
    session,
    ticket_id: int,
    start: datetime,
    *,
    respond_after=1.0,
    handle_after=5.0,
    close_after=6.0,
    rating: str | None = "satisfied",
):
    """Accept, dispatch, respond, handle, close and (optionally) rate at hours after `start`."""
    h = lambda x: start + timedelta(hours=x)  # noqa: E731
    workflow.apply(session, DESK, ticket_id, workflow.ActionInput("accept", at=h(0.1)))
    workflow.apply(session, DESK, ticket_id, workflow.ActionInput("dispatch", at=h(0.2)))
    ticket = session.get(Ticket, ticket_id)
    actor = assignee_viewer(session, ticket)
    if respond_after is not None:
        workflow.apply(session, actor, ticket_id, workflow.ActionInput("respond", at=h(0.2 + respond_after)))
    if handle_after is not None:
        workflow.apply(
            session,
            actor,
            ticket_id,
            workflow.ActionInput("handle", photos=["demo/site-1.jpg"], note="ok", at=h(0.2 + handle_after)),
        )
    if close_after is not None:
        workflow.apply(session, DESK, ticket_id, workflow.ActionInput("verify_close", at=h(0.2 + close_after)))
        if rating:
            workflow.apply(
                session, DESK, ticket_id, workflow.ActionInput("rate", rating=rating, at=h(0.2 + close_after + 1))
            )
    return ticket


def grid_with_property(session) -> int:
    return session.scalars(select(GridTeam.grid_id).where(GridTeam.property_company_id.is_not(None))).first()


def grid_without_property(session) -> int:
    return session.scalars(select(GridTeam.grid_id).where(GridTeam.property_company_id.is_(None))).first()


def community_of(session, grid_id: int) -> int:
    return session.get(Region, grid_id).parent_id
