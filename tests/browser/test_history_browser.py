"""Historical views in headless Chromium against the real app (issue #10): /screen?week= draws the
wall of that week (every grid, the charts) under the 历史视图 banner and never refreshes while a
live wall beside it does; a click on a grid keeps the week; a bad moment is a 400 with a notice.

Screenshots at 1920x1080 go to test-artifacts/ (screen-week.png, grid-week.png).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from data.history import last_finished_week
from data.models import Region
from tests.auth_helpers import login_as
from tests.browser.test_screen import MAP_STATE, WALL, clear_of_markers, wait_for_charts, wait_for_map, watch
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TZ = "Asia/Shanghai"


def interval_calls(page) -> list:
    """The refresh callbacks the page sends (their body names the interval that fired)."""
    calls = []

    def seen(request):
        if "_dash-update-component" in request.url:
            body = (request.post_data or "").replace(" ", "")
            calls.append("refresh" if '"changedPropIds":["screen-interval' in body else "other")

    page.on("request", seen)
    return calls


def refreshes(calls) -> list:
    return [c for c in calls if c == "refresh"]


def test_the_wall_of_last_week(live, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    with live.database.reader() as s:
        grids = set(s.scalars(select(Region.code).where(Region.level == "grid")))
    week = last_finished_week(None, TZ)
    context = browser.new_context(**WALL)
    page = context.new_page()
    errors, remote = watch(page, live)
    login_as(page, live.url, "admin")
    past_calls = interval_calls(page)
    page.goto(f"{live.url}/screen?week={week}")
    banner = page.locator("#gcc-history-banner")
    expect(banner).to_contain_text("历史视图", timeout=20000)
    expect(banner).to_contain_text(week)
    state = wait_for_map(page, grids=len(grids))
    assert set(state["grids"]) == grids
    wait_for_charts(page)
    clock = page.inner_text("#screen-clock")
    assert page.locator("#screen-ranking a").first.get_attribute("href").endswith(f"?week={week}")
    page.screenshot(path=str(ARTIFACTS / "screen-week.png"))

    # A live wall in another tab refreshes twice; the historical one meanwhile not once.
    live_tab = context.new_page()
    live_calls = interval_calls(live_tab)
    live_tab.goto(f"{live.url}/screen")
    # (Each check calls into the browser: the sync API delivers request events only then.)
    wait_until(
        lambda: page.evaluate("1") and len(refreshes(live_calls)) >= 2,
        timeout=60,
        what="two refreshes of the live wall",
    )
    assert refreshes(past_calls) == []
    assert page.inner_text("#screen-clock") == clock  # the clock stands at the moment
    live_tab.close()

    # A click on a grid opens that grid in the same week.
    code, (x, y) = clear_of_markers(page, sorted(page.evaluate(MAP_STATE)["grids"].items()))
    with page.expect_navigation(url=re.compile(rf"/grid/{code}\?week={week}$"), timeout=15000):
        page.mouse.click(x, y)
    expect(page.locator("#gcc-history-banner")).to_contain_text(week, timeout=20000)
    page.wait_for_selector("#drill-map .maplibregl-canvas", timeout=30000)
    page.screenshot(path=str(ARTIFACTS / "grid-week.png"))
    assert not errors, errors
    assert not remote, remote

    response = page.goto(f"{live.url}/screen?as_of=garbage")
    assert response.status == 400
    assert "历史视图参数无效" in page.inner_text("body")
    context.close()
