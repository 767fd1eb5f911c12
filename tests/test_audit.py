"""The audit log: a row for each audited action, written in the same transaction as the action,
append-only, pruned only past the retention period; `python app.py audit` prints it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dashboard.server import create_app
from data import audit, escalation, users, workflow
from data.access import Viewer
from data.audit import AuditLog
from data.clock import utcnow
from data.models import Category, Ticket
from data.placement import Placement
from tests.live_server import ROOT

PASSWORD = "audit-pass-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def rows(db, action=None):
    with db.reader() as s:
        stmt = select(AuditLog).order_by(AuditLog.id)
        if action:
            stmt = stmt.where(AuditLog.action == action)
        return [audit.as_dict(r) for r in s.scalars(stmt)]


@pytest.fixture
def client(db, district, settings):
    with db.session() as s:
        users.create_demo_accounts(s, PASSWORD)
    settings = settings.model_copy(update={"gcc_login_max_failures": 2})
    return create_app(settings, db).server.test_client()


def post_login(client, username, password):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )


def new_ticket(session, district, viewer=None):
    category = session.scalars(select(Category).where(Category.parent_id.is_not(None)).limit(1)).first()
    grid = district.grid_ids[0]
    placement = Placement(grid, district.community_of[grid], district.street_of[grid], None, "inside")
    return workflow.create(
        session,
        viewer or Viewer.system(),
        workflow.Submission(
            source="resident",
            category_id=category.id,
            placement=placement,
            reporter_name="张三丰",
            reporter_phone="13812345678",
            address="长征社区幸福小区3栋2单元501",
        ),
    )


def test_logins_failures_lockout_and_logout_are_audited_with_the_client_address(client, db):
    assert post_login(client, "dispatcher", PASSWORD).status_code == 303
    token = CSRF.search(client.get("/logout").get_data(as_text=True)).group(1)
    client.post("/logout", data={"csrf_token": token}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    post_login(client, "street", "wrong-password")
    post_login(client, "street", "wrong-password")
    post_login(client, "ghost", "wrong-password")
    got = [(r["action"], r["username"], r["ok"], r["client"]) for r in rows(db)]
    assert got == [
        ("login", "dispatcher", True, "10.1.2.3"),
        ("logout", "dispatcher", True, "10.1.2.3"),
        ("login_failed", "street", False, "10.1.2.3"),
        ("lockout", "street", False, "10.1.2.3"),
        ("login_failed", "ghost", False, "10.1.2.3"),
    ]
    assert rows(db, "login")[0]["role"] == "dispatcher" and rows(db, "login")[0]["user_id"] is not None
    assert rows(db, "login_failed")[1]["detail"] == {"reason": "unknown_user"}


def test_every_state_change_writes_one_audit_row_in_the_same_transaction(db, district):
    desk = Viewer(role="dispatcher", name="调度员甲", user_id=None)
    with db.session() as s:
        ticket = new_ticket(s, district)
        workflow.apply(s, desk, ticket.id, workflow.ActionInput("accept"))
        workflow.apply(s, desk, ticket.id, workflow.ActionInput("dispatch"))
        ticket_id = ticket.id
    changes = rows(db, "ticket")
    assert [(r["detail"]["action"], r["role"], r["target_id"]) for r in changes] == [
        ("report", "system", str(ticket_id)),
        ("accept", "dispatcher", str(ticket_id)),
        ("dispatch", "dispatcher", str(ticket_id)),
    ]
    assert changes[2]["detail"]["from"] == "accepted" and changes[2]["detail"]["to"] == "dispatched"
    # A refused or failed action writes neither the event nor its audit row.
    with pytest.raises(workflow.WorkflowError), db.session() as s:
        workflow.apply(s, desk, ticket_id, workflow.ActionInput("reject"))  # needs a reason
    with pytest.raises(RuntimeError), db.session() as s:
        workflow.apply(s, desk, ticket_id, workflow.ActionInput("escalate", note="居民多次来电"))
        raise RuntimeError("the transaction rolls back")
    assert len(rows(db, "ticket")) == 3


def test_automatic_escalations_are_audited_as_the_system(db, district):
    with db.session() as s:
        ticket = new_ticket(s, district)
        workflow.apply(s, Viewer.system(), ticket.id, workflow.ActionInput("accept"))
        workflow.apply(s, Viewer.system(), ticket.id, workflow.ActionInput("dispatch"))
        s.get(Ticket, ticket.id).response_due_at = utcnow() - timedelta(hours=1)
    with db.session() as s:
        escalation.sweep(s)
    escalated = [r for r in rows(db, "ticket") if r["detail"]["action"] == "escalate"]
    assert escalated and escalated[0]["role"] == "system" and escalated[0]["client"] == "system"


def test_the_audit_log_is_append_only(db):
    with db.session() as s:
        audit.record(s, "export", Viewer.system(), target_type="route", target_id="/reports/1.pdf")
    with pytest.raises(PermissionError), db.session() as s:
        s.scalars(select(AuditLog)).first().detail = {"changed": True}
    with pytest.raises(PermissionError), db.session() as s:
        s.delete(s.scalars(select(AuditLog)).first())
    assert rows(db)[0]["detail"] == {}


def test_prune_keeps_at_least_six_months(db):
    now = utcnow()
    with db.session() as s:
        audit.record(s, "export", Viewer.system(), at=now - timedelta(days=400))
        audit.record(s, "export", Viewer.system(), at=now - timedelta(days=200))
        audit.record(s, "export", Viewer.system(), at=now - timedelta(days=1))
    with pytest.raises(ValueError, match="at least 183"), db.session() as s:
        audit.prune(s, 90, now=now)
    with db.session() as s:
        assert audit.prune(s, 365, now=now) == 1
    kept = rows(db)
    assert [r["action"] for r in kept] == ["export", "export", "audit_prune"]
    assert kept[-1]["detail"]["removed"] == 1


def test_prune_job_is_scheduled(settings):
    from data.jobs import jobs_for

    job = next(j for j in jobs_for(settings) if j.id == "prune_audit")
    assert job.trigger == "cron"


def test_unknown_actions_are_refused(db):
    with pytest.raises(ValueError), db.session() as s:
        audit.record(s, "teleport", Viewer.system())


def run_cli(settings, *args, stdin: str | None = None):
    env = {"GCC_INSTANCE_DIR": str(settings.gcc_instance_dir), "PATH": "/usr/bin:/bin", "GCC_SIMULATE": "false"}
    return subprocess.run(
        [sys.executable, "app.py", *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow  # ~15 s: fourteen CLI processes
def test_cli_account_changes_kiosk_links_and_the_audit_listing(settings):
    """Runs the real CLI on its own SQLite file in the instance folder."""
    added = run_cli(
        settings, "users", "add", "ops1", "--role", "dispatcher", "--password-stdin", stdin="pw-ops1-2026\n"
    )
    assert added.returncode == 0, added.stderr
    generated = run_cli(settings, "users", "add", "ops2", "--role", "admin")
    assert "password (shown once):" in generated.stdout
    bad = run_cli(settings, "users", "add", "ops3", "--role", "supervisor")
    assert bad.returncode == 2 and "needs an area" in bad.stderr and "Traceback" not in bad.stderr
    assert run_cli(settings, "users", "disable", "ops1").returncode == 0
    assert (
        run_cli(settings, "users", "set-password", "ops2", "--password-stdin", stdin="pw-ops2-2027\n").returncode == 0
    )
    missing = run_cli(settings, "users", "disable", "nobody")
    assert missing.returncode == 2 and "no user" in missing.stderr
    url = run_cli(settings, "kiosk-url", "--base-url", "http://wall.local:8050").stdout.strip()
    assert re.fullmatch(r"http://wall\.local:8050/screen\?kiosk=[A-Za-z0-9_\-]{40,}", url)
    listing = run_cli(settings, "users", "list").stdout
    assert "ops1" in listing and "dispatcher" in listing
    printed = run_cli(settings, "audit", "--since", "1h", "--json")
    actions = [json.loads(line)["action"] for line in printed.stdout.splitlines()]
    assert actions == ["user_add", "user_add", "user_disable", "user_password", "kiosk_token"]
    assert all(json.loads(line)["client"] == "cli" for line in printed.stdout.splitlines())
    text = run_cli(settings, "audit", "--since", "2000-01-01", "--action", "user_add")
    assert text.returncode == 0 and text.stdout.count("新增账户") == 2
    assert run_cli(settings, "audit", "--since", "yesterday").returncode == 2


def test_audit_counts_match_with_a_since_filter(db):
    now = utcnow()
    with db.session() as s:
        audit.record(s, "download", Viewer.system(), at=now - timedelta(days=10))
        audit.record(s, "download", Viewer.system(), at=now - timedelta(hours=1))
    with db.reader() as s:
        recent = audit.entries(s, audit.AuditQuery(since=now - timedelta(days=1)))
        total = s.scalar(select(func.count(AuditLog.id)))
    assert len(recent) == 1 and total == 2


def test_routes_marked_for_audit_write_a_row_per_successful_download(db, district, settings, monkeypatch):
    """Exports and report downloads are audited by the guard from the permission table, so a
    download route cannot forget it."""
    from dashboard.auth import permissions

    monkeypatch.setitem(permissions.ROUTES, "/reports/<name>.pdf", permissions.Access("export", audit="download"))
    with db.session() as s:
        users.create_demo_accounts(s, PASSWORD)
    app = create_app(settings, db)
    app.server.add_url_rule("/reports/<name>.pdf", "report_pdf", lambda name: ("%PDF-1.4", 200 if name != "x" else 404))
    client = app.server.test_client()
    assert client.get("/reports/week-47.pdf").status_code == 401  # refused: nothing downloaded, nothing audited
    post_login(client, "dispatcher", PASSWORD)
    assert client.get("/reports/week-47.pdf").status_code == 200
    assert client.get("/reports/x.pdf").status_code == 404
    downloads = rows(db, "download")
    assert [(r["username"], r["target_id"], r["client"]) for r in downloads] == [
        ("dispatcher", "/reports/week-47.pdf", "127.0.0.1")
    ]


def test_a_command_run_in_process_leaves_no_client_address_behind(cli, db, district):
    """`users` and `kiosk-url` write their audit rows as "cli"; the address must not outlive the
    command (a scheduler or test in the same process would otherwise write its rows as "cli")."""
    assert cli("users", "list")[0] == 0
    assert cli("kiosk-url")[0] == 0
    assert audit.client_address.get() is None
    with db.session() as s:
        audit.record(s, "audit_prune", Viewer.system())
    newest = rows(db, "audit_prune")[-1]
    assert newest["client"] == "system"
