"""Open311 GeoReport v2 documents: records in, JSON-able dicts and XML out. Pure functions (no
request, no database), so the formats are tested on their own and every endpoint writes both.

- `request_record(record, ...)`: one service request from a data.read.ticket_records.TicketRecord
  (already presented for its viewer: the public view carries no reporter identity).
- `render(data, fmt, root, item)`: the answer in `json` or `xml`, with the spec's element names
  (`<services><service>`, `<service_requests><request>`, `<errors><error>`, ...).
- `error_body(status, code, message, fmt)`: the spec's error list, `[{"code", "description"}]`
  (plus our machine-readable `error` code as an extension).
"""

from __future__ import annotations

import json
from datetime import datetime
from xml.etree import ElementTree as ET

from dashboard.labels import action_label, rating_label, status_label, text
from data.read.ticket_records import TicketRecord

SPEC = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-01T00:00:00+08:00"
FORMATS = {"json": "application/json", "xml": "text/xml"}
# The element of each item of a list, by the list's element name (XML has no arrays).
ITEMS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "media_urls": "media_url",
    "history": "event",
    "duplicates": "duplicate",
}


def iso(at: datetime | None, tz) -> str | None:
    return at.astimezone(tz).replace(microsecond=0).isoformat() if at is not None else None


def request_record(t: TicketRecord, tz, *, media: list[str], history: bool = False, locale: str = "zh") -> dict:
    """One service request. `media` are absolute photo URLs (empty for views that show none);
    labels in `locale` (GCC_LOCALE)."""
    record = {
        "service_request_id": str(t.id),
        "status": "open" if t.is_open else "closed",
        "status_notes": status_label(t.status, locale),
        "service_name": t.category.name,
        "service_code": t.category.code,
        "description": t.description,
        "agency_responsible": t.community.name if t.community else "",
        "service_notice": "",
        "requested_datetime": iso(t.created_at, tz),
        "updated_datetime": iso(t.updated_at, tz),
        "expected_datetime": iso(t.handle_due_at, tz) if t.is_open else None,
        "address": t.reporter.address or "",
        "address_id": "",
        "zipcode": "",
        "lat": t.lat,
        "long": t.lon,
        "media_url": media[0] if media else "",
        # Extensions (docs/api.md).
        "ticket_id": t.id,
        "detailed_status": t.status,
        "detailed_status_label": status_label(t.status, locale),
        "grid_code": t.grid.code if t.grid else None,
        "grid_name": t.grid.name if t.grid else None,
        "source": t.source,
        "media_urls": media,
        "rating": t.rating,
        "rating_label": rating_label(t.rating, locale) or None,
    }
    if history:
        record["history"] = [
            {
                "datetime": iso(e.at, tz),
                "action": e.action,
                "label": action_label(e.action, locale),
                "status": e.to_status,
            }
            for e in t.events or ()
            if e.action != "comment"  # internal notes stay internal
        ]
    return record


def service(category, group, locale: str = "zh") -> dict:
    hours = f"{category.handling_hours:g}"
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": text(
            "open311.service_description",
            locale,
            group=group.name if group else "",
            category=category.name,
            hours=hours,
        ),
        "metadata": False,
        "type": "realtime",
        "keywords": category.kind,
        "group": group.name if group else "",
    }


def discovery(base_url: str, key_service: str, locale: str = "zh") -> dict:
    return {
        "changeset": CHANGESET,
        "contact": text("open311.contact", locale),
        "key_service": key_service,
        "endpoints": [
            {
                "specification": SPEC,
                "url": base_url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(FORMATS.values()),
            }
        ],
    }


# ----------------------------------------------------------------------------------------------
# Rendering.


def render(data, fmt: str, root: str) -> tuple[str, str]:
    """(body, mimetype) of `data` — a list (of items of `root`) or a dict — in `fmt`."""
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False), FORMATS["json"]
    element = _element(root, data)
    return ET.tostring(element, encoding="unicode", xml_declaration=True), FORMATS["xml"]


def _element(name: str, value) -> ET.Element:
    element = ET.Element(name)
    if isinstance(value, dict):
        for key, inner in value.items():
            element.append(_element(key, inner))
    elif isinstance(value, list | tuple):
        item = ITEMS.get(name, "item")
        for inner in value:
            element.append(_element(item, inner))
    elif value is None:
        pass
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)
    return element


def error_body(status: int, code: str, detail, fmt: str) -> tuple[str, str]:
    """The spec's error list: [{"code": status, "description": text}] (our code as `error`)."""
    if isinstance(detail, list):  # field errors: "lat: Input should be a valid number; ..."
        text = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg', '')}" for d in detail)
    else:
        text = str(detail)
    return render([{"code": status, "description": text, "error": code}], fmt, "errors")
