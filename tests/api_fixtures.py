"""Builders shared by the intake's HTTP tests: an emptied database and a small district."""

from __future__ import annotations

import numpy as np
from faker import Faker

from data.schema import Base


def empty(database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.is_sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for name in tables:
                conn.exec_driver_sql(f'DELETE FROM "{name}"')
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        else:
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{n}"' for n in tables) + " RESTART IDENTITY CASCADE")


def small_district(database):
    from data.demo.district import write_district
    from geo.tiling import make_district

    shape = make_district(seed=7, n_streets=2, n_communities=4, n_grids=12)
    faker = Faker("zh_CN")
    faker.seed_instance(7)
    with database.session() as session:
        return write_district(session, shape, np.random.default_rng(7), faker)
