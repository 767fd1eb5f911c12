"""What each role sees of a person's data, and unmasking as an explicit, audited action
(PIPL / GB/T 35273: minimum necessary). Masking happens on the server, before a value is put in
a page, a callback answer or an API response, so a raw value never reaches a browser that may
not see it.

    present_person(viewer, name=..., phone=..., address=..., estate=...)  -> masked per role
    present_key_groups(viewer, {"low_income": 3, ...})                     -> "<5" where due
    unmask(session, viewer, ticket_id, "phone", reason)                    -> the raw value, audited
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from data import audit
from data.access import AccessDenied, Viewer, load_ticket
from data.errors import DomainError
from data.masking import mask_address, mask_id_number, mask_name, mask_phone, suppress_small

# How a field is shown: raw, masked (138****5678, 张*, 1***...12), to the estate level, or not at all.
RAW, MASK, ESTATE, HIDE = "raw", "mask", "estate", "hide"

# Staff who work a case see where it is (the address); who reported it stays masked until an
# explicit, audited unmask. Screens that hang in public (kiosk) show the estate only.
_DESK = {"name": MASK, "phone": MASK, "address": RAW, "id_number": MASK}
_FIELD = {"name": MASK, "phone": MASK, "address": RAW, "id_number": MASK}
POLICY: dict[str, dict[str, str]] = {
    "admin": _DESK,
    "dispatcher": _DESK,
    "supervisor": _DESK,  # supervises (督办) the case: needs where it is
    "grid_head": _FIELD,
    "grid_worker": _FIELD,
    "property": _FIELD,
    "department": _FIELD,
    # A resident's own report behind its secret link: the address they typed, name and phone masked.
    "resident": {"name": MASK, "phone": MASK, "address": RAW, "id_number": HIDE},
    "kiosk": {"name": HIDE, "phone": HIDE, "address": ESTATE, "id_number": HIDE},
    "anonymous": {"name": HIDE, "phone": HIDE, "address": HIDE, "id_number": HIDE},
    "system": {"name": RAW, "phone": RAW, "address": RAW, "id_number": RAW},  # trusted systems, CLI
}

UNMASKABLE = ("name", "phone", "address")
KEY_GROUPS = ("low_income", "disabled", "elderly_alone")
MIN_REASON = 4


class PrivacyError(DomainError):
    """A bad unmask request (unknown field, no reason); the message says what to fix."""

    def __init__(self, message: str):
        super().__init__("bad_unmask", message)


@dataclass(frozen=True)
class Person:
    name: str | None
    phone: str | None
    address: str | None
    id_number: str | None = None


def _show(rule: str, value: str | None, masker, estate: str | None = None) -> str | None:
    if value is None or rule == RAW:
        return value
    if rule == HIDE:
        return None
    if rule == ESTATE:
        return mask_address(value, estate)
    return masker(value)


def present_person(
    viewer: Viewer,
    *,
    name: str | None = None,
    phone: str | None = None,
    address: str | None = None,
    id_number: str | None = None,
    estate: str | None = None,
) -> Person:
    """A person's fields as this viewer may see them without unmasking."""
    rules = POLICY.get(viewer.role, POLICY["anonymous"])
    return Person(
        name=_show(rules["name"], name, mask_name),
        phone=_show(rules["phone"], phone, mask_phone),
        address=_show(rules["address"], address, lambda a: mask_address(a, estate), estate),
        id_number=_show(rules["id_number"], id_number, mask_id_number),
    )


def present_ticket_reporter(viewer: Viewer, ticket) -> Person:
    return present_person(viewer, name=ticket.reporter_name, phone=ticket.reporter_phone, address=ticket.address)


def present_key_groups(viewer: Viewer, counts: dict) -> dict:
    """Counts of key groups (低保, 残疾人, 独居老人): exact for roles with the "profile" permission,
    "<5" below five for everyone else (the big screen)."""
    if viewer.can("profile"):
        return dict(counts)
    return {k: (suppress_small(v) if k in KEY_GROUPS else v) for k, v in counts.items()}


def unmask(session: Session, viewer: Viewer, ticket_id: int, field: str, reason: str) -> str | None:
    """The raw value of one field of one ticket the viewer may see, written to the audit log with
    the reason in the same transaction. AccessDenied for a role without "unmask" or a ticket
    outside the viewer's scope; PrivacyError for a bad field or a missing reason."""
    if not viewer.can("unmask"):
        raise AccessDenied(f"role {viewer.role} may not unmask personal data")
    if field not in UNMASKABLE:
        raise PrivacyError(f"field must be one of {', '.join(UNMASKABLE)}")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON or len(reason) > 200:
        raise PrivacyError(f"give a reason of {MIN_REASON} to 200 characters (it is kept in the audit log)")
    ticket = load_ticket(session, viewer, ticket_id)
    value = {"name": ticket.reporter_name, "phone": ticket.reporter_phone, "address": ticket.address}[field]
    audit.record(
        session, "unmask", viewer, target_type="ticket", target_id=ticket.id, detail={"field": field, "reason": reason}
    )
    return value
