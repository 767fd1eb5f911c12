"""In headless Chromium (issue #9): an admin adds an account on /users and finds the change on
/audit; a dispatcher downloads the drill-down table as CSV (made on the server); an unknown path
answers 404 and shows the not-found panel. No console errors (the CSP allows all of it)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from data.models import Region
from tests.auth_helpers import login_as

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def expect(locator):
    from playwright.sync_api import expect as playwright_expect  # polls from Python: no eval under the CSP

    return playwright_expect(locator)


def watch(page):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "404" not in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_admin_adds_an_account_and_finds_it_in_the_audit_log(live, browser):
    with live.database.reader() as s:
        community = s.scalars(select(Region.code).where(Region.level == "community").order_by(Region.code)).first()
    name = "head" + uuid.uuid4().hex[:8]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    problems = watch(page)
    login_as(page, live.url, "admin")
    page.goto(live.url + "/users")
    expect(page.locator("#users-table")).to_contain_text("dispatcher", timeout=30_000)
    page.fill("#users-username", name)
    page.fill("#users-display", "测试网格长")
    page.click("#users-role")
    page.get_by_text("网格长 (grid_head)", exact=True).click()
    page.fill("#users-region", community)
    page.click("#users-add")
    expect(page.locator("#users-message")).to_contain_text(f"已新增账户 {name}", timeout=30_000)
    expect(page.locator("#users-message")).to_contain_text("仅显示这一次")
    expect(page.locator("#users-table")).to_contain_text(name)

    page.goto(live.url + "/audit?action=user_add")
    expect(page.locator("#audit-table")).to_contain_text(name, timeout=30_000)
    assert not problems, problems
    context.close()


def test_dispatcher_downloads_the_table_made_on_the_server(live, browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    problems = watch(page)
    login_as(page, live.url, "dispatcher")
    page.goto(live.url + "/district?period=7d")
    button = page.locator("#drill-csv")
    expect(button).to_be_visible(timeout=30_000)
    with page.expect_download(timeout=60_000) as download:
        button.click()
    path = download.value.path()
    assert download.value.suggested_filename.startswith("tickets-") and download.value.suggested_filename.endswith(
        "-7d.csv"
    )
    text = open(path, encoding="utf-8").read()
    assert text.startswith("\ufeff工单号,")
    expect(page.locator("#drill-exported")).to_contain_text("已导出")
    assert not problems, problems
    context.close()


def test_an_unknown_path_is_a_404_with_the_not_found_panel(live, browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    login_as(page, live.url, "worker")
    response = page.goto(live.url + "/no-such-page")
    assert response.status == 404
    expect(page.get_by_text("页面不存在")).to_be_visible(timeout=30_000)
    context.close()
