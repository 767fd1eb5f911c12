"""The big screen, the drill-down and the desk in headless Chromium against the real app:

- /screen (kiosk link) loads with no console error and no request to any other host; the map holds
  one polygon per grid; a report posted to /api/v1 shows up in the feed, the KPIs and the heat
  within one refresh plus one aggregate interval;
- clicking a polygon opens that grid's page;
- the desk dispatches a ticket (the event is in the database).

All on the session's shared `live` server (tests/conftest.py, whose LIVE_ENV sets the short refresh
intervals); the stale-marker test pauses that server (SIGSTOP) and always resumes it.

Screenshots at 1920x1080 go to test-artifacts/ (screen.png, grid.png, desk.png) for a human to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
import shapely
from playwright.sync_api import expect
from sqlalchemy import select

from data import workflow
from data.access import Viewer
from data.locate import locator
from data.models import Category, GridTeam, Region, Ticket, TicketEvent
from data.regions import current_boundary
from tests.auth_helpers import kiosk_url, login_as
from tests.conftest import LIVE_ENV
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # ~40 s: waits for refresh cycles

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WALL = {"viewport": {"width": 1920, "height": 1080}, "locale": "zh-CN"}
REFRESH_S, AGGREGATE_S = int(LIVE_ENV["GCC_REFRESH_SECONDS"]), int(LIVE_ENV["GCC_AGGREGATE_SECONDS"])


@pytest.fixture
def server(live):
    return live


@pytest.fixture(scope="module")
def grid_codes(live) -> set[str]:
    with live.database.reader() as s:
        return set(s.scalars(select(Region.code).where(Region.level == "grid")))


def watch(page, server):
    errors, remote = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith((server.url, "data:", "blob:")) else None)
    return errors, remote


MAP_STATE = """() => {
  const gd = document.querySelector('#screen-map .js-plotly-plot');
  const map = gd && gd._fullLayout.map && gd._fullLayout.map._subplot && gd._fullLayout.map._subplot.map;
  if (!map || !map.loaded()) { return null; }
  const fill = 'plotly-trace-layer-' + gd._fullData[0].uid + '-fill';
  const features = map.queryRenderedFeatures({layers: [fill]});
  const grids = {};
  features.forEach(f => { grids[String(f.id)] = f.properties.ct; });
  return {grids: grids, locations: gd.data[1].locations, heat: gd.data[2].z.reduce((a, b) => a + b, 0),
          box: gd.getBoundingClientRect().toJSON()};
}"""


PIXEL_OF = """([lon, lat]) => {
  const gd = document.querySelector('#screen-map .js-plotly-plot');
  const p = gd._fullLayout.map._subplot.map.project([lon, lat]);
  const r = gd.querySelector('.maplibregl-canvas').getBoundingClientRect();
  return [r.left + p.x, r.top + p.y];
}"""


MARKER_BOXES = "() => [...document.querySelectorAll('.gcc-alert-marker')].map(m => m.getBoundingClientRect().toJSON())"


def clear_of_markers(page, grids: list) -> tuple[str, tuple[float, float]]:
    """A grid (code, its label point's pixel) clear of the alert markers, which sit on top of the
    map and open their alert: from the middle of the list on."""
    boxes = page.evaluate(MARKER_BOXES)

    def free(x, y, pad=12):
        return all(
            not (b["left"] - pad <= x <= b["right"] + pad and b["top"] - pad <= y <= b["bottom"] + pad) for b in boxes
        )

    for code, lonlat in grids[len(grids) // 2 :] + grids[: len(grids) // 2]:
        x, y = page.evaluate(PIXEL_OF, list(lonlat))
        if free(x, y):
            return code, (x, y)
    raise AssertionError("every grid's label point is under an alert marker")


def wait_for_map(page, *, grids: int, timeout_s: float = 30):
    def drawn():
        state = page.evaluate(MAP_STATE)
        return state if state and len(state["grids"]) >= grids else None

    return wait_until(drawn, timeout=timeout_s, what=f"the map to draw {grids} grids")


def wait_for_charts(page):
    """Every panel of the wall drawn (before a screenshot or a check of what it shows)."""
    for selector in CHARTS:
        expect(page.locator(selector).first).to_be_visible(timeout=20000)


CHARTS = (
    "#screen-kpis .kpi-card",
    "#screen-feed .feed-item",
    "#screen-ranking li",
    "#screen-trend .main-svg",
    "#screen-hourly .main-svg",
    "#screen-category .main-svg",
)
DRILL_MAP_LOADED = """() => {
  const gd = document.querySelector('#drill-map .js-plotly-plot');
  const map = gd && gd._fullLayout.map && gd._fullLayout.map._subplot && gd._fullLayout.map._subplot.map;
  return Boolean(map && map.loaded());
}"""


def kpi(page, key: str) -> int:
    return int(page.inner_text(f"#screen-kpi-{key}").replace(",", ""))


def test_the_wall_screen(server, grid_codes, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(**WALL)
    page = context.new_page()
    errors, remote = watch(page, server)
    page.goto(kiosk_url(server))
    page.wait_for_selector(".maplibregl-canvas", timeout=30000)
    state = wait_for_map(page, grids=len(grid_codes))
    assert set(state["grids"]) == grid_codes  # one polygon drawn per grid, every grid
    assert sorted(state["locations"]) == sorted(grid_codes)
    wait_for_charts(page)
    page.screenshot(path=str(ARTIFACTS / "screen.png"))
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", page.inner_text("#screen-asof-text"))
    assert "is-hidden" in page.get_attribute("#screen-stale", "class")  # the scheduler keeps it fresh
    assert page.inner_text(".brand-district")

    # A report through the intake API appears within a refresh plus an aggregate interval.
    key = server.api_key("dispatcher")
    before_reported, before_heat = kpi(page, "reported_today"), state["heat"]
    with server.database.reader() as s:
        grid = s.scalars(select(Region).where(Region.level == "grid").order_by(Region.code)).first()
        grid_name = grid.name
        centre = shapely.from_geojson(current_boundary(s, grid.id).geometry).representative_point()
    posted = requests.post(
        f"{server.url}/api/v1/tickets",
        json={
            "category": "0402",
            "description": "楼上漏水到我家",
            "lon": centre.x,
            "lat": centre.y,
            "reporter_name": "李四",
            "reporter_phone": "13900001111",
        },
        headers={"X-Api-Key": key},
        timeout=30,
    )
    assert posted.status_code == 201, posted.text
    wait_until(
        lambda: kpi(page, "reported_today") > before_reported,
        timeout=REFRESH_S + AGGREGATE_S + 10,  # one of each, plus the scheduler's jitter
        what="the report on the wall",
    )
    assert kpi(page, "reported_today") == before_reported + 1
    first = page.locator("#screen-feed .feed-item").first
    assert "漏水" in first.inner_text() and grid_name in first.inner_text()
    assert "李四" not in page.content() and "13900001111" not in page.content()
    assert page.evaluate(MAP_STATE)["heat"] == before_heat + 1
    assert not errors, errors
    assert not remote, remote
    context.close()


def test_clicking_a_grid_opens_its_page(server, grid_codes, browser):
    context = browser.new_context(**WALL)
    page = context.new_page()
    errors, remote = watch(page, server)
    login_as(page, server.url, "admin")
    page.goto(server.url + "/screen")
    state = wait_for_map(page, grids=len(grid_codes))
    code, (x, y) = clear_of_markers(page, sorted(state["grids"].items()))
    with page.expect_navigation(url=re.compile(rf"/grid/{code}$"), timeout=15000):
        page.mouse.click(x, y)
    page.wait_for_selector(".breadcrumb")
    page.wait_for_selector("#drill-map .maplibregl-canvas", timeout=30000)
    page.wait_for_selector("#drill-tickets .ag-row", timeout=30000)
    with server.database.reader() as s:
        name = s.scalars(select(Region.name).where(Region.code == code)).one()
    assert page.inner_text(".page-title h1") == name
    assert page.locator(".breadcrumb a").count() == 3  # district › street › community › this grid
    wait_until(lambda: page.evaluate(DRILL_MAP_LOADED), timeout=30, what="the grid's map to finish drawing")
    page.screenshot(path=str(ARTIFACTS / "grid.png"))
    # Filters go into the address bar, and a shared link reproduces them.
    page.click("#drill-status")
    page.get_by_role("option", name="已办结").click()
    expect(page).to_have_url(re.compile(r"[?&]status=closed"), timeout=10000)
    assert not errors, errors
    assert not remote, remote
    context.close()


def _accepted_ticket(server) -> int:
    """A report in a grid with a team, accepted (立案): the desk's "to dispatch" queue."""
    with server.database.session() as s:
        grid_id = s.scalars(
            select(GridTeam.grid_id).where(GridTeam.grid_worker_id.is_not(None)).order_by(GridTeam.grid_id)
        ).first()
        centre = shapely.from_geojson(current_boundary(s, grid_id).geometry).representative_point()
        category = s.scalars(select(Category).where(Category.code == "0101")).one()
        ticket = workflow.create(
            s,
            Viewer(role="resident"),
            workflow.Submission(
                source="resident",
                category_id=category.id,
                description="路边垃圾堆积",
                lon=centre.x,
                lat=centre.y,
                placement=locator(s).place(centre.x, centre.y),
            ),
        )
        workflow.apply(s, Viewer.system("测试调度"), ticket.id, workflow.ActionInput("accept"))
        return ticket.id


def test_the_desk_dispatches(server, browser):
    ticket_id = _accepted_ticket(server)
    context = browser.new_context(**WALL)
    page = context.new_page()
    errors, remote = watch(page, server)
    login_as(page, server.url, "dispatcher")
    page.goto(server.url + "/desk?queue=unassigned")
    row = page.locator("#desk-table .ag-row", has_text=f"#{ticket_id}")
    row.wait_for(timeout=20000)
    row.locator(".ag-cell").nth(2).click()
    button = page.locator("#desk-panel button.action-button", has_text="派遣").first
    button.wait_for(timeout=15000)
    button.click()
    page.wait_for_selector("#desk-message.ok", timeout=15000)
    assert str(ticket_id) in page.inner_text("#desk-message")
    page.screenshot(path=str(ARTIFACTS / "desk.png"))
    with server.database.reader() as s:
        ticket = s.get(Ticket, ticket_id)
        event = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id.desc())
        ).first()
        assert ticket.status == "dispatched" and ticket.assignee_staff_id is not None
        assert event.action == "dispatch" and event.actor_role == "dispatcher"
    # Asking for a reason: escalating without one is refused in plain words and changes nothing.
    page.locator("#desk-panel button.action-button", has_text="督办").first.click()
    page.click("#desk-confirm")
    page.wait_for_selector("#desk-message.error", timeout=15000)
    assert "原因" in page.inner_text("#desk-message")
    with server.database.reader() as s:
        assert s.get(Ticket, ticket_id).escalation_level == 0
    assert not errors, errors
    assert not remote, remote
    context.close()


