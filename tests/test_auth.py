"""Accounts, login, lockout, sessions, kiosk tokens and the hardening around them (issue #6).
In-process Flask test client against the real app on the real test database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from dashboard.server import create_app
from data import users
from data.clock import utcnow
from data.settings import SettingsError, load_settings

PASSWORD = "test-pass-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def accounts(db, district):
    with db.session() as s:
        return users.create_demo_accounts(s, PASSWORD)


@pytest.fixture
def client(db, settings, accounts):
    app = create_app(settings, db)
    return app.server.test_client()


def csrf(client, path="/login") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def login(client, username, password=PASSWORD, **extra):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(client), **extra})


# --- accounts ------------------------------------------------------------------------------


def test_passwords_are_stored_as_scrypt_hashes(db, accounts):
    with db.reader() as s:
        admin = users.find_user(s, "admin")
        assert admin.password_hash.startswith("scrypt:") and PASSWORD not in admin.password_hash


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(username="x", password=PASSWORD, role="admin"), "username"),
        (dict(username="bob", password="short", role="admin"), "at least 8"),
        (dict(username="bob", password=PASSWORD, role="wizard"), "role must be"),
        (dict(username="bob", password=PASSWORD, role="supervisor"), "needs an area"),
        (dict(username="bob", password=PASSWORD, role="property"), "--organisation"),
        (dict(username="bob", password=PASSWORD, role="supervisor", region_code="nope"), "no region"),
        (dict(username="admin", password=PASSWORD, role="admin"), "already exists"),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(db, accounts, kwargs, message):
    with db.session() as s, pytest.raises(users.UserError, match=message):
        users.create_user(s, **kwargs)


def test_each_demo_account_gets_the_scope_of_its_role(db, district, accounts):
    with db.reader() as s:
        by_name = {u.username: u for u in users.list_users(s)}
        viewer = users.viewer_for(by_name["community"])
        assert {a.username for a in accounts} == set(by_name)
        assert by_name["admin"].region_id is None
        assert by_name["dispatcher"].region_id is None  # the district: no limit, not "the district's id"
        street, community = by_name["street"], by_name["community"]
        assert street.region_id in set(district.street_of.values())
        assert community.region_id in set(district.community_of.values())
        assert by_name["worker"].staff_id in set(district.worker_of.values())
        assert by_name["property"].organisation_id is not None
        assert (viewer.role, viewer.region_id, viewer.user_id) == ("supervisor", community.region_id, community.id)


# --- login and lockout ----------------------------------------------------------------------


def test_lockout_after_repeated_failures_even_with_the_right_password(db, accounts):
    policy = users.LoginPolicy(max_failures=3, lockout=timedelta(minutes=10))
    now = utcnow()
    with db.session() as s:
        outcomes = [users.authenticate(s, "street", "wrong-one", policy, now=now).outcome for _ in range(3)]
    assert outcomes == ["bad_password", "bad_password", "lockout"]
    with db.session() as s:
        assert users.authenticate(s, "street", PASSWORD, policy, now=now + timedelta(minutes=9)).outcome == "locked"
    with db.session() as s:
        assert users.authenticate(s, "street", PASSWORD, policy, now=now + timedelta(minutes=11)).ok


def test_a_successful_login_resets_the_failure_count(db, accounts):
    policy = users.LoginPolicy(max_failures=3)
    with db.session() as s:
        users.authenticate(s, "street", "wrong-one", policy)
        users.authenticate(s, "street", "wrong-one", policy)
        assert users.authenticate(s, "street", PASSWORD, policy).ok
        assert users.authenticate(s, "street", "wrong-one", policy).outcome == "bad_password"


def test_disabled_and_unknown_accounts_cannot_log_in(db, accounts):
    policy = users.LoginPolicy()
    with db.session() as s:
        users.set_active(s, "worker", False)
    with db.session() as s:
        assert users.authenticate(s, "worker", PASSWORD, policy).outcome == "disabled"
        assert users.authenticate(s, "nobody", PASSWORD, policy).outcome == "unknown_user"


def test_login_form_sets_a_hardened_session_cookie_and_lands_on_the_roles_home(client):
    response = login(client, "dispatcher")
    assert response.status_code == 303 and response.headers["Location"] == "/desk"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookies_when_configured(db, settings, accounts):
    app = create_app(settings.model_copy(update={"gcc_secure_cookies": True}), db)
    client = app.server.test_client()
    token = CSRF.search(client.get("/login", base_url="https://localhost").get_data(as_text=True)).group(1)
    response = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}, base_url="https://localhost"
    )
    assert "Secure" in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in response.headers


def test_login_refuses_a_missing_csrf_token_and_a_foreign_next_url(client):
    response = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 400
    assert login(client, "admin", next="https://evil.example/x").headers["Location"] == "/screen"
    client.post("/logout", data={"csrf_token": csrf(client, "/logout")})
    assert login(client, "admin", next="//evil.example/x").headers["Location"] == "/screen"
    client.post("/logout", data={"csrf_token": csrf(client, "/logout")})
    assert login(client, "admin", next="/grid/123").headers["Location"] == "/grid/123"


def test_wrong_password_and_lockout_answers(db, settings, accounts):
    settings = settings.model_copy(update={"gcc_login_max_failures": 2})
    client = create_app(settings, db).server.test_client()
    first = login(client, "street", "wrong-password")
    assert first.status_code == 401 and "用户名或密码错误" in first.get_data(as_text=True)
    second = login(client, "street", "wrong-password")
    assert second.status_code == 429 and "锁定" in second.get_data(as_text=True)
    assert login(client, "street").status_code == 429  # right password, still locked


def test_a_password_change_ends_existing_sessions(db, client):
    login(client, "admin")
    assert client.get("/logout").get_data(as_text=True).count("演示系统管理员") == 1
    with db.session() as s:
        users.set_password(s, "admin", "another-pass-1")
    assert "您尚未登录" in client.get("/logout").get_data(as_text=True)


def test_logout_needs_a_post_with_the_token(client):
    login(client, "admin")
    assert client.post("/logout", data={}).status_code == 400
    assert client.post("/logout", data={"csrf_token": csrf(client, "/logout")}).status_code == 303
    assert "您尚未登录" in client.get("/logout").get_data(as_text=True)


def test_cross_site_posts_are_refused(client):
    token = csrf(client)
    response = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403
    same = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "http://localhost"},
    )
    assert same.status_code == 303


# --- kiosk tokens ---------------------------------------------------------------------------


def test_kiosk_tokens_are_stored_hashed_and_can_be_revoked(db, client):
    with db.session() as s:
        token = users.create_kiosk_token(s, "wall")
    with db.reader() as s:
        stored = s.scalars(select(users.KioskToken.token_sha256)).all()
    assert token not in stored and len(stored) == 1
    with client:
        assert client.get(f"/screen?kiosk={token}").status_code == 200
        assert g.viewer.role == "kiosk"
        client.get("/_dash-layout")  # later requests of the page carry no token: the session is the kiosk
        assert g.viewer.role == "kiosk"
        client.get("/_dash-layout?kiosk=not-a-token")
        assert g.viewer.role == "kiosk"
    with db.session() as s:
        assert users.revoke_kiosk_tokens(s) == 1
    with client:
        client.get("/_dash-layout")
        assert g.viewer.role == "anonymous"
        client.get(f"/screen?kiosk={token}")
        assert g.viewer.role == "anonymous"


# --- secrets and hardening ------------------------------------------------------------------


def test_production_mode_refuses_to_start_without_a_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("GCC_PRODUCTION", "true")
    monkeypatch.delenv("GCC_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="GCC_SECRET_KEY"):
        load_settings(gcc_instance_dir=tmp_path)
    monkeypatch.setenv("GCC_SECRET_KEY", "s" * 40)
    assert load_settings(gcc_instance_dir=tmp_path).gcc_production


def test_demo_mode_makes_one_secret_per_instance(db, settings, accounts):
    first = create_app(settings, db).server.secret_key
    second = create_app(settings, db).server.secret_key
    path = settings.gcc_instance_dir / "secret_key"
    assert first == second == path.read_text().strip() and len(first) >= 32
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_security_headers_and_csp_on_every_response(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in csp and "worker-src 'self' blob:" in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'self'" in csp
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "unsafe-eval" not in csp and "*" not in csp


def test_debug_is_off_unless_the_environment_enables_it(db, settings, accounts):
    app = create_app(settings, db)
    assert settings.gcc_debug is False and app.server.debug is False


# --- the guard's table ----------------------------------------------------------------------


def test_a_route_missing_from_the_permission_table_is_refused(db, settings, accounts):
    app = create_app(settings, db)
    app.server.add_url_rule("/unlisted-report.csv", "unlisted", lambda: "secret,data")
    client = app.server.test_client()
    assert client.get("/unlisted-report.csv").status_code == 401
    login(client, "admin")
    assert client.get("/unlisted-report.csv").status_code == 403


def test_a_malformed_callback_request_is_a_400_not_a_500(client):
    login(client, "admin")
    for body in ({"output": 3}, {"output": "x.children"}, {"output": "x.children", "inputs": "nope"}, [1, 2]):
        assert client.post("/_dash-update-component", json=body).status_code == 400
    unknown = {
        "output": "nothing-here.children",
        "outputs": {"id": "nothing-here", "property": "children"},
        "inputs": [],
    }
    assert client.post("/_dash-update-component", json=unknown).status_code == 404
