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


# Identifiers a person may type into free text (a description, a comment): ID numbers first (18 or
# 15 digits), then mobile and landline numbers, then vehicle plates (province, letter, 5-6 more).
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[\s-]?\d{7,8}(?!\d)")
_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][·•\s-]?[A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警]"
)


def mask_identifiers(text: str | None) -> str | None:
    """Free text with ID numbers, phone numbers and vehicle plates masked (for public views):
    "车牌赣B12345 挡道，电话13812345678" → "车牌赣B***** 挡道，电话138****5678"."""
    if not text:
        return text
    text = _ID.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _MOBILE.sub(lambda m: mask_phone(m.group(0)), text)
    text = _LANDLINE.sub(lambda m: mask_phone(m.group(0)), text)
    return _PLATE.sub(lambda m: m.group(0)[:2] + "*" * (len(m.group(0)) - 2), text)
