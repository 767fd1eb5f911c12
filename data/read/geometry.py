"""Display geometry for maps: the grids as light, watertight GeoJSON (geo.display), community and
street outlines along the displayed grid borders, each grid's bounds, and a fixed lattice of heat
cells over the district. Built from the current Boundary rows and cached per boundary version:
any new boundary version (an import, a redrawn grid) is a new row, so the version is the newest
boundary id (and the number of active grids).

The big screen sends the grid polygons to the browser once (a cached URL, see
dashboard/screen/geojson.py); afterwards a refresh sends only values.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.access import Viewer
from data.models import Boundary, Region
from data.read.cache import Memo, checked_version
from data.read.directory import directory
from data.read.scope import StatScope
from geo.display import display_geojson, outline_geojson

TOLERANCE_M = 5.0
# Heat lattice: ~250 m cells, coarser for a big district so the browser holds at most this many.
HEAT_CELL_DEG = 0.0025
HEAT_MAX_CELLS = 6000

_memo: Memo[GridGeometry] = Memo(max_entries=4, ttl=None)


@dataclass(frozen=True)
class HeatLattice:
    """Cells of `cell` degrees from (lon0, lat0); `index[iy, ix]` is a cell's position in
    lon/lat (or -1 outside the district)."""

    lon0: float
    lat0: float
    cell: float
    nx: int
    ny: int
    index: np.ndarray
    lon: list[float]
    lat: list[float]

    def positions(self, ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
        ok = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        out = np.full(len(ix), -1, dtype=np.int64)
        out[ok] = self.index[iy[ok], ix[ok]]
        return out


@dataclass
class GridGeometry:
    version: str
    codes: list[str]  # sorted; the order every per-grid array follows
    grid_ids: list[int]
    bounds: np.ndarray  # (n, 4): min lon, min lat, max lon, max lat
    features: dict[str, dict]  # grid code → display GeoJSON feature
    community_of: dict[str, str]  # grid code → community code
    street_of: dict[str, str]  # grid code → street code
    outlines: dict[str, dict[str, dict]]  # "community"/"street" → code → outline feature
    lattice: HeatLattice | None
    index_of: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self.index_of = {code: i for i, code in enumerate(self.codes)}

    def total_bounds(self, codes=None) -> tuple[float, float, float, float] | None:
        rows = self.bounds if codes is None else self.bounds[[self.index_of[c] for c in codes if c in self.index_of]]
        if not len(rows):
            return None
        return (float(rows[:, 0].min()), float(rows[:, 1].min()), float(rows[:, 2].max()), float(rows[:, 3].max()))

    def grid_collection(self, codes=None) -> dict:
        wanted = self.codes if codes is None else [c for c in codes if c in self.features]
        return {"type": "FeatureCollection", "features": [self.features[c] for c in wanted]}

    def outline_collection(self, level: str, codes=None) -> dict:
        """Outlines of the communities/streets that contain `codes` (all grids when None)."""
        owners = self.community_of if level == "community" else self.street_of
        wanted = dict.fromkeys(owners[c] for c in (self.codes if codes is None else codes) if c in owners)
        table = self.outlines[level]
        return {"type": "FeatureCollection", "features": [table[k] for k in wanted if k in table]}


def boundary_version(session: Session) -> str:
    """Changes whenever a boundary is added or redrawn (data.regions writes a new row each time):
    the newest boundary id and the number of active grids (a retired grid), both index lookups."""
    url = session.get_bind().url.render_as_string(hide_password=True)

    def read():
        newest = session.scalar(select(func.max(Boundary.id)))
        grids = session.scalar(select(func.count(Region.id)).where(Region.level == "grid", Region.active.is_(True)))
        return (newest, grids)

    newest, grids = checked_version((url, "boundaries"), read)
    return hashlib.sha1(f"{url}|{newest}|{grids}".encode()).hexdigest()[:12]


def grid_geometry(session: Session) -> GridGeometry:
    """The whole district's display geometry (not scoped: callers scope with `codes_in_scope`)."""
    version = boundary_version(session)
    return _memo.get_or_build(version, lambda: _build(session, version))


