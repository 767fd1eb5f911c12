"""The display geometry is built once per boundary version and stored (issue #14): a fresh process
loads it from the database instead of simplifying every polygon again, and it is the same
geometry."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import func, select

from data.read import geometry as geo
from data.read.cache import clear_all
from data.shared import DatabaseStore, SharedValue, store


def _fresh_process():
    clear_all()  # what a new worker has: no memo of anything


def test_a_fresh_process_loads_the_stored_geometry_instead_of_building(db, district, monkeypatch):
    built = geo.prebuild(db)
    with db.reader() as s:
        assert DatabaseStore(s.get_bind()).get(built) is not None
        _fresh_process()
        original = geo._build(s, geo.boundary_version(s))

    _fresh_process()
    monkeypatch.setattr(geo, "_build", lambda *a: pytest.fail("a fresh process built the geometry"))
    with db.reader() as s:
        loaded = geo.grid_geometry(s)
    assert loaded.codes == original.codes and loaded.grid_ids == original.grid_ids
    assert loaded.features == original.features
    assert loaded.outlines == original.outlines
    assert loaded.community_of == original.community_of and loaded.street_of == original.street_of
    np.testing.assert_allclose(loaded.bounds, original.bounds)
    assert loaded.lattice.lon == original.lattice.lon and loaded.lattice.lat == original.lattice.lat
    np.testing.assert_array_equal(loaded.lattice.index, original.lattice.index)
    assert loaded.version == original.version


def test_the_first_process_that_needs_a_version_builds_and_stores_it(db, district):
    _fresh_process()
    with db.reader() as s:
        key = geo.stored_key(s)
        assert DatabaseStore(s.get_bind()).get(key) is None
        geo.grid_geometry(s)
        assert DatabaseStore(s.get_bind()).get(key) is not None


def test_a_new_boundary_version_is_a_new_key(db, district):
    from sqlalchemy import func, select

    from data.models import Region

    before = geo.prebuild(db)
    with db.session() as s:
        grid = s.scalar(select(Region).where(Region.level == "grid").order_by(Region.id).limit(1))
        grid.active = False
    _fresh_process()
    with db.reader() as s:
        after = geo.stored_key(s)
        assert after != before
    assert geo.prebuild(db) == after
    with db.reader() as s:  # the older version's geometry is forgotten
        assert DatabaseStore(s.get_bind()).get(before) is None
        assert DatabaseStore(s.get_bind()).get(after) is not None
        assert len(geo.grid_geometry(s).codes) == s.scalar(
            select(func.count(Region.id)).where(Region.level == "grid", Region.active.is_(True))
        )


def test_shared_store_expiry_and_add_keeps_the_first_value(db):
    with db.reader() as s:
        engine = s.get_bind()
    st = DatabaseStore(engine)
    assert st.add("k", b"one", ttl=60) is True
    assert st.add("k", b"two", ttl=60) is False
    assert st.get("k") == b"one"
    assert st.add("lease", b"a", ttl=-1) is True  # already expired: the next add takes it over
    assert st.add("lease", b"b", ttl=60) is True and st.get("lease") == b"b"
    st.put("k", b"three", ttl=60)
    assert st.get("k") == b"three"
    st.put("gone", b"x", ttl=-1)
    assert st.get("gone") is None
    assert store(engine).get("k") == b"three"


def test_redis_store_when_configured(db):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    with db.reader() as s:
        st = store(s.get_bind(), "redis://127.0.0.1:6379/15")
    st.put("test:k", b"v", ttl=5)
    assert st.get("test:k") == b"v"
    assert st.add("test:k", b"w", ttl=5) is False
    assert st.get("test:k") == b"v"


def test_the_report_page_minimap_is_drawn_once_for_every_worker(db, district, monkeypatch):
    from dashboard.phone import minimap

    minimap._cache.clear()
    with db.reader() as s:
        first = minimap.svg(s)
    minimap._cache.clear()  # another worker
    monkeypatch.setattr(minimap, "_draw", lambda session: pytest.fail("drawn again"))
    with db.reader() as s:
        assert minimap.svg(s) == first


def test_a_fresh_worker_serves_the_stored_polygons(db, district, settings, monkeypatch):
    from dashboard.common import geojson
    from dashboard.server import create_app
    from data.access import Viewer

    app = create_app(settings, db)
    app.server.config["GCC_VIEWER_RESOLVER"] = Viewer.kiosk
    first = app.server.test_client().get("/geo/grids.json")
    assert first.status_code == 200 and len(json.loads(first.get_data())["features"]) == 12
    geojson._bodies.clear()  # another worker
    monkeypatch.setattr(geojson, "layer_collection", lambda *a: pytest.fail("serialised again"))
    again = app.server.test_client().get("/geo/grids.json")
    assert again.get_data() == first.get_data() and again.headers["ETag"] == first.headers["ETag"]


def test_snapshots_and_sent_values_in_redis_when_configured(db, district):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    from data.access import Viewer
    from data.read import snapshots

    client = redis.Redis.from_url(url)
    with db.reader() as s:
        snap = snapshots.shared_screen(s, Viewer.kiosk(), tz="Asia/Shanghai", bucket_s=10, redis_url=url)
    keys = [k.decode() for k in client.keys("gcc:screen:*") if not k.decode().endswith(":lease")]
    assert keys, "the snapshot went to Redis"
    assert any(snapshots.snapshot_from_bytes(client.get(k)) == snap for k in keys)
    with db.reader() as s:  # not into the database
        assert s.scalar(select(func.count()).select_from(SharedValue).where(SharedValue.key.like("screen:%"))) == 0