def test_rotation_and_the_stale_marker(server, grid_codes, browser):
    """?rotate=N cycles the metric and flies to a community; when the server stops answering the
    wall keeps its numbers and shows the stale marker, and it recovers by itself."""
    import signal

    context = browser.new_context(**WALL)
    page = context.new_page()
    page.goto(kiosk_url(server) + "&rotate=10")
    wait_for_map(page, grids=len(grid_codes))
    zoom = "() => document.querySelector('#screen-map .js-plotly-plot')._fullLayout.map.zoom"
    district_zoom = page.evaluate(zoom)
    assert page.locator("#screen-map-metric input:checked").get_attribute("value") == "open_now"
    expect(page.locator("#screen-map-focus")).to_have_text(re.compile(r"^聚焦："), timeout=20000)
    assert page.locator("#screen-map-metric input:checked").get_attribute("value") == "overdue_now"
    wait_until(  # the community fills the map
        lambda: page.evaluate(zoom) > district_zoom + 0.5, timeout=10, what="the map to zoom into the community"
    )

    reported = page.inner_text("#screen-kpi-reported_today")
    stale_after = 2 * REFRESH_S + AGGREGATE_S
    server.process.send_signal(signal.SIGSTOP)  # the server (and its scheduler) stops answering
    try:
        page.wait_for_selector("#screen-stale:not(.is-hidden)", timeout=(stale_after + 10) * 1000)
        assert page.inner_text("#screen-kpi-reported_today") == reported  # the last data stays
        assert page.locator("#screen-kpis .kpi-card").count() == 8
        page.screenshot(path=str(ARTIFACTS / "screen-stale.png"))
    finally:
        server.process.send_signal(signal.SIGCONT)
    page.wait_for_selector("#screen-stale.is-hidden", state="attached", timeout=(stale_after + 20) * 1000)
    context.close()
