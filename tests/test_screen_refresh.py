"""The big screen's refresh over the real callback endpoint: only what changed is sent (a Patch of
the changed grid values), a metric switch sends that metric's values, a broken database keeps the
last data (no traceback, no error body), and the screen recovers by itself."""

from __future__ import annotations

import logging

import pytest

from dashboard.figures import maps
from dashboard.server import create_app
from data import aggregates
from data.access import Viewer
from data.clock import utcnow
from data.db import Database
from data.read import recent
from tests.helpers import new_ticket
from tests.screen_client import ScreenClient, find

PATCH = "__dash_patch_update"


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test resets the database; the screen's day and hour caches must not outlive it."""
    recent.clear()


@pytest.fixture
def app(db, district, settings):
    with db.session() as s:
        for i, grid in enumerate(district.grid_ids[:6]):
            new_ticket(s, grid, at=utcnow().replace(microsecond=0) - __import__("datetime").timedelta(hours=i))
        aggregates.refresh(s, "full", tz=settings.gcc_timezone)
    application = create_app(settings, db)
    application.server.config["GCC_VIEWER_RESOLVER"] = Viewer.kiosk
    return application


def operations(patch: dict) -> list[dict]:
    assert patch.get(PATCH) == PATCH, patch
    return patch["operations"]


def add_ticket_and_aggregate(db, district, settings, grid_index=0):
    with db.session() as s:
        ticket = new_ticket(s, district.grid_ids[grid_index], at=utcnow())
        aggregates.refresh(s, "incremental", tz=settings.gcc_timezone)
    return ticket


def test_the_page_carries_every_panel_and_what_it_sent(app):
    screen = ScreenClient(app)
    page = screen.load(Viewer.kiosk())
    for component_id in (
        "screen-kpis",
        "screen-map",
        "screen-trend",
        "screen-hourly",
        "screen-category",
        "screen-source",
        "screen-ranking",
        "screen-feed",
        "screen-clock",
        "screen-stale",
    ):
        assert find(page, component_id) is not None, component_id
    figure = find(page, "screen-map").figure
    assert figure["data"][maps.TRACE_BASE]["geojson"].startswith("http://localhost/geo/grids.json?v=")
    assert len(figure["data"][maps.TRACE_METRIC]["locations"]) == 12
    assert {"kpis", "map.z", "map.heat", "trend", "feed"} <= set(screen.sent)
    assert screen.meta["metric"] == "open_now"


def test_nothing_changed_sends_next_to_nothing(app):
    screen = ScreenClient(app)
    screen.load(Viewer.kiosk())
    reply = screen.refresh()
    assert reply.status == 200
    assert set(reply.body["response"]) == {"screen-asof", "screen-banner"}
    assert reply.raw_bytes < 600


def test_a_new_ticket_patches_only_what_it_changed(app, db, district, settings):
    screen = ScreenClient(app)
    screen.load(Viewer.kiosk())
    add_ticket_and_aggregate(db, district, settings, grid_index=7)
    reply = screen.refresh()
    assert reply.status == 200
    assert reply.has("screen-kpis") and reply.has("screen-feed")
    ops = operations(reply.output("screen-map", "figure"))
    z_ops = [op for op in ops if op["location"][:3] == ["data", maps.TRACE_METRIC, "z"]]
    assert len(z_ops) == 1 and len(z_ops[0]["location"]) == 4  # one grid's value, by index
    assert z_ops[0]["params"]["value"] == 1
    heat_ops = [op for op in ops if op["location"][:3] == ["data", maps.TRACE_HEAT, "z"]]
    assert 1 <= len(heat_ops) <= 2
    hourly = operations(reply.output("screen-hourly", "figure"))
    assert {tuple(op["location"]) for op in hourly} == {("data", 0, "y"), ("data", 1, "y")}
    assert reply.raw_bytes < 50_000
    again = screen.refresh()
    assert set(again.body["response"]) == {"screen-asof", "screen-banner"}  # the browser has it all now


def test_switching_the_metric_sends_that_metric(app):
    screen = ScreenClient(app)
    screen.load(Viewer.kiosk())
    reply = screen.refresh(metric="on_time_7d")
    ops = {tuple(op["location"]): op["params"].get("value") for op in operations(reply.output("screen-map", "figure"))}
    assert ops[("data", maps.TRACE_METRIC, "colorscale")] == maps.METRICS["on_time_7d"].scale
    assert len(ops[("data", maps.TRACE_METRIC, "z")]) == 12
    assert (ops[("data", maps.TRACE_METRIC, "zmin")], ops[("data", maps.TRACE_METRIC, "zmax")]) == maps.RATE_RANGE
    assert reply.output("screen-map-meta", "data")["metric"] == "on_time_7d"


