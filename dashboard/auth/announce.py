"""What `python app.py` prints at start so a new user gets in at once: the big screen's link (demo
mode: a kiosk token made at each start, the previous start's token revoked) and the logins."""

from __future__ import annotations

import sys

from sqlalchemy import select

from data import audit, users
from data.access import Viewer
from data.db import Database
from data.settings import Settings

START_LABEL = "启动链接"


def announce(db: Database, settings: Settings, host: str, port: int) -> None:
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if settings.gcc_production:
        say(f"登录 login: {base}/login   大屏链接 kiosk link: python app.py kiosk-url --base-url {base}")
        return
    with db.session() as s:
        users.revoke_kiosk_tokens(s, label=START_LABEL)
        token = users.create_kiosk_token(s, START_LABEL)
        audit.record(s, "kiosk_token", Viewer.system(), client="serve", detail={"label": START_LABEL})
        demo = list(s.scalars(select(users.User.username).where(users.User.username.in_(("admin", "dispatcher")))))
    say(f"大屏 big screen (no login needed): {base}/screen?kiosk={token}")
    say(f"登录 login: {base}/login")
    if demo:
        password = users.demo_password(settings) or "(GCC_DEMO_PASSWORD)"
        say(
            "  demo accounts admin, dispatcher, street, community, gridhead, worker, property, department; "
            f"password {password}"
        )
