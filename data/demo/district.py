"""Writes a generated district (geo.tiling) into the database: regions with boundaries, grid
teams, property companies, staff with zh_CN names, estates and buildings, profile counts,
categories and the holiday calendar."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from faker import Faker
from sqlalchemy import insert
from sqlalchemy.orm import Session

from data.clock import utcnow
from data.demo.reference import (
    CATEGORIES,
    ESTATE_PREFIXES,
    ESTATE_SUFFIXES,
    HOLIDAYS_2026,
    PROPERTY_COMPANIES,
)
from data.models import Building, Category, Estate, GridTeam, Holiday, Organisation, Staff
from data.regions import set_boundary, upsert_region
from geo.tiling import District


@dataclass
class DemoWorld:
    """What the history generator needs to know about the written district."""

    grid_ids: list[int] = field(default_factory=list)
    grid_codes: list[str] = field(default_factory=list)
    grid_polygons: list = field(default_factory=list)
    community_of: dict[int, int] = field(default_factory=dict)
    street_of: dict[int, int] = field(default_factory=dict)
    worker_of: dict[int, int] = field(default_factory=dict)
    property_of: dict[int, int | None] = field(default_factory=dict)
    categories: list[Category] = field(default_factory=list)
    dispatcher_ids: list[int] = field(default_factory=list)


def write_district(session: Session, district: District, rng: np.random.Generator, faker: Faker) -> DemoWorld:
    now = utcnow()
    world = DemoWorld()
    root, _ = upsert_region(session, level="district", code=district.code, name=district.name, parent_id=None)
    set_boundary(session, root, district.outline, source="demo", at=now)
    ids: dict[str, int] = {district.code: root.id}
    for level, regions in (("street", district.streets), ("community", district.communities), ("grid", district.grids)):
        for r in regions:
            region, _ = upsert_region(session, level=level, code=r.code, name=r.name, parent_id=ids[r.parent_code])
            set_boundary(session, region, r.polygon, source="demo", at=now)
            ids[r.code] = region.id

    companies = []
    for name in PROPERTY_COMPANIES:
        org = Organisation(kind="property_company", name=name, phone=faker.phone_number())
        session.add(org)
        companies.append(org)
    session.add(Organisation(kind="department", name="县城管局", phone="0797-6221234"))
    session.add(Organisation(kind="department", name="县住建局", phone="0797-6225678"))
    session.flush()

    def person(role, region_id=None, org_id=None):
        staff = Staff(
            name=faker.name(), phone=faker.phone_number(), role=role, region_id=region_id, organisation_id=org_id
        )
        session.add(staff)
        return staff

    dispatchers = [person("dispatcher", root.id) for _ in range(3)]
    person("admin", root.id)
    for s in district.streets:
        person("supervisor", ids[s.code])
    community_head = {}
    for c in district.communities:
        person("supervisor", ids[c.code])
        community_head[c.code] = person("grid_head", ids[c.code])
    session.flush()
    world.dispatcher_ids = [d.id for d in dispatchers]

    street_of_community = {ids[c.code]: ids[c.parent_code] for c in district.communities}
    teams, estates = [], []
    for g in district.grids:
        grid_id = ids[g.code]
        worker = person("grid_worker", grid_id)
        session.flush()
        has_property = rng.random() < 0.75
        company = companies[int(rng.integers(len(companies)))] if has_property else None
        teams.append(
            dict(
                grid_id=grid_id,
                grid_worker_id=worker.id,
                grid_head_id=community_head[g.parent_code].id,
                property_company_id=company.id if company else None,
            )
        )
        households = int(rng.integers(250, 650))
        _set_profile(session, grid_id, households, rng)
        world.grid_ids.append(grid_id)
        world.grid_codes.append(g.code)
        world.grid_polygons.append(g.polygon)
        world.community_of[grid_id] = ids[g.parent_code]
        world.street_of[grid_id] = street_of_community[ids[g.parent_code]]
        world.worker_of[grid_id] = worker.id
        world.property_of[grid_id] = company.id if company else None
        centre = g.polygon.representative_point()
        for _ in range(int(rng.integers(1, 4))):
            prefix = ESTATE_PREFIXES[int(rng.integers(len(ESTATE_PREFIXES)))]
            name = prefix + ESTATE_SUFFIXES[int(rng.integers(len(ESTATE_SUFFIXES)))]
            estates.append(
                dict(
                    grid_id=grid_id,
                    name=name,
                    property_company_id=company.id if company else None,
                    lon=centre.x,
                    lat=centre.y,
                )
            )
    session.execute(insert(GridTeam), teams)
    session.execute(insert(Estate), estates)
    estate_ids = session.scalars(Estate.__table__.select().with_only_columns(Estate.id)).all()
    buildings = []
    for estate_id in estate_ids:
        for b in range(int(rng.integers(3, 12))):
            units = int(rng.integers(1, 5))
            buildings.append(dict(estate_id=estate_id, name=f"{b + 1}栋", units=units, households=units * 12))
    session.execute(insert(Building), buildings)
    _roll_up_profiles(session, district, ids)

    world.categories = _write_categories(session)
    for day, workday, name in HOLIDAYS_2026:
        session.add(Holiday(day=day, is_workday=workday, name=name))
    session.flush()
    return world


def _set_profile(session: Session, grid_id: int, households: int, rng) -> None:
    from data.models import Region

    region = session.get(Region, grid_id)
    region.households = households
    region.population = int(households * rng.uniform(2.3, 2.9))
    region.houses = int(households * rng.uniform(1.0, 1.12))
    region.low_income = int(rng.binomial(households, 0.02))
    region.disabled = int(rng.binomial(households, 0.015))
    region.elderly_alone = int(rng.binomial(households, 0.025))


def _roll_up_profiles(session: Session, district: District, ids: dict[str, int]) -> None:
    from data.models import Region

    fields = ("population", "households", "houses", "low_income", "disabled", "elderly_alone")
    for level in (district.communities, district.streets, [district]):
        for r in level:
            region = session.get(Region, ids[r.code])
            children = session.query(Region).filter(Region.parent_id == region.id).all()
            for f in fields:
                setattr(region, f, sum(getattr(c, f) for c in children))


def _write_categories(session: Session) -> list[Category]:
    subs = []
    for code, name, kind, children in CATEGORIES:
        parent = Category(code=code, name=name, kind=kind, parent_id=None)
        session.add(parent)
        session.flush()
        for sub_code, sub_name, prop, resp, handling, working, _weight in children:
            sub = Category(
                code=sub_code,
                name=sub_name,
                parent_id=parent.id,
                kind=kind,
                property_matter=prop,
                response_hours=resp,
                handling_hours=handling,
                working_hours=working,
            )
            session.add(sub)
            subs.append(sub)
    session.flush()
    return subs


def category_weights() -> dict[str, float]:
    return {sub[0]: sub[6] for _, _, _, children in CATEGORIES for sub in children}
