"""Login throttling shared by every worker: failed-login counters in the database, kept per
(account name, client address) and per client address.

- An account name tried from one address is locked for that address after `max_failures` failures
  within the lockout window; the same name from another address is not affected, so one place
  guessing cannot lock `admin` for everybody.
- One address is locked for every account after `address_max_failures` failures within the
  window, so guessing across many names from one place is slowed down too.

Unknown names are counted exactly like existing ones (the key is the name as typed), so the
answers cannot tell which names exist. A successful login clears its (name, address) counter;
the address counter only ages out (a valid account of one's own must not reset it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from data.clock import utcnow
from data.models import Base


class LoginThrottle(Base):
    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # account:NAME|ADDRESS or address:ADDRESS
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column()


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5  # per account name and address
    address_max_failures: int = 30  # per address, all names together
    lockout: timedelta = timedelta(minutes=15)  # also the window failures are counted in


def account_key(username: str, address: str) -> str:
    return f"account:{username[:64]}|{address[:120]}"


def address_key(address: str) -> str:
    return f"address:{address[:120]}"


def locked_until(session: Session, username: str, address: str, *, now: datetime | None = None) -> datetime | None:
    """When the later of this (name, address) lock and this address's lock ends, or None."""
    now = now or utcnow()
    keys = (account_key(username, address), address_key(address))
    ends = [
        t
        for t in session.scalars(select(LoginThrottle.locked_until).where(LoginThrottle.key.in_(keys)))
        if t is not None and t > now
    ]
    return max(ends) if ends else None


def record_failure(
    session: Session, username: str, address: str, policy: ThrottlePolicy, *, now: datetime | None = None
) -> bool:
    """Count one failed login; True when it locked the name (for this address) or the address."""
    now = now or utcnow()
    locked = False
    for key, limit in (
        (account_key(username, address), policy.max_failures),
        (address_key(address), policy.address_max_failures),
    ):
        row = _row(session, key, now)
        if row.window_start <= now - policy.lockout:
            row.failures, row.window_start = 0, now
        row.failures += 1
        if row.failures >= limit:
            row.failures, row.window_start, row.locked_until = 0, now, now + policy.lockout
            locked = True
    return locked


def record_success(session: Session, username: str, address: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(username, address)))


def clear_account(session: Session, username: str) -> int:
    """Lift the locks and counters of one account name from every address (a new password or
    an enabled account starts clean); returns how many counters were dropped."""
    prefix = account_key(username, "")
    return session.execute(delete(LoginThrottle).where(LoginThrottle.key.startswith(prefix, autoescape=True))).rowcount


def locked_accounts(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Account names locked now, with from how many addresses."""
    now = now or utcnow()
    out: dict[str, int] = {}
    for key in session.scalars(
        select(LoginThrottle.key).where(LoginThrottle.key.startswith("account:"), LoginThrottle.locked_until > now)
    ):
        name = key.removeprefix("account:").rpartition("|")[0]
        out[name] = out.get(name, 0) + 1
    return out


def _row(session: Session, key: str, now: datetime) -> LoginThrottle:
    """The counter row of `key`, locked for this transaction (made first if missing)."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    inserted = session.execute(
        dialect.insert(LoginThrottle)
        .values(key=key, failures=0, window_start=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    if inserted.rowcount and random.random() < 0.05:
        # Now and then forget counters idle for a day (names tried once, addresses long gone).
        session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.window_start < now - timedelta(days=1),
                (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < now),
            )
        )
    stmt = select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).one()
