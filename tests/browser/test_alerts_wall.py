"""Early warning on the wall (issue #11), in headless Chromium against the shared live server: a
burst of reports posted through /api/v1 becomes an alert (the scheduler's detect_alerts job,
GCC_ALERT_SECONDS from LIVE_ENV) that appears in the wall's 预警 panel and as a marker on the
map; its link opens the grid's drill-down filtered to the evidence, and the desk's queue
(/alerts) acknowledges it."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import requests
import shapely
from playwright.sync_api import expect
from sqlalchemy import select

from data.alerts.models import Alert
from data.models import Region
from data.regions import current_boundary
from tests.auth_helpers import kiosk_url, login_as
from tests.conftest import LIVE_ENV
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WALL = {"viewport": {"width": 1920, "height": 1080}, "locale": "zh-CN"}
WAIT_S = int(LIVE_ENV["GCC_REFRESH_SECONDS"]) + int(LIVE_ENV["GCC_ALERT_SECONDS"]) + 15
MARKERS = "() => window.gccAlertMarkers ? window.gccAlertMarkers() : 0"  # assets/gcc_alerts.js
READY = "() => window.gccReady ? window.gccReady() : {ready: false}"  # assets/gcc_ready.js


def test_a_burst_posted_through_the_api_appears_in_the_wall_alerts_panel(live, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    with live.database.reader() as s:
        grid = s.scalars(select(Region).where(Region.level == "grid").order_by(Region.code.desc())).first()
        grid_name, grid_code = grid.name, grid.code
        centre = shapely.from_geojson(current_boundary(s, grid.id).geometry).representative_point()
    context = browser.new_context(**WALL)
    page = context.new_page()
    try:
        page.goto(kiosk_url(live))
        expect(page.locator(".screen-alerts-panel")).to_be_visible(timeout=30_000)
        before = wait_until(lambda: page.evaluate(MARKERS), timeout=30, what="the demo's alert markers")
        key = live.api_key("dispatcher")
        mark = uuid.uuid4().hex[:8]
        for i in range(5):
            posted = requests.post(
                f"{live.url}/api/v1/tickets",
                json={
                    "category": "0403",
                    "description": f"电梯又停了 {mark} {i}",
                    "lon": centre.x + i * 1e-5,
                    "lat": centre.y,
                },
                headers={"X-Api-Key": key},
                timeout=30,
            )
            assert posted.status_code == 201, posted.text
        item = page.locator(".screen-alerts-panel .alert-item", has_text="电梯故障").filter(has_text=grid_name)
        expect(item.first).to_be_visible(timeout=WAIT_S * 1000)
        shown = int(re.search(r"(\d+)件", item.first.inner_text()).group(1))
        assert shown >= 5  # its evidence count: the burst (and any report of the kind already there)
        wait_until(lambda: page.evaluate(MARKERS) > before, timeout=WAIT_S, what="a marker for the new alert")
        # The pulse costs the map nothing: with markers pulsing it still settles (loaded, idle), so the
        # readiness signal and the weekly report's captures still see a drawn wall.
        wait_until(lambda: page.evaluate(READY)["ready"] or None, timeout=60, what="the wall ready with markers")
        page.screenshot(path=str(ARTIFACTS / "screen-alerts.png"))
        assert item.first.locator("a").count() == 0  # the kiosk may not open drill-downs: no dead link
    finally:
        context.close()
    # For a dispatcher the row links to the grid's drill-down with only the burst's tickets.
    context = browser.new_context(**WALL)
    page = context.new_page()
    try:
        login_as(page, live.url, "dispatcher")
        page.goto(live.url + "/screen")
        item = page.locator(".screen-alerts-panel .alert-item", has_text="电梯故障").filter(has_text=grid_name)
        href = item.first.locator("a").get_attribute("href", timeout=30_000)
        assert href.startswith(f"/grid/{grid_code}?alert=")
        page.goto(live.url + href)
        expect(page.locator(".page-notice")).to_contain_text("证据工单", timeout=30_000)
        expect(page.locator("#drill-count")).to_have_text(re.compile(rf"(^|\D){shown}(\D|$)"), timeout=30_000)
        # The desk's queue: choose the alert, acknowledge it (audited, scoped: data.alerts.store).
        alert_id = int(href.split("alert=")[1].split("&")[0])
        page.goto(live.url + "/alerts")
        page.locator(".ag-row", has_text=grid_name).filter(has_text="电梯故障").first.click()
        page.get_by_role("button", name="确认").click()
        expect(page.locator("#alerts-message")).to_contain_text("已确认", timeout=30_000)
        with live.database.reader() as s:
            assert s.get(Alert, alert_id).state == "acknowledged"
    finally:
        context.close()
