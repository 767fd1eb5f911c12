"""Masking personal data for screens (PIPL / GB/T 35273: minimum necessary).

Pure functions; the web layer masks on the server, so raw values never reach a browser that may
not see them. Unmasking is an audited action (data.audit), never a display option.
"""

from __future__ import annotations

import re


def mask_phone(phone: str | None) -> str | None:
    """138****5678; other lengths keep the first 3 and last 4 digits when they can."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 11:
        digits = digits[-11:]
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def mask_name(name: str | None) -> str | None:
    """张* for two characters, 张*丰 for three, 欧阳** for four (surname kept, given name hidden
    except the last character of a three-character name)."""
    if not name:
        return name
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    if len(name) == 3:
        return name[0] + "*" + name[2]
    return name[:2] + "*" * (len(name) - 2)


def mask_id_number(value: str | None) -> str | None:
    """Resident ID: first 1 and last 2 characters visible (1***************12)."""
    if not value:
        return value
    if len(value) <= 3:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 3) + value[-2:]


def mask_address(address: str | None, estate: str | None = None) -> str | None:
    """To the estate level: everything after the estate name (building, unit, room) is hidden."""
    if not address:
        return address
    if estate and estate in address:
        return address[: address.index(estate) + len(estate)] + "***"
    match = re.search(r"(小区|花园|家园|雅苑|新村|公寓|大厦|苑|村)", address)
    if match:
        return address[: match.end()] + "***"
    cut = re.search(r"\d", address)
    return (address[: cut.start()] + "***") if cut else address


def suppress_small(count: int | None, threshold: int = 5) -> int | str | None:
    """Counts of key groups (低保, 残疾人, 独居老人) below the threshold are shown as "<5"."""
    if count is None:
        return None
    return f"<{threshold}" if 0 < count < threshold else count
