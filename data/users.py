"""Accounts that log in to the web app, and the long-lived kiosk tokens of the big screen.

A user has one role and one scope (region, organisation, staff record); `viewer_for` turns it into
the `data.access.Viewer` every query is scoped by. Passwords are stored as werkzeug scrypt hashes;
kiosk tokens are random and stored as their SHA-256 (a 32-byte random token needs no slow hash).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from data import logins
from data.access import Viewer
from data.clock import utcnow
from data.errors import DomainError
from data.logins import ThrottlePolicy
from data.models import Base, Organisation, Region, Staff

# Roles an account can have (the web roles of data.access that a person logs in as).
LOGIN_ROLES = ("admin", "dispatcher", "supervisor", "grid_head", "grid_worker", "property", "department")

ROLE_LABELS = {
    "admin": "系统管理员",
    "dispatcher": "调度员",
    "supervisor": "街道/社区领导",
    "grid_head": "网格长",
    "grid_worker": "网格员",
    "property": "物业公司",
    "department": "职能部门",
    "kiosk": "大屏",
    "resident": "居民",
    "anonymous": "访客",
}

USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
MIN_PASSWORD = 8
# Checked against when the username does not exist, so a failed login takes the same time either way.
_DUMMY_HASH = generate_password_hash("not-a-password-" + secrets.token_hex(8), method="scrypt")


class UserError(DomainError):
    """Bad account input; the message says what to fix."""

    def __init__(self, message: str):
        super().__init__("bad_account", message)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The password is the documented demo default: production mode refuses to start while one is.
    demo_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped on password change or disable: every session cookie issued before stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()


class KioskToken(Base):
    """A long-lived credential for the wall screen: aggregates and the masked feed only."""

    __tablename__ = "kiosk_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


# ----------------------------------------------------------------------------------------------
# Accounts.


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters")


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str = "",
    region_code: str | None = None,
    staff_id: int | None = None,
    organisation_id: int | None = None,
) -> User:
    """A new active account; its scope is validated so a supervisor without an area cannot exist."""
    if not USERNAME.match(username or ""):
        raise UserError("a username is 3-64 letters, digits, '_', '.' or '-'")
    if role not in LOGIN_ROLES:
        raise UserError(f"role must be one of {', '.join(LOGIN_ROLES)}")
    check_password(password)
    display_name = printable(display_name)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} already exists")
    region_id = None
    staff = None
    if staff_id is not None:
        staff = session.get(Staff, staff_id)
        if staff is None:
            raise UserError(f"no staff record {staff_id}")
        region_id = staff.region_id
        organisation_id = organisation_id if organisation_id is not None else staff.organisation_id
        display_name = display_name or staff.name
    if region_code:
        region = session.scalar(select(Region).where(Region.code == region_code))
        if region is None:
            raise UserError(f"no region with code {region_code!r}")
        region_id = region.id
    if region_id is not None and session.get(Region, region_id).level == "district":
        # The whole district is "no limit" (None) in data.access: tickets carry their grid,
        # community and street, not the district, so a district id would match none of them.
        region_id = None
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        raise UserError(f"no organisation {organisation_id}")
    _check_scope(role, region_id, staff_id, organisation_id)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        staff_id=staff_id,
        organisation_id=organisation_id,
        region_id=region_id,
        active=True,
        demo_password=password == DEMO_DEFAULT_PASSWORD,
        session_version=1,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def _check_scope(role: str, region_id, staff_id, organisation_id) -> None:
    if role in ("supervisor", "grid_head") and region_id is None:
        raise UserError(f"a {role} needs an area: --region CODE (a street or community) or --staff ID")
    if role == "grid_worker" and region_id is None and staff_id is None:
        raise UserError("a grid_worker needs --staff ID (their orders) or --region CODE (their grid)")
    if role in ("property", "department") and organisation_id is None and staff_id is None:
        raise UserError(f"a {role} account needs --organisation ID")


def printable(text: str) -> str:
    """`text` without control and format characters (Unicode Cc, Cf: U+202E and the like)."""
    return "".join(c for c in text or "" if unicodedata.category(c) not in ("Cc", "Cf")).strip()


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


def set_password(session: Session, username: str, password: str) -> User:
    check_password(password)
    user = find_user(session, username)
    user.password_hash = hash_password(password)
    user.demo_password = password == DEMO_DEFAULT_PASSWORD
    user.session_version += 1
    logins.clear_account(session, username)
    return user


def set_active(session: Session, username: str, active: bool) -> User:
    user = find_user(session, username)
    user.active = active
    user.session_version += 1
    if active:
        logins.clear_account(session, username)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.username)))


def viewer_for(user: User) -> Viewer:
    return Viewer(
        role=user.role,
        staff_id=user.staff_id,
        organisation_id=user.organisation_id,
        region_id=user.region_id,
        name=user.display_name or user.username,
        user_id=user.id,
    )


# ----------------------------------------------------------------------------------------------
# Logging in, with a lockout after repeated failures.


# The lockout policy (per account name and client address, and per address): data.logins.
LoginPolicy = ThrottlePolicy


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    outcome: str  # ok | unknown_user | bad_password | disabled | lockout (this failure locked) | locked

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def authenticate(
    session: Session,
    username: str,
    password: str,
    policy: LoginPolicy,
    *,
    address: str = "unknown",
    now: datetime | None = None,
) -> LoginResult:
    """Check a login from `address` (the client's address). Failures are counted per (name,
    address) and per address (data.logins); while either is locked every attempt is refused,
    even with the right password. An unknown name, a wrong password and a disabled account do
    the same work (one password hash) and count the same way, so the caller can answer them
    alike."""
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == username)) if username else None
    if logins.locked_until(session, username, address, now=now) is not None:
        return LoginResult(user, "locked")
    right = check_password_hash(user.password_hash if user is not None else _DUMMY_HASH, password or "")
    if user is None or not right or not user.active:
        locked = logins.record_failure(session, username, address, policy, now=now)
        outcome = "unknown_user" if user is None else "bad_password" if not right else "disabled"
        return LoginResult(user, "lockout" if locked else outcome)
    logins.record_success(session, username, address)
    user.last_login_at = now
    return LoginResult(user, "ok")


# ----------------------------------------------------------------------------------------------
# Kiosk tokens.


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_kiosk_token(session: Session, label: str = "大屏") -> str:
    """A new kiosk token; only its hash is stored, so the returned value is shown once."""
    token = secrets.token_urlsafe(32)
    session.add(KioskToken(token_sha256=_sha256(token), label=label[:64], created_at=utcnow()))
    session.flush()
    return token


def kiosk_token_id(session: Session, token: str | None) -> int | None:
    """The id of a valid (not revoked) kiosk token, or None."""
    if not token or len(token) > 128:
        return None
    return session.scalar(
        select(KioskToken.id).where(KioskToken.token_sha256 == _sha256(token), KioskToken.revoked_at.is_(None))
    )


def kiosk_token_active(session: Session, token_id: int) -> bool:
    return bool(
        session.scalar(
            select(func.count(KioskToken.id)).where(KioskToken.id == token_id, KioskToken.revoked_at.is_(None))
        )
    )


def revoke_kiosk_tokens(session: Session, label: str | None = None) -> int:
    """Revoke every active kiosk token (or those with this label); returns how many."""
    stmt = select(KioskToken).where(KioskToken.revoked_at.is_(None))
    if label is not None:
        stmt = stmt.where(KioskToken.label == label)
    tokens = list(session.scalars(stmt))
    for token in tokens:
        token.revoked_at = utcnow()
    return len(tokens)


# ----------------------------------------------------------------------------------------------
# Demo accounts: one per role, so a new user can try every view of the demo district.

DEMO_DEFAULT_PASSWORD = "gcc-demo-2026"  # documented; demo mode only (see demo_password)


def demo_password(settings) -> str | None:
    """The demo accounts' password, or None when none may be created (production mode without an
    explicit GCC_DEMO_PASSWORD)."""
    if settings.gcc_demo_password:
        return settings.gcc_demo_password
    return None if settings.gcc_production else DEMO_DEFAULT_PASSWORD


class DemoPasswordInProduction(RuntimeError):
    """Production mode with accounts that still have the documented demo password."""


def demo_password_accounts(session: Session) -> list[str]:
    """Active accounts whose password is the documented demo default."""
    stmt = select(User.username).where(User.demo_password.is_(True), User.active.is_(True)).order_by(User.username)
    return list(session.scalars(stmt))


def refuse_demo_passwords_in_production(session: Session, settings) -> None:
    """Production mode must not start while anyone can log in with the published demo password."""
    if not settings.gcc_production:
        return
    names = demo_password_accounts(session)
    if names:
        raise DemoPasswordInProduction(
            f"production mode (GCC_PRODUCTION=true) refuses to start: {len(names)} account(s) still have the "
            f"documented demo password: {', '.join(names)}. Give each a new password with "
            "`python app.py users set-password NAME --password-stdin` (or a generated one without "
            "--password-stdin), or disable it with `python app.py users disable NAME`, then start again."
        )


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    scope: str


def create_demo_accounts(session: Session, password: str) -> list[DemoAccount]:
    """admin, dispatcher, street and community supervisors, grid head, grid worker, property and
    department accounts, tied to the first street / community / grid of the demo district."""
    from data.models import GridTeam

    def first(stmt):
        return session.scalars(stmt.limit(1)).first()

    street = first(select(Region).where(Region.level == "street").order_by(Region.code))
    community = first(
        select(Region).where(Region.level == "community", Region.parent_id == street.id).order_by(Region.code)
    )
    grid = first(select(Region).where(Region.level == "grid", Region.parent_id == community.id).order_by(Region.code))
    team = session.get(GridTeam, grid.id) if grid else None
    dispatcher = first(select(Staff).where(Staff.role == "dispatcher").order_by(Staff.id))
    head = first(select(Staff).where(Staff.role == "grid_head", Staff.region_id == community.id))
    company_id = session.scalar(
        select(GridTeam.property_company_id)
        .join(Region, Region.id == GridTeam.grid_id)
        .where(Region.parent_id == community.id, GridTeam.property_company_id.is_not(None))
        .limit(1)
    ) or session.scalar(select(Organisation.id).where(Organisation.kind == "property_company").limit(1))
    department_id = session.scalar(select(Organisation.id).where(Organisation.kind == "department").limit(1))
    company = session.get(Organisation, company_id)
    specs = [
        ("admin", "admin", {}, "全区"),
        ("dispatcher", "dispatcher", {"staff_id": dispatcher.id if dispatcher else None}, "全区"),
        ("street", "supervisor", {"region_code": street.code}, street.name),
        ("community", "supervisor", {"region_code": community.code}, community.name),
        ("gridhead", "grid_head", {"staff_id": head.id} if head else {"region_code": community.code}, community.name),
        ("worker", "grid_worker", {"staff_id": team.grid_worker_id}, grid.name),
        ("property", "property", {"organisation_id": company_id}, company.name if company else ""),
        ("department", "department", {"organisation_id": department_id}, "职能部门"),
    ]
    accounts = []
    for username, role, scope, label in specs:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            continue
        # Each account its own salt and hash (create_user hashes), although they share a password.
        create_user(session, username, password, role, display_name=f"演示{ROLE_LABELS[role]}", **scope)
        accounts.append(DemoAccount(username, role, label))
    return accounts


def demo_login_note(accounts: list[DemoAccount], password: str) -> str:
    lines = [f"demo accounts (password {password!r}; change it with `python app.py users set-password NAME`):"]
    lines += [f"  {a.username:<11} {ROLE_LABELS[a.role]:<8} {a.scope}" for a in accounts]
    return "\n".join(lines)
