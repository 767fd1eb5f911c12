"""/audit: the audit log, newest first, filtered by a range of local days, an action and a
username (data.read.admin.audit_log, "audit" permission). The filters start from the URL query
(?from=2026-11-01&to=2026-11-07&action=login&user=admin), so a link reproduces the view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dash import dcc, html

from dashboard.common.chrome import card, shell
from dashboard.common.context import reader, settings
from dashboard.common.fmt import local
from dashboard.common.inputs import as_str
from dashboard.labels import audit_action_label, t
from data import audit
from data.access import Viewer
from data.clock import day_start, local_day, utcnow
from data.read.admin import AUDIT_PAGE_LIMIT, audit_log

TABLE, COUNT, FROM, TO, ACTION, USER = (
    "audit-table",
    "audit-count",
    "audit-from",
    "audit-to",
    "audit-action",
    "audit-user",
)
DEFAULT_DAYS = 7


@dataclass(frozen=True)
class AuditFilters:
    first: date
    last: date
    action: str | None = None
    username: str | None = None


def parse_filters(values: dict, today: date) -> tuple[AuditFilters, bool]:
    """Filters from the URL or the form; (filters, ok). Bad dates fall back to the last 7 days."""
    first, last = _day(values.get("from")), _day(values.get("to"))
    ok = True
    if (values.get("from") and first is None) or (values.get("to") and last is None):
        ok, first, last = False, None, None
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        ok, first, last = False, today - timedelta(days=DEFAULT_DAYS - 1), today
    action = as_str(values.get("action"), None, choices=tuple(audit.ACTIONS))
    username = (as_str(values.get("user"), "", max_len=64) or "").strip() or None
    return AuditFilters(first, last, action, username), ok


def _day(value) -> date | None:
    text = as_str(value, None, max_len=10)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def query(filters: AuditFilters, tz: str) -> audit.AuditQuery:
    return audit.AuditQuery(
        since=day_start(filters.first, tz),
        until=day_start(filters.last + timedelta(days=1), tz),
        action=filters.action,
        username=filters.username,
        limit=AUDIT_PAGE_LIMIT,
        newest_first=True,
    )


def read(viewer: Viewer, filters: AuditFilters) -> list[dict]:
    with reader() as session:
        return audit_log(session, viewer, query(filters, settings().gcc_timezone))


def layout(viewer: Viewer, **params):
    viewer.require("audit")
    tz = settings().gcc_timezone
    filters, ok = parse_filters(params, local_day(utcnow(), tz))
    rows = read(viewer, filters)
    actions = [{"label": f"{audit_action_label(code)} ({code})", "value": code} for code in audit.ACTIONS]
    controls = html.Div(
        [
            html.Label([t("audit.from"), dcc.Input(id=FROM, type="date", value=filters.first.isoformat())]),
            html.Label([t("audit.to"), dcc.Input(id=TO, type="date", value=filters.last.isoformat())]),
            html.Label(
                [
                    t("audit.action"),
                    dcc.Dropdown(
                        id=ACTION,
                        options=actions,
                        value=filters.action,
                        placeholder=t("filter.all"),
                        className="filter-dropdown",
                    ),
                ]
            ),
            html.Label([t("audit.user"), dcc.Input(id=USER, type="text", value=filters.username or "", debounce=True)]),
            html.Span(count_text(rows, ok), id=COUNT, className="table-count"),
        ],
        className="filters",
    )
    body = [
        html.Div(html.H1(t("audit.title")), className="page-title"),
        card(t("audit.title"), [controls, html.Div(audit_table(rows, tz), id=TABLE)], class_name="audit-log"),
    ]
    return shell(viewer, body, page_class="admin")


def count_text(rows: list[dict], ok: bool = True) -> str:
    text = t("audit.rows", n=f"{len(rows):,}", max=f"{AUDIT_PAGE_LIMIT:,}")
    return text if ok else f"{t('audit.bad_dates')} · {text}"


def audit_table(rows: list[dict], tz: str) -> html.Table:
    keys = ("audit.at", "audit.action", "audit.outcome", "audit.user", "audit.role", "audit.client")
    head = html.Tr([html.Th(t(k)) for k in (*keys, "audit.target", "audit.detail")])
    body = [
        html.Tr(
            [
                html.Td(local(datetime.fromisoformat(r["at"]), tz, "%Y-%m-%d %H:%M:%S")),
                html.Td(f"{audit_action_label(r['action'])} ({r['action']})"),
                html.Td(t("audit.ok") if r["ok"] else t("audit.refused"), className="" if r["ok"] else "tone-bad"),
                html.Td(r["username"] or "—"),
                html.Td(r["role"]),
                html.Td(r["client"], className="muted"),
                html.Td(f"{r['target_type']}:{r['target_id']}" if r["target_type"] else "—"),
                html.Td(detail_text(r["detail"]), className="muted small"),
            ]
        )
        for r in rows
    ]
    return html.Table([html.Thead(head), html.Tbody(body)], className="kv-table admin-table")


def detail_text(detail) -> str:
    if not isinstance(detail, dict):
        return ""
    return " ".join(f"{k}={v}" for k, v in detail.items())[:300]
