"""Login sessions kept in the database, so that logging out ends a session on every worker.

The session cookie (signed by Flask) carries a random session token; the database keeps only its
SHA-256 with the account, when it started, when it expires and when it was revoked. Every
request looks the token up (one indexed read joined with the account): a revoked or expired
session, a disabled account, or a password changed since the login (the account's
session_version) no longer loads. `POST /logout` revokes the row, so a copy of the cookie kept
elsewhere stops working at once, whichever process it reaches.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from data.clock import utcnow
from data.models import Base
from data.users import User


class LoginSession(Base):
    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The account's session_version at login: a password change or a disable ends the session.
    user_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column()


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, lifetime: timedelta, *, now: datetime | None = None) -> str:
    """A new session for `user`; returns its token (only the hash is stored). Sessions that
    expired a day ago or more are forgotten on the way."""
    now = now or utcnow()
    session.execute(delete(LoginSession).where(LoginSession.expires_at < now - timedelta(days=1)))
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_sha256=_sha256(token),
            user_id=user.id,
            user_version=user.session_version,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def load(session: Session, token: str | None, *, now: datetime | None = None) -> User | None:
    """The account of a live session (not revoked, not expired, account active, password
    unchanged since), or None."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    return session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_sha256 == _sha256(token),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
            LoginSession.user_version == User.session_version,
            User.active.is_(True),
        )
    )


def revoke(session: Session, token: str | None, *, now: datetime | None = None) -> bool:
    """End one session (logout); True when a live session was revoked."""
    if not token:
        return False
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.token_sha256 == _sha256(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    return result.rowcount > 0


def revoke_all(session: Session, user_id: int, *, now: datetime | None = None) -> int:
    """End every session of an account; returns how many were live."""
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    return result.rowcount
