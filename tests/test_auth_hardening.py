"""What a hostile test found in the login and the forms (issue #9 items 1, 2, 8, 9): logout ends
the session on every worker, production refuses the demo password, login answers alike for
unknown names and throttles per address, CSRF cookie Secure in production, a salt per account,
no invisible control characters stored. Real app, real test database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from dashboard.server import create_app
from data import intake, logins, sessions, users
from data.models import Ticket
from tests.api_fixtures import point_in
from tests.live_server import ROOT, app_env

PASSWORD = "test-pass-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = "s" * 40


@pytest.fixture
def accounts(db, district):
    with db.session() as s:
        return users.create_demo_accounts(s, PASSWORD)


def new_client(db, settings):
    return create_app(settings, db).server.test_client()


def form_token(client, path="/login") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def post_login(client, username, password=PASSWORD, address="127.0.0.1"):
    token = form_token(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


# --- 1. logout ends the session on every worker ------------------------------------------------


def test_logout_revokes_the_session_cookie_on_every_worker(db, settings, accounts):
    worker_a, worker_b = new_client(db, settings), new_client(db, settings)  # two processes' apps
    assert post_login(worker_a, "worker").status_code == 303
    cookie = worker_a.get_cookie("gcc_session").value
    worker_b.set_cookie("gcc_session", cookie)  # a copy of the cookie, sent to another worker
    assert worker_b.get("/my").status_code == 200
    assert worker_b.get("/api/v1/tickets").status_code == 200

    worker_a.post("/logout", data={"csrf_token": form_token(worker_a, "/logout")})

    thief = new_client(db, settings)
    thief.set_cookie("gcc_session", cookie)
    for client in (worker_b, thief):
        assert client.get("/api/v1/tickets").status_code == 401
        assert client.get("/my").status_code in (302, 303, 401)
    with db.reader() as s:
        row = s.scalars(select(sessions.LoginSession)).one()
        assert row.revoked_at is not None and len(row.token_sha256) == 64


def test_sessions_end_on_expiry_password_change_and_disable(db, accounts):
    from datetime import timedelta

    from data.clock import utcnow

    with db.session() as s:
        admin = users.find_user(s, "admin")
        token = sessions.start(s, admin, timedelta(hours=1))
        assert sessions.load(s, token).username == "admin"
        assert sessions.load(s, token, now=utcnow() + timedelta(hours=2)) is None
        users.set_password(s, "admin", "another-pass-1")
        assert sessions.load(s, token) is None
        fresh = sessions.start(s, admin, timedelta(hours=1))
        users.set_active(s, "admin", False)
        assert sessions.load(s, fresh) is None
        assert sessions.load(s, "not-a-token") is None


# --- 2. production refuses the documented demo password ----------------------------------------


def test_production_refuses_to_start_while_an_account_has_the_demo_password(db, settings, district):
    with db.session() as s:
        users.create_demo_accounts(s, users.DEMO_DEFAULT_PASSWORD)
        users.create_user(s, "clerk", "a-real-secret-1", "admin")
    production = settings.model_copy(update={"gcc_production": True, "gcc_secret_key": SECRET})
    with pytest.raises(users.DemoPasswordInProduction, match=r"admin, community, department.*set-password"):
        create_app(production, db)
    create_app(settings, db)  # demo mode: fine

    env = app_env({"DATABASE_URL": db.url, "GCC_PRODUCTION": "true", "GCC_SECRET_KEY": SECRET})
    env["GCC_INSTANCE_DIR"] = str(settings.gcc_instance_dir)
    result = subprocess.run(
        [sys.executable, "app.py", "--port", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr[-2000:]
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("error: production mode") and "worker" in message and "clerk" not in message
    assert "python app.py users set-password NAME" in message

    with db.session() as s:
        for account in users.demo_password_accounts(s):
            if account == "admin":
                users.set_password(s, account, "admin-new-pass-1")
            else:
                users.set_active(s, account, False)
        assert users.demo_password_accounts(s) == []
        users.set_password(s, "clerk", users.DEMO_DEFAULT_PASSWORD)  # set again by hand: caught again
    with pytest.raises(users.DemoPasswordInProduction, match="clerk"):
        create_app(production, db)
    with db.session() as s:
        users.set_password(s, "clerk", "a-real-secret-2")
    create_app(production, db)


# --- 8. login: one answer for unknown names, throttled per address ----------------------------


def test_unknown_name_and_wrong_password_answer_exactly_alike(db, settings, accounts, monkeypatch):
    hashes = []
    real_check = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda h, p: hashes.append(h) or real_check(h, p))
    client = new_client(db, settings)
    form_token(client)  # one CSRF token for both posts: the pages can be compared byte for byte
    answers = {}
    with db.session() as s:
        users.set_active(s, "worker", False)
    for name, password in (("admin", "wrong-pass"), ("nosuchname", "wrong-pass"), ("worker", PASSWORD)):
        response = post_login(client, name, password)
        answers[name] = (response.status_code, response.get_data(as_text=True).replace(name, "NAME"))
    assert answers["admin"] == answers["nosuchname"] == answers["worker"]
    assert answers["admin"][0] == 401

    # Locked alike too: the fifth failure locks a known and an unknown name at the same point.
    for name in ("admin", "nosuchname"):
        statuses = [post_login(client, name, "wrong-pass").status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429], name
        assert post_login(client, name, PASSWORD).status_code == 429

    # The same work: one scrypt check per attempt, against a dummy hash for the unknown name.
    first = hashes[:3]
    assert len(set(first)) == 3 and all(h.startswith("scrypt:") for h in first)


def test_guessing_from_one_address_does_not_lock_the_account_for_others(db, settings, accounts):
    strict = settings.model_copy(update={"gcc_login_max_failures": 2, "gcc_login_max_failures_per_address": 5})
    one, other = new_client(db, strict), new_client(db, strict)  # two workers, shared counters
    assert [post_login(one, "admin", "guess", "10.0.0.66").status_code for _ in range(3)] == [401, 429, 429]
    assert post_login(one, "admin", PASSWORD, "10.0.0.66").status_code == 429  # locked for that address
    assert post_login(other, "admin", PASSWORD, "10.0.0.7").status_code == 303  # not for everybody


def test_one_address_guessing_across_names_is_locked_out_entirely(db, settings, accounts):
    strict = settings.model_copy(update={"gcc_login_max_failures": 3, "gcc_login_max_failures_per_address": 4})
    one, other = new_client(db, strict), new_client(db, strict)
    statuses = [post_login(one, name, "guess", "10.0.0.66").status_code for name in ("a1", "b2", "c3", "d4")]
    assert statuses == [401, 401, 401, 429]
    assert post_login(other, "dispatcher", PASSWORD, "10.0.0.66").status_code == 429  # any name, any worker
    assert post_login(other, "dispatcher", PASSWORD, "10.0.0.8").status_code == 303
    with db.reader() as s:
        assert logins.locked_until(s, "anything", "10.0.0.66") is not None


def test_a_success_clears_the_names_counter_but_not_the_addresss(db, accounts):
    policy = users.LoginPolicy(max_failures=3, address_max_failures=5)
    with db.session() as s:
        for _ in range(2):
            users.authenticate(s, "street", "wrong-one", policy, address="10.1.1.1")
        assert users.authenticate(s, "street", PASSWORD, policy, address="10.1.1.1").ok
        outcomes = [users.authenticate(s, "street", "x", policy, address="10.1.1.1").outcome for _ in range(3)]
        assert outcomes == ["bad_password", "bad_password", "lockout"]  # 5 failures from the address
        assert users.authenticate(s, "community", PASSWORD, policy, address="10.1.1.1").outcome == "locked"
        users.set_password(s, "street", "brand-new-pass")  # lifts the name's locks, not the address's
        assert logins.locked_accounts(s) == {}


# --- 9. small ones --------------------------------------------------------------------------


def test_form_csrf_is_one_scheme_and_its_cookie_is_secure_in_production(db, settings, accounts):
    demo = new_client(db, settings)
    login_token = form_token(demo, "/login")
    assert form_token(demo, "/report") == login_token  # one token, one cookie for every form
    assert not demo.get_cookie("gcc_csrf").secure
    assert demo.get_cookie("gcc_phone_csrf") is None

    with db.session() as s:
        for name in users.demo_password_accounts(s):
            users.set_password(s, name, "production-pass-1")
    production = settings.model_copy(update={"gcc_production": True, "gcc_secret_key": SECRET})
    client = new_client(db, production)
    for path in ("/report", "/login"):
        fresh = new_client(db, production) if path == "/login" else client
        response = fresh.get(path, base_url="https://localhost")
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("gcc_csrf="))
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie


def test_each_demo_account_has_its_own_salt_and_hash(db, accounts):
    with db.reader() as s:
        hashes = [u.password_hash for u in users.list_users(s)]
    salts = [h.split("$")[1] for h in hashes]
    assert len(hashes) == 8 and len(set(hashes)) == 8 and len(set(salts)) == 8


@pytest.mark.parametrize(
    ("field", "given", "stored"),
    [
        ("reporter_name", "张\u202e三", "张三"),  # right-to-left override
        ("address", "幸福小区\u200b3栋", "幸福小区3栋"),  # zero width space
        ("description", "\ufeff井盖\u2066破损\u2069\r\n第二行\t完", "井盖破损\n第二行\t完"),
    ],
)
def test_format_characters_are_dropped_from_reports(field, given, stored):
    assert getattr(intake.Report(**{field: given}), field) == stored


@pytest.mark.parametrize("bad", ["a\x1b[31mb", "a\x85b", "a\x00b", "a\x7fb"])
def test_control_characters_are_refused_with_the_field_named(bad):
    for model, field in ((intake.Report, "address"), (intake.Report, "reporter_name"), (intake.Action, "note")):
        extra = {"action": "comment"} if model is intake.Action else {}
        with pytest.raises(ValidationError, match=field):
            model(**{field: bad, **extra})
    with pytest.raises(ValidationError, match="description"):
        intake.Report(description="line\x0bfeed")
    assert intake.Report(description="两行\n文字\t好").description == "两行\n文字\t好"


def test_a_phone_report_with_an_override_character_is_stored_without_it(db, settings, district):
    client = new_client(db, settings)
    token = form_token(client, "/report")
    lon, lat = point_in(db, district.grid_ids[0])
    response = client.post(
        "/report",
        data={
            "csrf_token": token,
            "category": "0101",
            "lon": str(lon),
            "lat": str(lat),
            "address": "长征路\u202e号01",
            "reporter_name": "\u200e王五",
            "description": "垃圾\u202e满了",
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    with db.reader() as s:
        ticket = s.get(Ticket, response.get_json()["ticket_id"])
        assert (ticket.address, ticket.reporter_name, ticket.description) == ("长征路号01", "王五", "垃圾满了")


def test_account_display_names_lose_control_characters(db, accounts):
    with db.session() as s:
        user = users.create_user(s, "bob", PASSWORD, "admin", display_name="Bob\u202e\x07 Li")
        assert user.display_name == "Bob Li"
        assert users.viewer_for(user).name == "Bob Li"
