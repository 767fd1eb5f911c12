"""The running app's database, settings and caches, for page layouts and callbacks."""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app

from data.read.cache import Memo


def db():
    return current_app.extensions["gcc_db"]


def settings():
    return current_app.extensions["gcc_settings"]


@contextmanager
def reader():
    with db().reader() as session:
        yield session


def sent_values():
    """Values last sent to browsers, by digest: lets a refresh send only the changed entries.
    Two arrays per open screen (grid values, heat) at 8 bytes a value: 128 entries is 64 screens.
    Kept in this process and in the shared store, so every worker can patch any tab (issue #14)."""
    from dashboard.screen.sent import SharedValues
    from data.shared import store

    local = current_app.extensions.setdefault("gcc_sent_values", Memo(max_entries=128, ttl=3600))
    return SharedValues(local, store(db().engine, settings().gcc_redis_url))