def test_an_unreachable_database_keeps_the_last_data_and_recovers(app, db, district, settings, caplog):
    screen = ScreenClient(app)
    screen.load(Viewer.kiosk())
    app.server.extensions["gcc_db"] = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with caplog.at_level(logging.WARNING, logger="dashboard.screen.refresh"):
        reply = screen.refresh()
    assert reply.status == 200
    assert reply.body["response"] == {}  # every panel kept as it is; the browser's stale marker takes over
    assert "keeping the last data" in caplog.text
    app.server.extensions["gcc_db"] = db
    add_ticket_and_aggregate(db, district, settings)
    recovered = screen.refresh()
    assert recovered.status == 200 and recovered.has("screen-kpis")
    assert recovered.output("screen-asof", "data")["age"] is not None


def test_a_page_loaded_while_the_database_is_down_fills_in_later(app, db):
    app.server.extensions["gcc_db"] = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    screen = ScreenClient(app)
    page = screen.load(Viewer.kiosk())
    assert "数据暂不可用" in str(find(page, "screen-banner").children)
    assert screen.meta == {}
    app.server.extensions["gcc_db"] = db
    reply = screen.refresh()
    figure = reply.output("screen-map", "figure")
    assert PATCH not in figure and len(figure["data"][maps.TRACE_METRIC]["locations"]) == 12
    assert "data" in reply.output("screen-trend", "figure")
    assert reply.output("screen-banner", "children") == ""  # the notice goes once the data is back


def test_the_wall_is_refused_to_anonymous_and_residents(app):
    for viewer in (Viewer.anonymous(), Viewer(role="resident", ticket_token="t" * 16)):
        app.server.config["GCC_VIEWER_RESOLVER"] = lambda v=viewer: v
        screen = ScreenClient(app)
        page = screen.load(viewer)
        assert "请登录" in str(page)
        reply = screen.refresh()
        assert reply.status == 401


def test_a_supervisor_gets_their_community_only(app, db, district):
    community = district.community_of[district.grid_ids[0]]
    supervisor = Viewer(role="supervisor", region_id=community)
    app.server.config["GCC_VIEWER_RESOLVER"] = lambda: supervisor
    screen = ScreenClient(app)
    page = screen.load(supervisor)
    figure = find(page, "screen-map").figure
    own = [
        c for g, c in zip(district.grid_ids, district.grid_codes, strict=True) if district.community_of[g] == community
    ]
    assert sorted(figure["data"][maps.TRACE_METRIC]["locations"]) == sorted(own)
    assert "&s=all" not in figure["data"][maps.TRACE_BASE]["geojson"]
    response = app.server.test_client().get(figure["data"][maps.TRACE_BASE]["geojson"].replace("http://localhost", ""))
    assert response.status_code == 200
    assert sorted(f["id"] for f in response.get_json()["features"]) == sorted(own)


def test_rotation_parameter_is_checked():
    from dashboard.screen import parse_rotate

    assert parse_rotate(None) == (0, "") and parse_rotate("60") == (60, "")
    assert parse_rotate("5")[0] == 0 and "10-3600" in parse_rotate("5")[1]
    assert parse_rotate("abc")[0] == 0 and parse_rotate("abc")[1]


def test_an_english_wall(db, district, settings):
    english = create_app(settings.model_copy(update={"gcc_locale": "en"}), db)
    english.server.config["GCC_VIEWER_RESOLVER"] = Viewer.kiosk
    page = ScreenClient(english).load(Viewer.kiosk(), metric="per_1000")
    text = str(page)
    assert "Reported today" in text and "Latest reports" in text and "今日上报" not in text
    figure = find(page, "screen-map").figure
    assert figure["data"][maps.TRACE_METRIC]["colorbar"]["title"]["text"] == "Reports per 1,000"


def test_rotation_focus_goes_through_the_figure(app):
    screen = ScreenClient(app)
    page = screen.load(Viewer.kiosk())
    district_view = find(page, "screen-map").figure["layout"]["map"]
    community = find(page, "screen-map-view").data["focus"][0]["bounds"]
    reply = screen.refresh(focus=community)
    ops = {tuple(op["location"]): op["params"]["value"] for op in operations(reply.output("screen-map", "figure"))}
    assert ops[("layout", "map", "zoom")] > district_view["zoom"]
    assert reply.output("screen-map-meta", "data")["focus"] == [round(v, 6) for v in community]
    assert not screen.refresh().has("screen-map")  # kept, not sent again
    back = screen.refresh(focus=None)
    ops = {tuple(op["location"]): op["params"]["value"] for op in operations(back.output("screen-map", "figure"))}
    assert ops[("layout", "map", "zoom")] == district_view["zoom"]
    forged = screen.refresh(focus=["x", 1, 2, 3])  # not bounds: the whole area
    assert not forged.has("screen-map")
