"""Wait for a condition, never for a fixed time.

    state = wait_until(lambda: page.evaluate(MAP_STATE), timeout=30, what="the map to draw")

For what a page shows, prefer Playwright's `expect(locator)` / `expect(page)`: they poll from
Python. `page.wait_for_function` evals script text in the page, which the pages' CSP (no
'unsafe-eval') can refuse (microsoft/playwright#7395); poll `page.evaluate` with wait_until instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(check: Callable[[], T], *, timeout: float, what: str, every: float = 0.25) -> T:
    """Call `check` until it returns something truthy and return that; AssertionError naming
    `what` (and the last value seen) when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; last seen: {value!r}"[:2000])
        time.sleep(every)
