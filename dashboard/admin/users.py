"""/users: the accounts, a form to add one, and disable / enable / reset a password. Every change
goes through data.account_admin (the "users" permission, audited in the same transaction)."""

from __future__ import annotations

from dash import dcc, html

from dashboard.common.chrome import card, shell
from dashboard.common.context import db, reader, settings
from dashboard.common.fmt import local
from dashboard.common.inputs import as_int, as_str
from dashboard.labels import role_label, t
from data import account_admin
from data.access import AccessDenied, Viewer
from data.read.admin import AccountRow, accounts
from data.users import LOGIN_ROLES, UserError

TABLE, MESSAGE, TARGET = "users-table", "users-message", "users-target"
ADD, DISABLE, ENABLE, RESET = "users-add", "users-disable", "users-enable", "users-reset"
USERNAME, DISPLAY, ROLE, REGION, ORGANISATION, PASSWORD, NEW_PASSWORD = (
    "users-username",
    "users-display",
    "users-role",
    "users-region",
    "users-organisation",
    "users-password",
    "users-new-password",
)
BUTTONS = {ADD: "user_add", DISABLE: "user_disable", ENABLE: "user_enable", RESET: "user_password"}


def layout(viewer: Viewer, **_query):
    viewer.require("users")
    with reader() as session:
        rows = accounts(session, viewer)
    body = [
        html.Div(html.H1(t("users.title")), className="page-title"),
        html.Div(id=MESSAGE, className="page-notice is-hidden", role="status"),
        card(t("users.list"), html.Div(accounts_table(rows), id=TABLE), class_name="users-list"),
        card(t("users.add"), [add_form(), html.P(t("users.audited"), className="muted small")], class_name="users-add"),
        card(t("users.manage"), manage_form(rows), class_name="users-manage"),
    ]
    return shell(viewer, body, page_class="admin")


def _field(label: str, control) -> html.Label:
    return html.Label([label, control])


def add_form() -> html.Div:
    roles = [{"label": f"{role_label(r)} ({r})", "value": r} for r in LOGIN_ROLES]
    return html.Div(
        [
            _field(t("users.username"), dcc.Input(id=USERNAME, type="text", maxLength=64, autoComplete="off")),
            _field(t("users.display_name"), dcc.Input(id=DISPLAY, type="text", maxLength=64)),
            _field(
                t("users.role"),
                dcc.Dropdown(id=ROLE, options=roles, clearable=False, searchable=False, className="filter-dropdown"),
            ),
            _field(t("users.region"), dcc.Input(id=REGION, type="text", maxLength=64)),
            _field(t("users.organisation"), dcc.Input(id=ORGANISATION, type="number", min=1)),
            _field(t("users.password"), dcc.Input(id=PASSWORD, type="password", autoComplete="new-password")),
            html.Button(t("users.add"), id=ADD, className="gcc-button small", n_clicks=0),
        ],
        className="filters",
    )


def manage_form(rows: list[AccountRow]) -> html.Div:
    return html.Div(
        [
            _field(
                t("users.target"),
                dcc.Dropdown(id=TARGET, options=target_options(rows), className="filter-dropdown"),
            ),
            _field(t("users.new_password"), dcc.Input(id=NEW_PASSWORD, type="password", autoComplete="new-password")),
            html.Button(t("users.disable"), id=DISABLE, className="gcc-button small", n_clicks=0),
            html.Button(t("users.enable"), id=ENABLE, className="gcc-button small", n_clicks=0),
            html.Button(t("users.reset"), id=RESET, className="gcc-button small", n_clicks=0),
        ],
        className="filters",
    )


def scope_words(row: AccountRow) -> str:
    """Where an account sees: the whole district, its area or organisation, or its own orders."""
    if row.scope_kind == "district":
        return t("users.scope_district")
    if row.scope_kind == "assigned":
        return t("users.scope_assigned", name=row.scope_name)
    return row.scope_name


def target_options(rows: list[AccountRow]) -> list[dict]:
    return [{"label": f"{r.username} · {r.display_name}", "value": r.username} for r in rows]


def accounts_table(rows: list[AccountRow]) -> html.Table:
    tz = settings().gcc_timezone
    head = html.Tr(
        [
            html.Th(t(k))
            for k in (
                "users.username",
                "users.display_name",
                "users.role",
                "users.scope",
                "users.status",
                "users.last_login",
            )
        ]
    )
    body = [
        html.Tr(
            [
                html.Td(r.username),
                html.Td(r.display_name),
                html.Td(role_label(r.role)),
                html.Td(scope_words(r)),
                html.Td(status_text(r), className="" if r.active and not (r.locked or r.demo_password) else "tone-bad"),
                html.Td(local(r.last_login_at, tz) if r.last_login_at else "—", className="muted"),
            ],
            **{"data-username": r.username},
        )
        for r in rows
    ]
    return html.Table([html.Thead(head), html.Tbody(body)], className="kv-table admin-table")


def status_text(row: AccountRow) -> str:
    if not row.active:
        return t("users.inactive")
    text = t("users.locked") if row.locked else t("users.active")
    return f"{text} · {t('users.demo_password')}" if row.demo_password else text


def apply(viewer: Viewer, button: str | None, values: dict) -> tuple[str, bool]:
    """Run the change the button asks for; (message, ok). Input is checked by data.users."""
    action = BUTTONS.get(button or "")
    if action is None:
        return "", False
    target = as_str(values.get("target"), "", max_len=64)
    try:
        with db().session() as session:
            if action == "user_add":
                new = account_admin.NewAccount(
                    username=as_str(values.get("username"), "", max_len=64).strip(),
                    role=as_str(values.get("role"), "", choices=LOGIN_ROLES) or "",
                    display_name=(as_str(values.get("display_name"), "", max_len=64) or "").strip(),
                    region_code=(as_str(values.get("region"), "", max_len=64) or "").strip() or None,
                    organisation_id=as_int(values.get("organisation"), None, lo=1, hi=2**31 - 1),
                    password=as_str(values.get("password"), "", max_len=200) or None,
                )
                done = account_admin.add_account(session, viewer, new)
            elif action == "user_password":
                password = as_str(values.get("new_password"), "", max_len=200) or None
                done = account_admin.reset_password(session, viewer, target, password)
            else:
                done = account_admin.set_account_active(session, viewer, target, action == "user_enable")
    except UserError as exc:
        return t("users.failed", reason=str(exc)), False
    except AccessDenied:
        return t("access.denied"), False
    message = t(f"users.done.{action}", name=done.username)
    if done.password:
        message += " — " + t("users.generated", password=done.password)
    return message, True


def refreshed(viewer: Viewer):
    with reader() as session:
        rows = accounts(session, viewer)
    return accounts_table(rows), target_options(rows)
