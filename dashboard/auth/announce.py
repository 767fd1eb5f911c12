"""What `python app.py` prints at start so a new user gets in at once: the big screen's link and the
logins.

The start link (demo mode) is stable: starting or restarting a web process, or a second process
against the same database, prints the same link and revokes nothing, so a wall opened with it
stays logged in. Its token is derived from the secret key and the token row's id (HMAC), so it can
be printed again although only its hash is stored. It changes only when someone asks:
`python app.py kiosk-url --revoke-others` revokes it (and every other kiosk token); the next
start then makes a new one."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys

from sqlalchemy import select

from data import audit, users
from data.access import Viewer
from data.clock import utcnow
from data.db import Database
from data.settings import Settings

START_LABEL = "启动链接"
START_LOCK = 0x6763_6B69  # 'gcki': one process at a time makes the start link (PostgreSQL)


def announce(db: Database, settings: Settings, host: str, port: int) -> None:
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if settings.gcc_production:
        say(f"登录 login: {base}/login   大屏链接 kiosk link: python app.py kiosk-url --base-url {base}")
        return
    token = start_token(db, settings)
    with db.session() as s:
        demo = list(s.scalars(select(users.User.username).where(users.User.username.in_(("admin", "dispatcher")))))
    say(f"大屏 big screen (no login needed): {base}/screen?kiosk={token}")
    say(f"登录 login: {base}/login")
    if demo:
        password = users.demo_password(settings) or "(GCC_DEMO_PASSWORD)"
        say(
            "  demo accounts admin, dispatcher, street, community, gridhead, worker, property, department; "
            f"password {password}"
        )


def start_token(db: Database, settings: Settings) -> str:
    """The start link's kiosk token: the newest active one labelled START_LABEL that this secret key
    made, else a new one (nothing is revoked here)."""
    from dashboard.auth.secret import secret_key

    key = secret_key(settings).encode()
    with db.session() as s:
        if not db.is_sqlite:  # two processes starting together agree on one link
            s.connection().exec_driver_sql(f"SELECT pg_advisory_xact_lock({START_LOCK})")
        rows = s.execute(
            select(users.KioskToken.id, users.KioskToken.token_sha256)
            .where(users.KioskToken.label == START_LABEL, users.KioskToken.revoked_at.is_(None))
            .order_by(users.KioskToken.id.desc())
        ).all()
        for row_id, stored in rows:
            token = _derived(key, row_id)
            if hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), stored):
                return token
        # A placeholder hash nobody can present, replaced once the row has its id.
        row = users.KioskToken(token_sha256=secrets.token_hex(32), label=START_LABEL, created_at=utcnow())
        s.add(row)
        s.flush()
        token = _derived(key, row.id)
        row.token_sha256 = hashlib.sha256(token.encode()).hexdigest()
        audit.record(s, "kiosk_token", Viewer.system(), client="serve", detail={"label": START_LABEL})
        return token


def _derived(key: bytes, row_id: int) -> str:
    return hmac.new(key, f"gcc-kiosk-start/{row_id}".encode(), hashlib.sha256).hexdigest()
