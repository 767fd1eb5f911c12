"""Log a test client in as a demo account, or open the big screen as the kiosk.

    login_as(page_or_session, server.url, "dispatcher")     # Playwright Page or requests.Session
    open_kiosk(page_or_session, server)                       # a fresh kiosk token via the CLI

Roles map to the accounts `python app.py demo` creates (data.users.create_demo_accounts); a demo
username works too. The password is GCC_DEMO_PASSWORD or the documented demo default.
"""

from __future__ import annotations

import os
import re

from data.users import DEMO_DEFAULT_PASSWORD

DEMO_USERS = {
    "admin": "admin",
    "dispatcher": "dispatcher",
    "supervisor": "community",
    "community_supervisor": "community",
    "street_supervisor": "street",
    "grid_head": "gridhead",
    "grid_worker": "worker",
    "property": "property",
    "department": "department",
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def demo_password() -> str:
    return os.environ.get("GCC_DEMO_PASSWORD") or DEMO_DEFAULT_PASSWORD


def login_as(target, server_url: str, role: str, *, password: str | None = None):
    """Log in through the real /login form. `target` is a requests.Session or a Playwright Page.
    Returns the response of the login POST (requests) or the page (Playwright)."""
    username = DEMO_USERS.get(role, role)
    password = password or demo_password()
    base = server_url.rstrip("/")
    if _is_playwright(target):
        target.goto(f"{base}/login")
        target.fill("#username", username)
        target.fill("#password", password)
        with target.expect_navigation():
            target.click("button[type=submit]")
        if "/login" in target.url:
            raise AssertionError(f"login as {username} failed: {target.inner_text('body')[:300]}")
        return target
    form = target.get(f"{base}/login", timeout=30)
    match = _CSRF.search(form.text)
    if form.status_code != 200 or not match:
        raise AssertionError(f"GET /login returned {form.status_code}: {form.text[:300]}")
    response = target.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": match.group(1), "next": ""},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 303:
        raise AssertionError(f"login as {username} failed with {response.status_code}: {response.text[:300]}")
    return response


def logout(target, server_url: str) -> None:
    base = server_url.rstrip("/")
    if _is_playwright(target):
        target.goto(f"{base}/logout")
        with target.expect_navigation():
            target.click("button[type=submit]")
        return
    page = target.get(f"{base}/logout", timeout=30)
    token = _CSRF.search(page.text)
    target.post(f"{base}/logout", data={"csrf_token": token.group(1) if token else ""}, allow_redirects=False)


def kiosk_url(server) -> str:
    """A new kiosk link for a tests.live_server.LiveServer (through `python app.py kiosk-url`)."""
    result = server.cli("kiosk-url", "--base-url", server.url, "--label", "test")
    return result.stdout.strip().splitlines()[-1]


def open_kiosk(target, server, url: str | None = None):
    """Open /screen with a kiosk token; afterwards `target` is the kiosk (its session cookie)."""
    url = url or kiosk_url(server)
    if _is_playwright(target):
        target.goto(url)
        return target
    response = target.get(url, timeout=30)
    if response.status_code != 200:
        raise AssertionError(f"kiosk link returned {response.status_code}: {response.text[:300]}")
    return response


def _is_playwright(target) -> bool:
    return hasattr(target, "goto") and hasattr(target, "fill")
