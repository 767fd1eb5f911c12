"""In a real browser: the kiosk link opens the big screen with no login and no CSP violation, the
login form works, and an anonymous visitor of a staff page gets the login form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.auth_helpers import kiosk_url, login_as

pytestmark = pytest.mark.browser
CLOCK = re.compile(r"\d{2}:\d{2}:\d{2}")


@pytest.fixture
def server(live):
    return live


def watched_page(browser):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    remote = []
    page.on(
        "request",
        lambda r: remote.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None,
    )
    return page, problems, remote


@pytest.mark.slow  # ~6 s: waits for a whole refresh cycle of the wall
def test_kiosk_link_opens_the_big_screen_without_csp_violations(server, browser):
    page, problems, remote = watched_page(browser)
    page.goto(kiosk_url(server))
    page.wait_for_load_state("networkidle")
    asof = page.locator("#screen-asof-text")
    expect(asof).to_have_text(CLOCK, timeout=20000)
    expect(asof).not_to_have_text(asof.inner_text(), timeout=20000)  # a whole refresh cycle of the callbacks
    assert "/login" not in page.url
    body = page.inner_text("body")
    assert "请先登录" not in body and "无权" not in body
    if page.query_selector(".maplibregl-map"):
        page.wait_for_selector(".maplibregl-canvas", timeout=20000)
    violations = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert not violations, violations
    assert not problems, problems
    assert not remote, f"remote requests: {remote}"
    page.close()


def test_login_form_in_a_browser_and_a_staff_page_for_anonymous(server, browser):
    page, problems, _ = watched_page(browser)
    response = page.goto(server.url + "/screen")
    assert response.status == 401 and page.query_selector("#username") is not None
    login_as(page, server.url, "dispatcher")
    assert "/login" not in page.url
    page.goto(server.url + "/screen")
    page.wait_for_load_state("networkidle")
    assert "请先登录" not in page.inner_text("body")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    page.close()


@pytest.mark.slow  # ~15 s: loads every page
def test_every_page_renders_for_the_admin_without_csp_violations(server, browser):
    """Every page the app registers (read from the app, so new pages are included)."""
    import json

    from sqlalchemy import text

    with server.database.reader() as s:
        grid = s.execute(text("SELECT code FROM regions WHERE level = 'grid' ORDER BY code LIMIT 1")).scalar()
        ticket_id, token = s.execute(text("SELECT id, public_token FROM tickets ORDER BY id LIMIT 1")).one()
    values = {"code": grid, "ticket_id": ticket_id, "token": token}
    pages = json.loads(server.cli("routes", "--json").stdout)["pages"]
    page, problems, remote = watched_page(browser)
    login_as(page, server.url, "admin")
    visited = []
    for entry in pages:
        path = re.sub(r"<([^>]+)>", lambda m: str(values.get(m.group(1), "x")), entry["path_template"] or entry["path"])
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        visited.append(path)
    violations = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert not violations, violations
    assert not remote, f"remote requests: {remote}"
    assert "/screen" in visited
    page.close()
