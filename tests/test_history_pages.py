"""The pages with ?as_of= / ?week= (issue #10), through the real app: the wall and the drill-down
pages as they were then (banner, no refresh interval, the numbers of that moment), a metric switch
that stays in the moment, and a 400 with a notice for a bad moment."""

from __future__ import annotations

import pytest
from flask import g

from dashboard import drill
from dashboard.common import asof
from dashboard.figures import maps
from dashboard.labels import status_label
from dashboard.screen import refresh
from dashboard.server import create_app
from data import aggregates
from data.access import Viewer
from data.models import Region
from data.read import recent
from tests.screen_client import ScreenClient, find
from tests.test_history import cases  # noqa: F401 - the hand-built tickets with known answers

ADMIN = Viewer(role="admin", name="admin")


@pytest.fixture(autouse=True)
def _fresh_caches():
    recent.clear()


@pytest.fixture
def app(db, district, settings, cases):  # noqa: F811
    with db.session() as s:
        aggregates.refresh(s, "full", tz=settings.gcc_timezone)
    application = create_app(settings, db)
    application.server.config["GCC_VIEWER_RESOLVER"] = lambda: ADMIN
    return application


def texts(component) -> str:
    return str(component.to_plotly_json() if hasattr(component, "to_plotly_json") else component)


def test_the_wall_of_a_past_week(app, db, district, cases):  # noqa: F811
    grid, _ = cases
    with db.reader() as s:
        code = s.get(Region, grid).code
    screen = ScreenClient(app)
    page = screen.load(ADMIN, week="2026-W45")
    banner = find(page, asof.BANNER)
    assert banner is not None and "历史视图" in texts(banner) and "2026-W45" in texts(banner)
    assert find(page, refresh.INTERVAL).disabled is True  # no refresh
    assert find(page, "screen-tick").disabled is True  # the clock stands at the moment
    assert screen.moment == {"week": "2026-W45"}
    ranking = texts(find(page, "screen-ranking"))
    assert "?week=2026-W45" in ranking or "/grid/" not in ranking  # a ranked grid opens in the same week
    figure = find(page, "screen-map").figure
    trace = figure["data"][maps.TRACE_METRIC]
    assert dict(zip(trace["locations"], trace["z"], strict=True))[code] == 2  # C and E open then


def patched_values(reply) -> list:
    ops = reply.output("screen-map", "figure")["operations"]
    return next(op["params"]["value"] for op in ops if op["location"] == ["data", maps.TRACE_METRIC, "z"])


def test_a_metric_switch_stays_in_the_moment(app, db, cases):  # noqa: F811
    """At T0 + 56 h B was sent back and past its deadline: two overdue in the grid (today: one)."""
    grid, _ = cases
    with db.reader() as s:
        code = s.get(Region, grid).code
    screen = ScreenClient(app)
    page = screen.load(ADMIN, as_of="2026-11-04T17:00")
    locations = find(page, "screen-map").figure["data"][maps.TRACE_METRIC]["locations"]
    assert patched_values(screen.refresh(metric="overdue_now"))[locations.index(code)] == 2
    live = ScreenClient(app)
    live.load(ADMIN)
    assert patched_values(live.refresh(metric="overdue_now"))[locations.index(code)] == 1


def test_the_wall_at_a_moment_differs_from_today(app, db, cases):  # noqa: F811
    screen = ScreenClient(app)
    live = screen.load(ADMIN)
    assert find(live, asof.BANNER) is None and find(live, refresh.INTERVAL).disabled is not True
    then = ScreenClient(app).load(ADMIN, as_of="2026-11-02T09:30")  # 30 min after six reports
    kpis = texts(find(then, "screen-kpis"))
    assert "历史视图" in texts(find(then, asof.BANNER))
    assert kpis != texts(find(live, "screen-kpis"))


