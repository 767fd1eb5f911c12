"""The demo district: `generate` writes a county-sized district with a year of history."""

from __future__ import annotations

import sys
from time import perf_counter

import numpy as np
from faker import Faker
from sqlalchemy import func, select

from data.db import Database
from data.demo.district import write_district
from data.demo.history import generate_history
from data.demo.photos import demo_photos
from data.locate import GridLocator
from data.models import Region
from data.settings import Settings
from geo.tiling import make_district


class DemoError(Exception):
    pass


def database_is_empty(db: Database) -> bool:
    with db.reader() as session:
        return not session.scalar(select(func.count(Region.id)))


def generate(
    db: Database,
    settings: Settings,
    *,
    grids: int = 150,
    days: int = 365,
    seed: int = 2026,
    progress=None,
    incidents: bool = True,
) -> dict:
    """Generate the demo into an empty database; returns what was written and how long it took."""
    if not database_is_empty(db):
        raise DemoError("the database already holds regions; the demo only fills an empty database (use --reset)")
    say = progress or (lambda msg: None)
    t0 = perf_counter()
    rng = np.random.default_rng(seed)
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    communities = max(1, round(grids / 6.25))
    streets = max(1, min(communities, round(communities / 4)))
    say(f"drawing {grids} grids in {communities} communities and {streets} streets")
    district = make_district(seed=seed, n_streets=streets, n_communities=communities, n_grids=grids)
    people = [(faker.name(), faker.phone_number()) for _ in range(2000)]
    photos = demo_photos(settings)
    with db.session() as session:
        world = write_district(session, district, rng, faker)
        locator = GridLocator.from_session(session)

        def history_progress(done, total):
            if progress and total:
                _bar(done, total)

        say(f"replaying {days} days of tickets")
        stats = generate_history(
            session, world, locator, rng, days=days, photos=photos, people=people, progress=history_progress
        )
        say("writing")
    from data.demo.incidents import plant

    with db.session() as session:
        # Incidents for the early warning to find (issue #11): a burst, a recurring spot, a sensor.
        stats["incidents"] = len(plant(session)) if incidents else 0
    from data import aggregates

    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")  # planner statistics: per-grid indexes get chosen
    with db.session() as session:
        aggregates.refresh(session, "full", tz=settings.gcc_timezone)
    stats.update(grids=grids, communities=communities, streets=streets, seconds=round(perf_counter() - t0, 1))
    _demo_accounts(db, settings, say)
    return stats


def _demo_accounts(db: Database, settings: Settings, say) -> None:
    # One login per role (issue #6); skipped in production mode unless GCC_DEMO_PASSWORD is set.
    from data.users import create_demo_accounts, demo_login_note, demo_password

    password = demo_password(settings)
    if password is None:
        say("no demo accounts in production mode (set GCC_DEMO_PASSWORD to create them)")
        return
    with db.session() as session:
        accounts = create_demo_accounts(session, password)
    say(demo_login_note(accounts, password))


def _bar(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total)
    sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} tickets")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()
