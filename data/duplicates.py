"""Duplicate suggestions: an open ticket of the same category reported close by, not long before.

The suggestion is stored for the desk and returned to the reporter; a dispatcher links the two
with workflow action `mark_duplicate` (a duplicate is not 立案).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Viewer, ticket_clause
from data.intake_tables import DuplicateSuggestion
from data.models import OPEN_STATUSES, Ticket

EARTH_RADIUS_M = 6371008.8


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def candidates(
    session: Session,
    *,
    category_id: int,
    lon: float | None,
    lat: float | None,
    now: datetime,
    radius_m: float,
    hours: float,
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[tuple[int, float]]:
    """(ticket id, metres) of open tickets of the category within the radius and window, nearest
    first. A bounding box in the query, the exact distance here."""
    if lon is None or lat is None:
        return []
    dlat = radius_m / 111_195.0
    dlon = radius_m / (111_195.0 * max(0.01, math.cos(math.radians(lat))))
    stmt = (
        select(Ticket.id, Ticket.lon, Ticket.lat)
        .where(
            Ticket.category_id == category_id,
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.created_at >= now - timedelta(hours=hours),
            Ticket.lon.between(lon - dlon, lon + dlon),
            Ticket.lat.between(lat - dlat, lat + dlat),
            Ticket.duplicate_of_id.is_(None),
        )
        .limit(500)
    )
    if exclude_id is not None:
        stmt = stmt.where(Ticket.id != exclude_id)
    found = [(tid, distance_m(lon, lat, tlon, tlat)) for tid, tlon, tlat in session.execute(stmt)]
    found = [(tid, round(d, 1)) for tid, d in found if d <= radius_m]
    return sorted(found, key=lambda x: (x[1], x[0]))[:limit]


def remember(session: Session, ticket_id: int, found: list[tuple[int, float]], at: datetime) -> None:
    for original_id, metres in found:
        session.add(DuplicateSuggestion(ticket_id=ticket_id, original_id=original_id, distance_m=metres, created_at=at))


def suggestions_for(session: Session, viewer: Viewer, ticket_id: int) -> list[dict]:
    """The stored suggestions for a ticket the viewer may see, limited to originals it may see
    (for the desk: `[{"ticket_id", "distance_m", "status", "created_at"}]`, nearest first)."""
    visible = select(Ticket.id).where(Ticket.id == ticket_id, ticket_clause(viewer))
    if session.scalar(visible) is None:
        return []
    rows = session.execute(
        select(DuplicateSuggestion.original_id, DuplicateSuggestion.distance_m, Ticket.status, Ticket.created_at)
        .join(Ticket, Ticket.id == DuplicateSuggestion.original_id)
        .where(DuplicateSuggestion.ticket_id == ticket_id, ticket_clause(viewer))
        .order_by(DuplicateSuggestion.distance_m, DuplicateSuggestion.original_id)
    )
    return [
        {"ticket_id": oid, "distance_m": metres, "status": status, "created_at": created}
        for oid, metres, status, created in rows
    ]
