"""In a real phone-sized browser (360 px, headless Chromium): a resident reports with a photo and
a tap on the offline map, gets the ticket number and its status page; the ticket then appears in
the dispatcher's desk. Also: GPS fills the point, and the pages make no remote request and break
no CSP rule."""

from __future__ import annotations

import io
import re

import pytest
import requests
from PIL import Image

from tests.auth_helpers import login_as

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture
def server(live):
    return live


@pytest.fixture(scope="module")
def key(live):
    return live.api_key("dispatcher")


def expect(locator):
    from playwright.sync_api import expect as playwright_expect  # polls from Python: no eval under the CSP

    return playwright_expect(locator)


def watch(page, server):
    problems, remote = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith((server.url, "data:", "blob:")) else None)
    return problems, remote


def photo_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (180, 120, 60)).save(out, "JPEG")
    return out.getvalue()


def test_resident_reports_with_a_photo_and_the_dispatcher_sees_it(server, key, browser):
    context = browser.new_context(**PHONE, locale="zh-CN")
    page = context.new_page()
    problems, remote = watch(page, server)
    page.goto(server.url + "/report")
    page.wait_for_selector("#map svg path")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    page.select_option("#category", "0101")
    page.fill("#description", "小区门口垃圾没人清")
    page.set_input_files("#photos", files=[{"name": "site.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes()}])
    page.wait_for_selector("#previews img")
    page.click("[data-zoom='1.6']")
    box = page.locator("#map svg").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.input_value("#lon") and page.input_value("#lat")
    assert "地图点选" in page.inner_text("#where")
    page.click("#submit")
    page.wait_for_selector("#done:not(.hidden)", timeout=20000)
    ticket_id = int(page.inner_text("#ticket-number"))
    page.click("#status-link")
    page.wait_for_load_state("networkidle")
    assert re.search(rf"工单 {ticket_id}", page.inner_text("h1")) and "待受理" in page.inner_text("body")
    assert page.locator(".thumbs img").count() == 1
    assert page.evaluate("document.querySelector('.thumbs img').naturalWidth") > 0  # the photo route served it
    assert not problems, problems
    assert not remote, remote
    context.close()

    # The API agrees: a resident report with one photo, placed in a grid.
    detail = requests.get(f"{server.url}/api/v1/tickets/{ticket_id}", headers={"X-Api-Key": key}, timeout=30)
    body = detail.json()
    assert body["source"] == "resident" and body["status"] == "reported" and len(body["photos"]) == 1
    assert body["grid"] is not None

    # The dispatcher's desk lists it.
    desk = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = desk.new_page()
    login_as(page, server.url, "dispatcher")
    page.goto(server.url + "/desk")
    page.wait_for_load_state("networkidle")
    row = page.locator(".gcc-grid [role=row]", has_text=f"#{ticket_id}")  # the new-reports queue's table
    # The queue is worked oldest first, fifteen a page: the newest report is on the last page.
    expect(page.locator(".gcc-grid [role=row]").first).to_be_visible(timeout=20000)
    page.evaluate("() => dash_ag_grid.getApi('desk-table').paginationGoToLastPage()")
    expect(row).to_have_count(1, timeout=20000)
    expect(row).to_contain_text("暴露垃圾")
    expect(row).to_contain_text("居民随手拍")
    desk.close()


def test_gps_fills_the_point_in_wgs84(server, browser):
    context = browser.new_context(
        **PHONE, geolocation={"longitude": 115.41, "latitude": 25.96}, permissions=["geolocation"]
    )
    page = context.new_page()
    page.goto(server.url + "/report")
    page.wait_for_selector("#map svg path")
    page.click("#gps")
    expect(page.locator("#lon")).not_to_have_value("", timeout=10000)
    assert float(page.input_value("#lon")) == pytest.approx(115.41)
    assert float(page.input_value("#lat")) == pytest.approx(25.96)
    assert "GPS" in page.inner_text("#where")
    context.close()


def test_a_refused_submission_shows_the_reason_and_keeps_the_form(server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(server.url + "/report")
    page.wait_for_selector("#map svg path")
    page.select_option("#category", "0101")
    page.set_input_files("#photos", files=[{"name": "notes.gif", "mimeType": "image/gif", "buffer": b"GIF89a junk"}])
    page.click("#submit")
    page.wait_for_selector("#message.error")
    assert "JPEG" in page.inner_text("#message")
    assert page.is_visible("#report-form") and page.input_value("#category") == "0101"
    context.close()
