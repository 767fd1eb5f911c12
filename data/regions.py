"""Regions and their boundary versions: the one place that writes `regions` and `boundaries`."""

from __future__ import annotations

import hashlib
from datetime import datetime

import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.clock import utcnow
from data.models import Boundary, Region

_GEOD = Geod(ellps="WGS84")


def geodesic_area_m2(geometry: BaseGeometry) -> float:
    return abs(_GEOD.geometry_area_perimeter(geometry)[0])


def geometry_hash(geometry: BaseGeometry) -> str:
    """Stable hash of a polygon at ~1 cm precision, so a re-import of the same file is a no-op."""
    normalized = shapely.normalize(shapely.set_precision(geometry, 1e-7))
    return hashlib.sha256(shapely.to_wkb(normalized, hex=False)).hexdigest()


def upsert_region(session: Session, *, level: str, code: str, name: str, parent_id: int | None) -> tuple[Region, bool]:
    """The region with this code, created or updated; (region, created)."""
    region = session.scalars(select(Region).where(Region.code == code)).first()
    if region is None:
        region = Region(level=level, code=code, name=name, parent_id=parent_id, active=True)
        session.add(region)
        session.flush()
        return region, True
    region.level, region.name, region.active = level, name, True
    if parent_id is not None:
        region.parent_id = parent_id
    return region, False


def current_boundary(session: Session, region_id: int) -> Boundary | None:
    return session.scalars(select(Boundary).where(Boundary.region_id == region_id, Boundary.valid_to.is_(None))).first()


def set_boundary(
    session: Session, region: Region, geometry: BaseGeometry, *, source: str | None = None, at: datetime | None = None
) -> tuple[Boundary, str]:
    """Record `geometry` as the region's boundary. Returns (boundary, outcome) with outcome
    "unchanged" (same shape: nothing written), "created" (first version) or "changed" (old version
    closed at `at`, a new version opened)."""
    at = at or utcnow()
    digest = geometry_hash(geometry)
    current = current_boundary(session, region.id)
    if current is not None and current.geometry_hash == digest:
        return current, "unchanged"
    if current is not None:
        current.valid_to = at
    # After the last version (also when none is current: a retired region drawn again).
    version = (session.scalar(select(func.max(Boundary.version)).where(Boundary.region_id == region.id)) or 0) + 1
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    boundary = Boundary(
        region_id=region.id,
        version=version,
        geometry=shapely.to_geojson(geometry),
        geometry_hash=digest,
        area_m2=geodesic_area_m2(geometry),
        min_lon=min_lon,
        min_lat=min_lat,
        max_lon=max_lon,
        max_lat=max_lat,
        valid_from=at,
        valid_to=None,
        source=source,
    )
    session.add(boundary)
    session.flush()
    return boundary, "created" if current is None else "changed"


def retire_region(session: Session, region: Region, *, at: datetime) -> None:
    """Take a region out of use: inactive, its current boundary closed at `at` (so nothing is
    placed in it any more; tickets placed under it keep it). Drawing it again brings it back."""
    region.active = False
    current = current_boundary(session, region.id)
    if current is not None:
        current.valid_to = at
    session.flush()
