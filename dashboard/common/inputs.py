"""Callback inputs come from the browser and can be anything (a forged request sends lists where
numbers belong): these coerce a value to what the callback expects, or to a default — a callback
never raises on its inputs."""

from __future__ import annotations

import re

BIG = 2**63 - 1
# ASCII digits only: str.isdigit() also accepts '²' and other digits int() refuses (issue #9).
_INTEGER = re.compile(r"-?[0-9]{1,19}")


def parse_id(text: str | None) -> int | None:
    """A positive id (1 .. 2**63-1) written in ASCII digits, else None: never raises, however long
    or strange the text."""
    number = as_int(text, None, lo=1) if isinstance(text, str) else None
    return number


def as_int(value, default: int | None = None, *, lo: int = -BIG, hi: int = BIG) -> int | None:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return default
    return number if lo <= number <= hi else default


def as_str(value, default: str | None = None, *, choices=None, max_len: int = 500) -> str | None:
    if not isinstance(value, str) or len(value) > max_len:
        return default
    if choices is not None and value not in choices:
        return default
    return value


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def as_number(value) -> float | int | str | None:
    """A number, or the raw text when it is text (the caller reports it as not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        return value
    return None


def ticket_id(value) -> int | None:
    return as_int(value, None, lo=1)
