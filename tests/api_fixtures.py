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


def make_client(db, settings):
    """The real app (every blueprint, the guard) on the test database, as a Flask test client."""
    from dashboard.server import create_app

    return create_app(settings, db).server.test_client()


def new_key(db, name: str, role: str = "dispatcher", source: str = "hotline", region_code: str | None = None) -> str:
    from data import apikeys

    with db.session() as session:
        return apikeys.create(session, name, role=role, source=source, region_code=region_code)


def point_in(db, grid_id: int) -> tuple[float, float]:
    from tests.helpers import grid_point

    with db.reader() as session:
        return grid_point(session, grid_id)


def jpeg_bytes(size=(64, 48), color=(200, 30, 30), exif=None) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    Image.new("RGB", size, color).save(out, "JPEG", **kwargs)
    return out.getvalue()


def assert_error(response, status: int, code: str | None = None) -> dict:
    """A refusal: the status, and the JSON body {"error": code, "detail": ...} of every 4xx."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error", "detail"}, body
    if code is not None:
        assert body["error"] == code, body
    return body
