"""The audit log (PIPL / GB/T 35273): who did what, when, from which address. Append-only.

Rows are written in the same transaction as the thing they record: a ticket's state change
(data.workflow._record calls `record_ticket_event`), an unmask, an export or report download,
a login (success or failure), an account change. Nothing updates or deletes a row except `prune`,
which removes only rows older than the retention period (at least 183 days, see data.settings).

The web layer sets the client address of the current request with `client_address.set(...)`;
the CLI and the scheduler leave it unset and their rows say "cli" / "system".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import JSON, Boolean, Index, Integer, String, delete, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from data.access import Viewer
from data.clock import utcnow
from data.models import Base, BigId, TicketEvent

MIN_RETENTION_DAYS = 183  # "at least 6 months"

# The client address of the request being served (set by dashboard.auth for each request).
client_address: ContextVar[str | None] = ContextVar("gcc_client_address", default=None)


@contextmanager
def acting_from(client: str) -> Iterator[None]:
    """Audit rows written inside say they came from `client` (a command: "cli"); the address
    before is back afterwards, so a command run in-process leaves nothing behind."""
    token = client_address.set(client)
    try:
        yield
    finally:
        client_address.reset(token)


# Actions, with the Chinese label the audit listing shows.
ACTIONS = {
    "login": "登录",
    "login_failed": "登录失败",
    "lockout": "账户锁定",
    "logout": "退出",
    "kiosk_login": "大屏令牌登录",
    "ticket": "工单状态变更",
    "unmask": "查看明文",
    "export": "导出",
    "download": "下载报告",
    "user_add": "新增账户",
    "user_disable": "停用账户",
    "user_enable": "启用账户",
    "user_password": "重置密码",
    "kiosk_token": "生成大屏令牌",
    "audit_prune": "清理过期审计",
    "alert": "预警状态变更",
}


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(32))
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
    user_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: the row outlives the account
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    client: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_target", "target_type", "target_id"))


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _ctx, _instances) -> None:
    # The ORM refuses to change or delete an audit row; `prune` deletes old rows with one
    # statement outside the unit of work, the only way rows leave the table.
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditLog) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("the audit log is append-only")


def record(
    session: Session,
    action: str,
    viewer: Viewer | None = None,
    *,
    ok: bool = True,
    username: str | None = None,
    target_type: str | None = None,
    target_id: object = None,
    detail: dict | None = None,
    at: datetime | None = None,
    client: str | None = None,
) -> AuditLog:
    """Add one audit row to the session's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    viewer = viewer or Viewer.system("cli")
    if username is None and viewer.user_id is not None:
        from data.users import User

        account = session.get(User, viewer.user_id)
        username = account.username if account is not None else None
    row = AuditLog(
        at=at or utcnow(),
        action=action,
        ok=ok,
        user_id=viewer.user_id,
        username=username or viewer.name or None,
        role=viewer.role,
        client=(client or client_address.get() or ("system" if viewer.role == "system" else "cli"))[:64],
        target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:64],
        detail=detail or {},
    )
    session.add(row)
    return row


def record_ticket_event(session: Session, viewer: Viewer, ticket_event: TicketEvent) -> AuditLog:
    """The audit row of a ticket's state change (one per TicketEvent, same transaction)."""
    return record(
        session,
        "ticket",
        viewer,
        target_type="ticket",
        target_id=ticket_event.ticket_id,
        at=ticket_event.at,
        detail={
            "event_id": ticket_event.id,
            "action": ticket_event.action,
            "from": ticket_event.from_status,
            "to": ticket_event.to_status,
        },
    )


# Why an unmask attempt was refused (detail.refused of its row).
UNMASK_REFUSALS = ("login", "role", "scope", "field", "reason", "bad_request", "cross_site")


def record_refused_unmask(
    session: Session,
    viewer: Viewer,
    refused: str,
    *,
    field: object = None,
    reason: object = None,
    ticket_id: int | None = None,
) -> AuditLog:
    """The row of a refused unmask attempt: ok=false, why in detail.refused, and what was asked
    (field and reason cut short, anything not a string written as its type)."""
    if refused not in UNMASK_REFUSALS:
        raise ValueError(f"unknown unmask refusal {refused!r}")

    def short(value, n):
        return value[:n] if isinstance(value, str) else (None if value is None else type(value).__name__)

    detail = {"refused": refused, "field": short(field, 16), "reason": short(reason, 200)}
    return record(session, "unmask", viewer, ok=False, target_type="ticket", target_id=ticket_id, detail=detail)


@dataclass(frozen=True)
class AuditQuery:
    since: datetime
    until: datetime | None = None
    action: str | None = None
    username: str | None = None
    limit: int = 1000
    newest_first: bool = False  # the /audit page: the newest `limit` rows, newest first


def entries(session: Session, query: AuditQuery) -> list[AuditLog]:
    stmt = select(AuditLog).where(AuditLog.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AuditLog.at < query.until)
    if query.action:
        stmt = stmt.where(AuditLog.action == query.action)
    if query.username:
        stmt = stmt.where(AuditLog.username == query.username)
    order = (AuditLog.at.desc(), AuditLog.id.desc()) if query.newest_first else (AuditLog.at, AuditLog.id)
    return list(session.scalars(stmt.order_by(*order).limit(query.limit)))


def prune(session: Session, retention_days: int, *, now: datetime | None = None) -> int:
    """Delete rows older than the retention period (never less than MIN_RETENTION_DAYS)."""
    if retention_days < MIN_RETENTION_DAYS:
        raise ValueError(f"audit retention must be at least {MIN_RETENTION_DAYS} days")
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    result = session.execute(delete(AuditLog).where(AuditLog.at < cutoff).execution_options(synchronize_session=False))
    removed = result.rowcount or 0
    if removed:
        record(session, "audit_prune", Viewer.system(), detail={"removed": removed, "before": cutoff.isoformat()})
    return removed


def format_row(row: AuditLog) -> str:
    target = f"{row.target_type}:{row.target_id}" if row.target_type else "-"
    who = row.username or "-"
    outcome = "" if row.ok else " 拒绝"
    return (
        f"{row.at.isoformat(timespec='seconds')}  {row.action:<13} {ACTIONS.get(row.action, ''):<8}"
        f"{outcome} {who} ({row.role}) from {row.client}  {target}  {_detail(row.detail)}"
    )


def _detail(detail: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in (detail or {}).items())


def as_dict(row: AuditLog) -> dict:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "action": row.action,
        "ok": row.ok,
        "user_id": row.user_id,
        "username": row.username,
        "role": row.role,
        "client": row.client,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "detail": row.detail,
    }
