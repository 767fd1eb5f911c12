"""Formatting numbers, rates and times for the pages (pure functions)."""

from __future__ import annotations

from datetime import datetime

from data.clock import zone


def local(at: datetime | None, tz: str, pattern: str = "%Y-%m-%d %H:%M") -> str:
    if at is None:
        return ""
    return at.astimezone(zone(tz)).strftime(pattern)


def count(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def percent(rate: float | None, decimals: int = 1) -> str:
    return "—" if rate is None else f"{rate * 100:.{decimals}f}%"


def signed(n: float, decimals: int = 0) -> tuple[str, str]:
    """(arrow, magnitude) for a change: ('▲', '12'), ('▼', '3.5'), ('', '0')."""
    if abs(n) < 0.5 * 10**-decimals:
        return "", f"{0:.{decimals}f}"
    return ("▲" if n > 0 else "▼"), f"{abs(n):.{decimals}f}"