def test_bad_moments_answer_400_with_a_notice(app):
    client = app.server.test_client()
    for query in ("as_of=garbage", "week=2026-W99", "as_of=2999-01-01T00:00", "week=2999-W01", "as_of=" + "9" * 60):
        for path in ("/screen", "/district", "/grid/X"):
            response = client.get(f"{path}?{query}")
            assert response.status_code == 400, (path, query)
            body = response.get_data(as_text=True)
            assert "历史视图参数无效" in body and "Traceback" not in body
    assert client.get("/screen?week=2026-W45").status_code == 200
    assert "week=2026-W99：该年没有这一周" in client.get("/screen?week=2026-W99").get_data(as_text=True)
    assert "as_of=garbage：应为 ISO 日期时间" in client.get("/district?as_of=garbage").get_data(as_text=True)
    assert "时间在将来" in client.get("/screen?as_of=2999-01-01").get_data(as_text=True)
    assert "<script>" not in client.get("/screen?as_of=<script>x").get_data(as_text=True)  # escaped
    assert client.get("/screen").status_code == 200
    # The page itself (client-side navigation: no status) shows the notice instead of the wall.
    with app.server.test_request_context("/screen"):
        g.viewer = ADMIN
        from dashboard import screen

        page = screen.layout(ADMIN, week="2026-W99")
    assert "历史视图参数无效" in texts(page) and find(page, refresh.INTERVAL) is None


def test_drill_pages_at_a_past_week(app, db, district, cases):  # noqa: F811
    grid, _ = cases
    with db.reader() as s:
        region = s.get(Region, grid)
        code, community = region.code, s.get(Region, region.parent_id).code
    for level, region_code in (("grid", code), ("community", community), ("district", None)):
        with app.server.test_request_context(f"/{level}"):
            g.viewer = ADMIN
            page = drill.layout(ADMIN, level, region_code, week="2026-W45")
            live = drill.layout(ADMIN, level, region_code)
        assert "历史视图" in texts(find(page, asof.BANNER)), level
        assert "当时指标" in texts(page) and "当时指标" not in texts(live)
        assert "/screen?week=2026-W45" in texts(page)  # the way back keeps the week
        if level != "district":
            assert "/district?week=2026-W45" in texts(page)  # so does the breadcrumb
        assert find(live, asof.BANNER) is None
        indicators_then = texts(find(page, "drill-region"))
        assert '"week": "2026-W45"' in indicators_then or "'week': '2026-W45'" in indicators_then
    # The grid's table then: six tickets of W45 with their status at the week's end.
    with app.server.test_request_context("/grid"):
        g.viewer = ADMIN
        rows, count, _ = drill.apply_filters(
            "30d", None, "overdue", {"level": "grid", "code": code, "moment": {"week": "2026-W45"}}
        )
        weekly = drill.load_weekly({"level": "grid", "code": code, "moment": {"week": "2026-W45"}})
    assert len(rows) == 1 and rows[0]["status_label"] == status_label("in_progress")  # C, overdue then
    assert rows[0]["overdue"] is True and "1" in count
    x = weekly["data"][0]["x"]
    assert str(x[-1]).startswith("2026-11-02")  # the twelve weeks end with W45


def test_the_kiosk_wall_of_a_past_week(app, cases):  # noqa: F811
    """The wall's own viewer (the kiosk token, as the weekly report's screenshots use it)."""
    app.server.config["GCC_VIEWER_RESOLVER"] = Viewer.kiosk
    page = ScreenClient(app).load(Viewer.kiosk(), week="2026-W45")
    assert "历史视图" in texts(find(page, asof.BANNER))
    assert "在办工单" in texts(find(page, "screen-kpis"))
    assert app.server.test_client().get("/screen?week=2026-W45").status_code == 200
    assert app.server.test_client().get("/grid/X?week=2026-W45").status_code == 403  # no drill-down for it


def test_an_english_historical_wall(db, settings, cases):  # noqa: F811
    english = create_app(settings.model_copy(update={"gcc_locale": "en"}), db)
    english.server.config["GCC_VIEWER_RESOLVER"] = lambda: ADMIN
    banner = texts(find(ScreenClient(english).load(ADMIN, week="2026-W45"), asof.BANNER))
    assert "Historical view" in banner and "2026-W45 (until 2026-11-09 00:00)" in banner and "历史" not in banner
