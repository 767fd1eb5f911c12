"""Account changes made on the /users page (issue #9): add an account, disable or enable one,
reset a password. Each needs the "users" permission, goes through data.users (the same rules as
`python app.py users`) and writes its audit row in the same transaction; a refused change
(bad input, no such account) raises UserError and changes nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from data import audit, users
from data.access import Viewer


@dataclass(frozen=True)
class NewAccount:
    username: str
    role: str
    display_name: str = ""
    region_code: str | None = None
    organisation_id: int | None = None
    staff_id: int | None = None
    password: str | None = None  # None or "": a random one, shown once


@dataclass(frozen=True)
class Changed:
    username: str
    password: str | None = None  # a generated password, to show once


def random_password() -> str:
    return secrets.token_urlsafe(12)


def add_account(session: Session, viewer: Viewer, new: NewAccount) -> Changed:
    viewer.require("users")
    password = new.password or random_password()
    user = users.create_user(
        session,
        new.username,
        password,
        new.role,
        display_name=new.display_name,
        region_code=new.region_code or None,
        organisation_id=new.organisation_id,
        staff_id=new.staff_id,
    )
    audit.record(
        session,
        "user_add",
        viewer,
        target_type="user",
        target_id=user.username,
        detail={"role": user.role, "region_id": user.region_id, "organisation_id": user.organisation_id},
    )
    return Changed(user.username, None if new.password else password)


def set_account_active(session: Session, viewer: Viewer, username: str, active: bool) -> Changed:
    viewer.require("users")
    if not active and viewer.user_id is not None:
        me = session.get(users.User, viewer.user_id)
        if me is not None and me.username == username:
            raise users.UserError("you cannot disable your own account")
    user = users.set_active(session, username, active)
    action = "user_enable" if active else "user_disable"
    audit.record(session, action, viewer, target_type="user", target_id=user.username)
    return Changed(user.username)


def reset_password(session: Session, viewer: Viewer, username: str, password: str | None = None) -> Changed:
    viewer.require("users")
    new = password or random_password()
    user = users.set_password(session, username, new)
    audit.record(session, "user_password", viewer, target_type="user", target_id=user.username)
    return Changed(user.username, None if password else new)
