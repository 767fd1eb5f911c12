"""Issue #9 item 7: /users (list accounts, add one, disable / enable, reset a password) and /audit
(the log, newest first, filtered by days, action and user) for admins only; every account change
is audited; other roles are refused the pages and their callbacks."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from dashboard.admin import audit as audit_page
from dashboard.admin import users as users_page
from dashboard.server import create_app
from data import audit, users
from data.access import Viewer
from data.audit import AuditLog
from data.clock import UTC, local_day, utcnow
from data.users import LoginPolicy, User, authenticate
from tests.page_render import callback, find_id, page_text, render_page

PASSWORD = "admin-pages-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HTML = {"Accept": "text/html"}
USER_OUTPUTS = [
    (users_page.MESSAGE, "children"),
    (users_page.MESSAGE, "className"),
    (users_page.TABLE, "children"),
    (users_page.TARGET, "options"),
    (users_page.PASSWORD, "value"),
    (users_page.NEW_PASSWORD, "value"),
]


@pytest.fixture
def app(db, district, settings):
    with db.session() as s:
        users.create_demo_accounts(s, PASSWORD)
    return create_app(settings, db)


def client_as(app, username=None):
    client = app.server.test_client()
    if username:
        token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
        answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 303
    return client


def change(client, button, **values):
    state = {
        "username": (users_page.USERNAME, "value"),
        "display_name": (users_page.DISPLAY, "value"),
        "role": (users_page.ROLE, "value"),
        "region": (users_page.REGION, "value"),
        "organisation": (users_page.ORGANISATION, "value"),
        "password": (users_page.PASSWORD, "value"),
        "target": (users_page.TARGET, "value"),
        "new_password": (users_page.NEW_PASSWORD, "value"),
    }
    inputs = [(b, "n_clicks", 1 if b == button else 0) for b in users_page.BUTTONS]
    return callback(
        client,
        USER_OUTPUTS,
        inputs,
        [(cid, prop, values.get(name)) for name, (cid, prop) in state.items()],
        changed=f"{button}.n_clicks",
    )


def message(answer) -> str:
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return answer.get_json()["response"][users_page.MESSAGE]["children"]


def audit_callback(client, first, last, action=None, user=None):
    values = ((audit_page.FROM, first), (audit_page.TO, last), (audit_page.ACTION, action), (audit_page.USER, user))
    return callback(
        client,
        [(audit_page.TABLE, "children"), (audit_page.COUNT, "children")],
        [(cid, "value", value) for cid, value in values],
    )


def audit_rows(db, *actions):
    with db.reader() as s:
        stmt = select(AuditLog).where(AuditLog.action.in_(actions)).order_by(AuditLog.id)
        return [(r.action, r.username, r.target_id, r.client) for r in s.scalars(stmt)]


def test_users_page_lists_accounts_for_an_admin(app):
    client = client_as(app, "admin")
    assert client.get("/users", headers=HTML).status_code == 200
    text = page_text(render_page(client, "/users"))
    for name in ("admin", "dispatcher", "worker", "community", "property"):
        assert name in text.split("\n")
    assert "账户管理" in text


def test_add_disable_enable_and_reset_are_done_and_audited(db, app):
    client = client_as(app, "admin")
    said = message(change(client, users_page.ADD, username="newhead", role="grid_head", region=_community(db)))
    assert "newhead" in said and "仅显示这一次" in said
    generated = said.rsplit("：", 1)[1].strip()
    with db.session() as s:
        assert authenticate(s, "newhead", generated, LoginPolicy()).ok

    assert "已停用" in message(change(client, users_page.DISABLE, target="worker"))
    with db.reader() as s:
        assert s.scalar(select(User.active).where(User.username == "worker")) is False
    assert "已启用" in message(change(client, users_page.ENABLE, target="worker"))
    said = message(change(client, users_page.RESET, target="worker", new_password="brand-new-pass"))
    assert "已重置" in said and "brand-new-pass" not in said
    with db.session() as s:
        assert authenticate(s, "worker", "brand-new-pass", LoginPolicy()).ok
    assert audit_rows(db, "user_add", "user_disable", "user_enable", "user_password") == [
        ("user_add", "admin", "newhead", "127.0.0.1"),
        ("user_disable", "admin", "worker", "127.0.0.1"),
        ("user_enable", "admin", "worker", "127.0.0.1"),
        ("user_password", "admin", "worker", "127.0.0.1"),
    ]


def _community(db) -> str:
    from data.models import Region

    with db.reader() as s:
        return s.scalars(select(Region.code).where(Region.level == "community").order_by(Region.code)).first()


@pytest.mark.parametrize(
    ("button", "values"),
    [
        (users_page.ADD, {"username": "x", "role": "admin"}),  # username too short
        (users_page.ADD, {"username": "someone", "role": "emperor"}),  # no such role
        (users_page.ADD, {"username": "admin", "role": "admin"}),  # exists
        (users_page.ADD, {"username": "nowhere", "role": "supervisor"}),  # a supervisor needs an area
        (users_page.DISABLE, {"target": "nobody"}),
        (users_page.DISABLE, {"target": "admin"}),  # not oneself
        (users_page.RESET, {"target": "worker", "new_password": "short"}),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(db, app, button, values):
    client = client_as(app, "admin")
    assert "未执行" in message(change(client, button, **values))
    assert audit_rows(db, "user_add", "user_disable", "user_enable", "user_password") == []
    with db.reader() as s:
        assert s.scalar(select(User.active).where(User.username == "admin")) is True


@pytest.mark.parametrize("username", ["dispatcher", "community", "worker"])
def test_other_roles_are_refused_the_pages_and_their_callbacks(db, app, username):
    client = client_as(app, username)
    assert client.get("/users", headers=HTML).status_code == 403
    assert client.get("/audit", headers=HTML).status_code == 403
    render_page(client, "/users", status=403)
    assert change(client, users_page.DISABLE, target="admin").status_code == 403
    assert audit_callback(client, None, None).status_code == 403
    with db.reader() as s:
        assert s.scalar(select(User.active).where(User.username == "admin")) is True
    anonymous = client_as(app)
    assert anonymous.get("/users", headers=HTML).status_code == 401


def test_audit_page_newest_first_filtered_by_days_action_and_user(db, app, settings):
    with db.session() as s:
        for day, action, who in ((1, "export", "alice"), (3, "unmask", "bob"), (20, "export", "alice")):
            at = datetime(2026, 11, day, 4, 0, tzinfo=UTC)
            audit.record(s, action, Viewer(role="dispatcher"), username=who, at=at, detail={"n": day})
    client = client_as(app, "admin")
    assert client.get("/audit?from=2026-11-01&to=2026-11-30", headers=HTML).status_code == 200
    text = page_text(render_page(client, "/audit?from=2026-11-01&to=2026-11-30&action=export"))
    assert text.index("n=20") < text.index("n=1")  # newest first
    assert "n=3" not in text

    def filtered(first, last, action=None, user=None):
        answer = audit_callback(client, first, last, action, user)
        assert answer.status_code == 200
        return page_text(answer.get_json()["response"][audit_page.TABLE]["children"])

    assert "n=1" in filtered("2026-11-01", "2026-11-02") and "n=3" not in filtered("2026-11-01", "2026-11-02")
    only_bob = filtered("2026-11-01", "2026-11-30", user="bob")
    assert "n=3" in only_bob and "n=1" not in only_bob and "n=20" not in only_bob
    unmasks = filtered("2026-11-01", "2026-11-30", action="unmask")
    assert "n=3" in unmasks and "n=20" not in unmasks
    # The admin's own login is in the log (today, a local day of GCC_TIMEZONE), not in November's.
    assert "login" not in filtered("2026-11-01", "2026-11-30")
    today = local_day(utcnow(), settings.gcc_timezone).isoformat()
    assert "login" in filtered(today, today)


def test_admin_links_are_in_the_top_bar_of_an_admin_only(app):
    admin = page_text(render_page(client_as(app, "admin"), "/district"))
    dispatcher = page_text(render_page(client_as(app, "dispatcher"), "/district"))
    assert "账户管理" in admin and "审计日志" in admin
    assert "账户管理" not in dispatcher and "审计日志" not in dispatcher
    assert find_id(render_page(client_as(app, "admin"), "/users"), users_page.TABLE) is not None


def test_the_access_sweep_sees_the_admin_pages_and_their_callbacks(app):
    """tests/test_access_sweep.py replays what `python app.py routes --json` (guard.describe)
    lists: the admin pages and their callbacks are there, with their permissions."""
    from dashboard.auth.guard import describe

    table = describe(app)
    pages = {p["path"]: p["permission"] for p in table["pages"]}
    assert pages["/users"] == "users" and pages["/audit"] == "audit"
    assert "/compare" not in pages  # documented once, never built: dropped (issue #9)
    callbacks = {c["output"]: c["permission"] for c in table["callbacks"]}
    assert callbacks[next(k for k in callbacks if users_page.TABLE in k)] == "users"
    assert callbacks[next(k for k in callbacks if audit_page.TABLE in k)] == "audit"


def test_locked_accounts_and_demo_passwords_are_shown(db, app):
    from data import logins

    with db.session() as s:
        users.set_password(s, "worker", users.DEMO_DEFAULT_PASSWORD)
        for _ in range(6):
            logins.record_failure(s, "dispatcher", "10.0.0.9", LoginPolicy())
    rows = {
        r["props"]["data-username"]: page_text(r)
        for r in find_id(render_page(client_as(app, "admin"), "/users"), users_page.TABLE)["children"]["props"][
            "children"
        ][1]["props"]["children"]
    }
    assert "仍是演示密码" in rows["worker"] and "已锁定" in rows["dispatcher"]
    assert "仍是演示密码" not in rows["admin"] and "已锁定" not in rows["admin"]