def codes_in_scope(geometry: GridGeometry, scope: StatScope) -> list[str]:
    if scope.whole_district:
        return list(geometry.codes)
    return [c for c, gid in zip(geometry.codes, geometry.grid_ids, strict=True) if gid in scope.grid_ids]


def scoped_geometry(session: Session, viewer: Viewer, scope: StatScope) -> tuple[GridGeometry, list[str]]:
    viewer.require("regions")
    geometry = grid_geometry(session)
    return geometry, codes_in_scope(geometry, scope)


def _build(session: Session, version: str) -> GridGeometry:
    tree = directory(session)
    rows = session.execute(
        select(
            Region.id,
            Region.code,
            Boundary.geometry,
            Boundary.min_lon,
            Boundary.min_lat,
            Boundary.max_lon,
            Boundary.max_lat,
        )
        .join(Boundary, Boundary.region_id == Region.id)
        .where(Region.level == "grid", Region.active.is_(True), Boundary.valid_to.is_(None))
        .order_by(Region.code)
    ).all()
    codes = [r.code for r in rows]
    polygons = shapely.from_geojson([r.geometry for r in rows]) if rows else np.array([], dtype=object)
    grids = display_geojson(codes, polygons, tolerance_m=TOLERANCE_M) if rows else {"features": []}
    community_of, street_of = {}, {}
    for r in rows:
        community = tree.ancestor(r.id, "community")
        street = tree.ancestor(r.id, "street")
        community_of[r.code] = community.code if community else r.code
        street_of[r.code] = street.code if street else community_of[r.code]
    outlines = {}
    for level, owner in (("community", community_of), ("street", street_of)):
        fc = outline_geojson([owner[c] for c in codes], polygons, tolerance_m=TOLERANCE_M) if rows else {}
        outlines[level] = {f["id"]: f for f in fc.get("features", [])}
    bounds = np.array([[r.min_lon, r.min_lat, r.max_lon, r.max_lat] for r in rows], dtype=float).reshape(-1, 4)
    return GridGeometry(
        version=version,
        codes=codes,
        grid_ids=[r.id for r in rows],
        bounds=bounds,
        features={f["id"]: f for f in grids["features"]},
        community_of=community_of,
        street_of=street_of,
        outlines=outlines,
        lattice=_lattice(bounds) if rows else None,
    )


def _lattice(bounds: np.ndarray) -> HeatLattice:
    lon0, lat0 = bounds[:, 0].min(), bounds[:, 1].min()
    lon1, lat1 = bounds[:, 2].max(), bounds[:, 3].max()
    area = max((lon1 - lon0) * (lat1 - lat0), 1e-9)
    cell = max(HEAT_CELL_DEG, math.sqrt(area / HEAT_MAX_CELLS))
    nx, ny = int((lon1 - lon0) / cell) + 1, int((lat1 - lat0) / cell) + 1
    xs = lon0 + (np.arange(nx) + 0.5) * cell
    ys = lat0 + (np.arange(ny) + 0.5) * cell
    gx, gy = np.meshgrid(xs, ys)
    # Keep the cells that overlap some grid's bounding box: points reported in the district land
    # there; the rest of the district's bounding box never gets heat.
    keep = np.zeros((ny, nx), dtype=bool)
    ix0 = np.clip(((bounds[:, 0] - lon0) / cell).astype(int), 0, nx - 1)
    ix1 = np.clip(((bounds[:, 2] - lon0) / cell).astype(int), 0, nx - 1)
    iy0 = np.clip(((bounds[:, 1] - lat0) / cell).astype(int), 0, ny - 1)
    iy1 = np.clip(((bounds[:, 3] - lat0) / cell).astype(int), 0, ny - 1)
    for a, b, c, d in zip(ix0, ix1, iy0, iy1, strict=True):
        keep[c : d + 1, a : b + 1] = True
    index = np.full((ny, nx), -1, dtype=np.int64)
    index[keep] = np.arange(int(keep.sum()))
    return HeatLattice(
        lon0=float(lon0),
        lat0=float(lat0),
        cell=float(cell),
        nx=nx,
        ny=ny,
        index=index,
        lon=np.round(gx[keep], 5).tolist(),
        lat=np.round(gy[keep], 5).tolist(),
    )
