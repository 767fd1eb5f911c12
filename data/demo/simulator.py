"""Keeps the demo district alive in serve mode: new reports every few seconds and open orders
moving through the loop, all through data.workflow like real users (so every step is an event
and the aggregates see it)."""

from __future__ import annotations

import random

import shapely
from sqlalchemy import func, select

from data import workflow
from data.access import Viewer
from data.db import Database
from data.demo.photos import demo_photos
from data.demo.reference import DESCRIPTIONS
from data.locate import locator
from data.models import Category, Region, Staff, Ticket
from data.settings import Settings

# Per tick: how many new reports, and how many open orders take their next step.
NEW_PER_TICK = (0, 3)
ADVANCE_PER_TICK = 4


def step(db: Database, settings: Settings, rng: random.Random | None = None) -> dict:
    rng = rng or random.Random()
    created = advanced = 0
    with db.session() as session:
        loc = locator(session)
        if loc.index is None:
            return {"created": 0, "advanced": 0}
        cats = list(session.scalars(select(Category).where(Category.parent_id.is_not(None))))
        for _ in range(rng.randint(*NEW_PER_TICK)):
            i = rng.randrange(len(loc.codes))
            poly = shapely.from_geojson(_boundary_geojson(session, int(loc.boundary_ids[i])))
            point = _random_point(poly, rng)
            category = rng.choice(cats)
            texts = DESCRIPTIONS.get(category.name, (category.name,))
            workflow.create(
                session,
                Viewer(role="resident", name="居民"),
                workflow.Submission(
                    source=rng.choice(["resident", "resident", "patrol", "hotline", "iot"]),
                    category_id=category.id,
                    description=rng.choice(texts),
                    lon=point.x,
                    lat=point.y,
                    placement=loc.place(point.x, point.y),
                ),
            )
            created += 1
    open_ids = _open_ticket_ids(db, rng)
    for ticket_id in open_ids:
        try:
            with db.session() as session:
                if _advance(session, ticket_id, rng, settings):
                    advanced += 1
        except (workflow.WorkflowError, workflow.AccessDenied):
            continue  # e.g. a grid without a team: the order waits for a person, as it would
    return {"created": created, "advanced": advanced}


def _boundary_geojson(session, boundary_id: int) -> str:
    from data.models import Boundary

    return session.get(Boundary, boundary_id).geometry


def _random_point(poly, rng: random.Random):
    minx, miny, maxx, maxy = poly.bounds
    for _ in range(100):
        p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if poly.contains(p):
            return p
    return poly.representative_point()


def _open_ticket_ids(db: Database, rng: random.Random) -> list[int]:
    with db.reader() as session:
        recent = session.scalars(
            select(Ticket.id)
            .where(Ticket.status.in_(("reported", "accepted", "dispatched", "in_progress", "handled", "closed")))
            .order_by(Ticket.updated_at.desc())
            .limit(200)
        ).all()
    return rng.sample(list(recent), min(ADVANCE_PER_TICK, len(recent)))


def _advance(session, ticket_id: int, rng: random.Random, settings: Settings) -> bool:
    system = Viewer.system("调度员")
    ticket = session.get(Ticket, ticket_id)
    status = ticket.status
    if status == "reported":
        workflow.apply(session, system, ticket_id, workflow.ActionInput("accept"))
    elif status == "accepted":
        workflow.apply(session, system, ticket_id, workflow.ActionInput("dispatch"))
    elif status in ("dispatched", "in_progress"):
        actor = _assignee_viewer(session, ticket)
        action = "respond" if status == "dispatched" else "handle"
        photos = demo_photos(settings)[:1] if action == "handle" else None
        workflow.apply(session, actor, ticket_id, workflow.ActionInput(action, note="已到现场处理", photos=photos))
    elif status == "handled":
        if rng.random() < 0.08:
            workflow.apply(session, system, ticket_id, workflow.ActionInput("send_back", note="现场核查未处理到位"))
        else:
            workflow.apply(session, system, ticket_id, workflow.ActionInput("verify_close"))
    elif status == "closed":
        value = rng.choices(["satisfied", "basic", "unsatisfied"], weights=[80, 14, 6])[0]
        workflow.apply(
            session,
            Viewer(role="resident", ticket_token=ticket.public_token),
            ticket_id,
            workflow.ActionInput("rate", rating=value),
        )
    else:
        return False
    return True


def _assignee_viewer(session, ticket: Ticket) -> Viewer:
    if ticket.assignee_staff_id:
        staff = session.get(Staff, ticket.assignee_staff_id)
        return Viewer(
            role=staff.role if staff.role in ("grid_worker", "property") else "grid_worker",
            staff_id=staff.id,
            organisation_id=staff.organisation_id,
            name=staff.name,
        )
    return Viewer(role="property", organisation_id=ticket.assignee_org_id, name="物业")


def demo_is_loaded(db: Database) -> bool:
    with db.reader() as session:
        return bool(session.scalar(select(func.count(Region.id))))
