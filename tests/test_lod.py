"""The wall's level of detail (issue #14): a city seen whole is coloured by street, zoomed in by
grid; the demo district is always grids. Pure functions first, then the real page and callback
on a small district with the threshold lowered so that it counts as a city."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from dashboard.figures import maps
from dashboard.screen import lod
from dashboard.screen import map as map_part
from dashboard.server import create_app
from data import aggregates
from data.access import Viewer
from data.clock import utcnow
from data.read import recent
from data.read.screen import GridValues
from tests.helpers import new_ticket
from tests.screen_client import ScreenClient, find


def test_a_city_seen_whole_is_streets_and_grids_once_zoomed_in():
    assert lod.level_for(150, 6, 11.0, None) == lod.GRID  # the demo: always grids
    assert lod.level_for(10_000, 400, 9.5, None) == lod.STREET
    assert lod.level_for(10_000, 400, 9.5, 10.5) == lod.STREET  # a quarter of the city: 2,500 grids
    assert lod.level_for(10_000, 400, 9.5, 11.0) == lod.GRID  # an eighth: 1,250
    assert lod.level_for(10_000, 1, 9.5, None) == lod.GRID  # one street: nothing to merge
    assert 10.8 < lod.switch_zoom(10_000, 9.5) < 10.9


def test_street_values_sum_counts_and_recompute_rates():
    grids = GridValues(
        codes=["a1", "a2", "b1"],
        names=["A1", "A2", "B1"],
        open_now=[2, 3, 4],
        overdue_now=[1, 0, 2],
        on_time_7d=[0.5, None, 1.0],
        should_close_7d=[4, 0, 2],
        per_1000=[2.0, None, 3.0],
    )
    street_of = {"a1": "A", "a2": "A", "b1": "B"}
    assert lod.street_values("open_now", grids, street_of) == (["A", "B"], [5, 4])
    assert lod.street_values("overdue_now", grids, street_of) == (["A", "B"], [1, 2])
    assert lod.street_values("on_time_7d", grids, street_of) == (["A", "B"], [0.5, 1.0])
    assert lod.street_values("per_1000", grids, street_of) == (["A", "B"], [2.0, 3.0])


@pytest.fixture
def city(db, district, settings, monkeypatch):
    """The 12-grid district as a 'city': more than 4 grids in view shows streets."""
    monkeypatch.setattr(lod, "LOD_MAX_GRIDS", 4)
    recent.clear()
    with db.session() as s:
        for i, grid in enumerate(district.grid_ids):
            new_ticket(s, grid, at=utcnow().replace(microsecond=0) - timedelta(hours=i % 5))
        aggregates.refresh(s, "full", tz=settings.gcc_timezone)
    app = create_app(settings, db)
    app.server.config["GCC_VIEWER_RESOLVER"] = Viewer.kiosk
    return app


def test_the_city_wall_opens_on_streets_and_zooming_in_swaps_to_grids(city):
    tab = ScreenClient(city)
    page = tab.load(Viewer.kiosk())
    figure = find(page, map_part.GRAPH).figure
    metric = figure["data"][maps.TRACE_METRIC]
    assert metric["meta"] == lod.STREET and len(metric["locations"]) == 2  # two streets
    assert "/geo/street_areas.json" in metric["geojson"]
    assert sum(metric["z"]) == 12  # every open order, summed by street
    assert tab.meta["lod"] == lod.STREET

    # The street areas are served like the other layers: two polygons.
    served = city.server.test_client().get(metric["geojson"].replace("http://localhost", ""))
    assert served.status_code == 200
    assert len(json.loads(served.get_data())["features"]) == 2

    # A refresh at the same zoom keeps streets and sends nothing new for the map.
    reply = tab.refresh()
    assert not reply.has(map_part.GRAPH)

    # Zooming in by hand: the relayout callback swaps the layer to the grids.
    with city.server.test_request_context("/_dash-update-component"):
        from flask import g

        g.viewer = Viewer.kiosk()
        patch, meta = map_part.on_relayout({"map.zoom": 20.0}, "open_now", tab.meta)
    assert meta["lod"] == lod.GRID
    ops = {tuple(op["location"]): op["params"].get("value") for op in patch.to_plotly_json()["operations"]}
    assert len(ops[("data", maps.TRACE_METRIC, "locations")]) == 12
    assert ops[("data", maps.TRACE_METRIC, "meta")] == lod.GRID
    assert "/geo/grids.json" in ops[("data", maps.TRACE_METRIC, "geojson")]
    # A pan at that zoom changes nothing.
    with city.server.test_request_context("/_dash-update-component"):
        g.viewer = Viewer.kiosk()
        assert map_part.on_relayout({"map.zoom": 20.5}, "open_now", meta) == (
            map_part.no_update,
            map_part.no_update,
        )

    # The next refresh goes on with grids: values per grid.
    tab.meta = meta
    tab.sent = {}
    reply = tab.refresh()
    figure_ops = reply.output(map_part.GRAPH, "figure")
    if figure_ops is not None:
        z = [op for op in figure_ops["operations"] if op["location"][:3] == ["data", maps.TRACE_METRIC, "z"]]
        assert all(len(op["params"]["value"]) == 12 for op in z if len(op["location"]) == 3)


def test_the_demo_wall_is_grids(db, district, settings):
    app = create_app(settings, db)
    app.server.config["GCC_VIEWER_RESOLVER"] = Viewer.kiosk
    tab = ScreenClient(app)
    page = tab.load(Viewer.kiosk())
    metric = find(page, map_part.GRAPH).figure["data"][maps.TRACE_METRIC]
    assert metric["meta"] == lod.GRID and len(metric["locations"]) == 12
    assert tab.meta["lod"] == lod.GRID
