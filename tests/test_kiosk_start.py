"""The start link of the wall screen is stable (issue #14): starting or restarting a web process, or
a second one against the same database, prints the same kiosk link and revokes nothing; only
`python app.py kiosk-url --revoke-others` changes it."""

from __future__ import annotations

import argparse
import re

from sqlalchemy import func, select

from dashboard.auth import announce
from dashboard.auth.cli import _kiosk_url
from data import users
from data.settings import load_settings


def _link(capsys) -> str:
    err = capsys.readouterr().err
    found = re.findall(r"/screen\?kiosk=([0-9a-f]+)", err)
    assert len(found) == 1, err
    return found[0]


def _active(db) -> int:
    with db.reader() as s:
        return s.scalar(select(func.count(users.KioskToken.id)).where(users.KioskToken.revoked_at.is_(None)))


def test_restarts_print_the_same_link_until_revoke_others(db, tmp_path, capsys):
    url = db.engine.url.render_as_string(hide_password=False)
    settings = load_settings(database_url=url, gcc_instance_dir=tmp_path / "instance", gcc_simulate=False)

    announce.announce(db, settings, "127.0.0.1", 8050)
    first = _link(capsys)
    with db.reader() as s:
        first_id = users.kiosk_token_id(s, first)
    assert first_id is not None

    # A restart, and a second process on another port: the same link, nothing revoked.
    announce.announce(db, settings, "127.0.0.1", 8050)
    announce.announce(db, settings, "0.0.0.0", 8051)
    out = capsys.readouterr().err
    assert out.count(f"/screen?kiosk={first}") == 2
    assert _active(db) == 1
    with db.reader() as s:
        assert users.kiosk_token_active(s, first_id)

    # A kiosk-url without --revoke-others adds a link and keeps the start link.
    args = argparse.Namespace(base_url="http://127.0.0.1:8050", label="大屏", revoke_others=False)
    assert _kiosk_url(args, settings) == 0
    capsys.readouterr()
    assert _active(db) == 2
    announce.announce(db, settings, "127.0.0.1", 8050)
    assert _link(capsys) == first

    # --revoke-others: the start link stops working, and the next start makes a new one.
    args.revoke_others = True
    assert _kiosk_url(args, settings) == 0
    capsys.readouterr()
    with db.reader() as s:
        assert users.kiosk_token_id(s, first) is None
    announce.announce(db, settings, "127.0.0.1", 8050)
    second = _link(capsys)
    assert second != first
    with db.reader() as s:
        assert users.kiosk_token_id(s, second) is not None
    announce.announce(db, settings, "127.0.0.1", 8050)
    assert _link(capsys) == second


def test_a_start_link_made_under_another_secret_key_is_not_reprinted_nor_revoked(db, tmp_path, capsys):
    url = db.engine.url.render_as_string(hide_password=False)
    one = load_settings(database_url=url, gcc_instance_dir=tmp_path / "a", gcc_secret_key="k" * 40)
    other = load_settings(database_url=url, gcc_instance_dir=tmp_path / "b", gcc_secret_key="z" * 40)
    a = announce.start_token(db, one)
    b = announce.start_token(db, other)
    assert a != b
    with db.reader() as s:
        assert users.kiosk_token_id(s, a) is not None and users.kiosk_token_id(s, b) is not None
    assert announce.start_token(db, one) == a
