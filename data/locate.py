"""Placing points in grids: a geo.assign.GridIndex over the current grid boundaries, with each grid's
community and street, cached per boundary version set."""

from __future__ import annotations

import numpy as np
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.models import Boundary, Region
from data.placement import UNPLACED, Placement
from data.read.cache import Memo
from geo.assign import GridIndex

# One entry: the current map. Registered with data.read.cache, so clear_all() forgets it too.
_cache: Memo[GridLocator] = Memo(max_entries=1)


class GridLocator:
    """Current grid polygons of the database, ready to place points (WGS84 lon/lat)."""

    def __init__(self, grid_ids, boundary_ids, community_ids, street_ids, codes, polygons):
        self.grid_ids = np.asarray(grid_ids, dtype=np.int64)
        self.boundary_ids = np.asarray(boundary_ids, dtype=np.int64)
        self.community_ids = list(community_ids)
        self.street_ids = list(street_ids)
        self.codes = list(codes)
        self.index = GridIndex(self.codes, polygons) if len(self.codes) else None

    @classmethod
    def from_session(cls, session: Session) -> GridLocator:
        rows = session.execute(
            select(Region.id, Region.code, Region.parent_id, Boundary.id, Boundary.geometry)
            .join(Boundary, Boundary.region_id == Region.id)
            .where(Region.level == "grid", Region.active.is_(True), Boundary.valid_to.is_(None))
            .order_by(Region.code)
        ).all()
        parents = dict(session.execute(select(Region.id, Region.parent_id).where(Region.level == "community")).all())
        return cls(
            [r[0] for r in rows],
            [r[3] for r in rows],
            [r[2] for r in rows],
            [parents.get(r[2]) for r in rows],
            [r[1] for r in rows],
            [shapely.from_geojson(r[4]) for r in rows],
        )

    def place_many(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """(row index into this locator or -1, match label) for arrays of points."""
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if self.index is None:
            return np.full(lon.shape, -1), np.full(lon.shape, "unassigned", dtype=object)
        result = self.index.assign(lon, lat)
        return result.code_index, np.char.lower(result.match_names().astype(str))

    def place(self, lon: float | None, lat: float | None) -> Placement:
        if lon is None or lat is None or self.index is None:
            return UNPLACED
        one = self.index.assign_one(float(lon), float(lat))
        return self.placement_at(one.index, one.match.name.lower())

    def placement_at(self, i: int, match: str) -> Placement:
        if i < 0:
            return UNPLACED
        return Placement(
            grid_id=int(self.grid_ids[i]),
            community_id=self.community_ids[i],
            street_id=self.street_ids[i],
            boundary_id=int(self.boundary_ids[i]),
            match=match,
        )


def locator(session: Session) -> GridLocator:
    """The locator for the database's current boundaries (rebuilt when any boundary changes)."""
    key = (
        str(session.get_bind().url),
        # valid_from too: ids can be reused (a rolled-back SQLite insert, an emptied test
        # database), and a different map must never hit the old index.
        *session.execute(
            select(
                func.count(Boundary.id),
                func.max(Boundary.id),
                func.max(Boundary.valid_from),
                func.max(Boundary.valid_to),
            )
        ).one(),
    )
    return _cache.get_or_build(key, lambda: GridLocator.from_session(session))
