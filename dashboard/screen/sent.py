"""What the browser already has: a digest per panel, kept in the page (a dcc.Store) and sent back
with each refresh, so a refresh returns `no_update` for unchanged panels and, for long value
arrays (10,000 grids' colours), a `dash.Patch` with only the changed entries. The values behind a
digest are remembered server-side (dashboard.common.context.sent_values): in this process's memory
and in the shared store (the database, or Redis with GCC_REDIS_URL), so a tab whose refresh lands
on another worker, or on a restarted one, still gets a patch (issue #14). When neither has them
(expired) the whole array is sent: correct, only bigger."""

from __future__ import annotations

import hashlib
import json

import numpy as np
from dash import Patch

# One assignment in a Patch costs ~70 bytes on the wire; past this share of changed entries the
# whole array is cheaper.
PATCH_SHARE = 0.3


def digest(value) -> str:
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


class Sent:
    """The digests the browser holds (`previous`) and the ones it will hold after this refresh."""

    def __init__(self, previous: dict | None, memory):
        self.previous = dict(previous or {})
        self.current = dict(self.previous)
        self.memory = memory

    def changed(self, key: str, value) -> bool:
        d = digest(value)
        self.current[key] = d
        return self.previous.get(key) != d

    def remember(self, key: str, values: list) -> None:
        """Record an array sent whole (at page load or after a rebuild)."""
        d = digest(values)
        self.current[key] = d
        self.memory.put(d, _compact(values))

    def array(self, key: str, values: list, patch: Patch, path: tuple) -> bool:
        """Put the changes of `values` against what the browser has into `patch` at `path`.
        Returns False when nothing changed."""
        d = digest(values)
        self.current[key] = d
        old_digest = self.previous.get(key)
        if old_digest == d:
            return False
        new = _compact(values)
        self.memory.put(d, new)
        old = self.memory.get(old_digest) if old_digest else None
        target = patch
        for step in path:
            target = target[step]
        if old is None or len(old) != len(values):
            _assign(patch, path, list(values))
            return True
        same = (old == new) | (np.isnan(old) & np.isnan(new))
        changes = [(int(i), values[i]) for i in np.flatnonzero(~same)]
        if len(changes) > PATCH_SHARE * len(values):
            _assign(patch, path, list(values))
        else:
            for i, v in changes:
                target[i] = v
        return True


class SharedValues:
    """Digest → compact array, in this process (a Memo) and in the shared store (data.shared) for
    the other workers. Each worker writes a digest once; the arrays are the same for every screen
    of a scope (one shared snapshot), so there are few."""

    PREFIX = "sent:"

    def __init__(self, local, store, ttl: float = 3600):
        self.local, self.store, self.ttl = local, store, ttl

    def get(self, d: str):
        found = self.local.get(d)
        if found is None and self.store is not None:
            raw = self.store.get(self.PREFIX + d)
            if raw is not None:
                found = np.frombuffer(raw, dtype=float)
                self.local.put(d, found)
        return found

    def put(self, d: str, values: np.ndarray) -> None:
        if self.local.get(d) is not None:
            return
        self.local.put(d, values)
        if self.store is not None:
            self.store.add(self.PREFIX + d, np.ascontiguousarray(values, dtype=float).tobytes(), ttl=self.ttl)


def _compact(values: list) -> np.ndarray:
    """8 bytes a value (a Python list of 10,000 numbers is ~350 KB); None becomes NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _assign(patch: Patch, path: tuple, value) -> None:
    target = patch
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
