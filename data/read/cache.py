"""A small thread-safe memo for values derived from slowly changing tables (the region tree, the
display geometry). Keys carry a version read from the database, so a stale entry is never
returned for a new version; entries also expire after `ttl` seconds as a safety net for changes
the version does not see (a renamed region). Each web process holds its own copy: it is a cache,
correctness never depends on it."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


_ALL: list[Memo] = []


class Memo(Generic[T]):
    def __init__(self, *, max_entries: int = 16, ttl: float | None = None):
        _ALL.append(self)
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            stamp, value = entry
            if self.ttl is not None and time.monotonic() - stamp > self.ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: T) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def get_or_build(self, key: Hashable, build: Callable[[], T]) -> T:
        """The cached value, or `build()` stored under `key`. Concurrent callers for the same key
        wait for one build instead of all building (the 10,000-grid geometry takes seconds)."""
        value = self.get(key)
        if value is not None:
            return value
        with self._lock:
            key_lock = self._building.setdefault(key, threading.Lock())
        with key_lock:
            value = self.get(key)
            if value is None:
                value = build()
                self.put(key, value)
        with self._lock:
            self._building.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# How long a version read from the database is trusted before it is read again: a new boundary,
# region or category shows within this many seconds, and a screen refresh skips three queries.
VERSION_CHECK_S = 10.0
_versions: Memo[tuple] = Memo(max_entries=256, ttl=VERSION_CHECK_S)


def checked_version(key: Hashable, read: Callable[[], tuple]) -> tuple:
    """`read()` (a version tuple from the database), at most once every VERSION_CHECK_S per key."""
    return _versions.get_or_build(key, read)


def clear_all() -> None:
    """Forget every cached value in this process (tests that reset the database call this)."""
    for memo in _ALL:
        memo.clear()
