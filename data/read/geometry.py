"""Display geometry for maps: the grids as light, watertight GeoJSON (geo.display), community and
street outlines along the displayed grid borders, each grid's bounds, and a fixed lattice of heat
cells over the district. Built from the current Boundary rows and cached per boundary version:
any new boundary version (an import, a redrawn grid) is a new row, so the version is the newest
boundary id (and the number of active grids).

Built once per boundary version for the whole deployment, not in every process (issue #14): the
first process that needs a version (the scheduler at its start, `import-grids`, `demo`, or else
the first web worker asked) builds it and stores it in the database (data.shared, key
`geometry:<newest boundary id>:<grids>`); every other process loads the stored bytes (10,000 grids:
a few hundred ms instead of seconds of simplifying polygons). On PostgreSQL the builder holds an
advisory lock, so workers starting together wait for one build instead of each building.

The big screen sends the grid polygons to the browser once (a cached URL, see
dashboard/screen/geojson.py); afterwards a refresh sends only values.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import math
import time
import zlib
from dataclasses import dataclass, field

import numpy as np
import shapely
from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from data.access import Viewer
from data.models import Boundary, Region
from data.read.cache import Memo, checked_version
from data.read.directory import directory
from data.read.scope import StatScope
from data.shared import DatabaseStore, SharedValue
from geo.display import display_geojson, outline_geojson

log = logging.getLogger(__name__)

TOLERANCE_M = 5.0
# Heat lattice: ~250 m cells, coarser for a big district so the browser holds at most this many.
HEAT_CELL_DEG = 0.0025
HEAT_MAX_CELLS = 6000

_memo: Memo[GridGeometry] = Memo(max_entries=4, ttl=None)
STORED_FORMAT = 3  # bump when the stored layout changes: old rows are then ignored
BUILD_LOCK = 0x6763_6765  # 'gcge': PostgreSQL advisory lock of the geometry build
BUILD_WAIT_S = 120.0  # longest wait for another process's build before building here


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
    # "street" → street code → the street's area as one (simplified) polygon feature: what the
    # wall colours at city zoom instead of 10,000 grids (level of detail, issue #14).
    areas: dict[str, dict[str, dict]] = field(default_factory=dict)
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

    def area_collection(self, level: str, codes=None) -> dict:
        """Areas (filled polygons) of the streets that contain `codes` (all grids when None)."""
        owners = self.street_of if level == "street" else self.community_of
        wanted = dict.fromkeys(owners[c] for c in (self.codes if codes is None else codes) if c in owners)
        table = self.areas.get(level, {})
        return {"type": "FeatureCollection", "features": [table[k] for k in wanted if k in table]}

    def outline_collection(self, level: str, codes=None) -> dict:
        """Outlines of the communities/streets that contain `codes` (all grids when None)."""
        owners = self.community_of if level == "community" else self.street_of
        wanted = dict.fromkeys(owners[c] for c in (self.codes if codes is None else codes) if c in owners)
        table = self.outlines[level]
        return {"type": "FeatureCollection", "features": [table[k] for k in wanted if k in table]}


def _version_parts(session: Session) -> tuple[str, int | None, int | None]:
    """(database URL, newest boundary id, active grids), read at most every VERSION_CHECK_S."""
    url = session.get_bind().url.render_as_string(hide_password=True)

    def read():
        newest = session.scalar(select(func.max(Boundary.id)))
        grids = session.scalar(select(func.count(Region.id)).where(Region.level == "grid", Region.active.is_(True)))
        return (newest, grids)

    newest, grids = checked_version((url, "boundaries"), read)
    return url, newest, grids


def boundary_version(session: Session) -> str:
    """Changes whenever a boundary is added or redrawn (data.regions writes a new row each time):
    the newest boundary id and the number of active grids (a retired grid), both index lookups."""
    url, newest, grids = _version_parts(session)
    return hashlib.sha1(f"{url}|{newest}|{grids}".encode()).hexdigest()[:12]


def stored_key(session: Session) -> str:
    """The key of this boundary version's stored geometry (the same for every process, whatever
    URL it reaches the database by)."""
    _url, newest, grids = _version_parts(session)
    return f"geometry:{STORED_FORMAT}:{newest}:{grids}"


def grid_geometry(session: Session) -> GridGeometry:
    """The whole district's display geometry (not scoped: callers scope with `codes_in_scope`)."""
    version = boundary_version(session)
    return _memo.get_or_build(version, lambda: stored_geometry(session, version))


def stored_geometry(session: Session, version: str | None = None) -> GridGeometry:
    """This boundary version's geometry from the database, built and stored first if no process
    has done it yet."""
    version = version or boundary_version(session)
    key = stored_key(session)
    engine = session.get_bind()
    store = DatabaseStore(engine)
    raw = store.get(key)
    if raw is not None:
        try:
            return geometry_from_bytes(raw, version)
        except (ValueError, KeyError, TypeError, zlib.error):
            log.warning("stored geometry %s is unreadable; building it again", key, exc_info=True)
    if engine.dialect.name == "sqlite":
        geometry = _build(session, version)
        store.put(key, geometry_to_bytes(geometry))
        return geometry
    try:  # one builder at a time; the others wait for what it stores
        with engine.connect() as conn:
            deadline = time.monotonic() + BUILD_WAIT_S
            while not conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({BUILD_LOCK})").scalar():
                conn.rollback()
                if time.monotonic() > deadline:
                    log.warning("waited %.0f s for another process's geometry build; building here", BUILD_WAIT_S)
                    return _build(session, version)
                time.sleep(0.25)
                raw = store.get(key)
                if raw is not None:
                    return geometry_from_bytes(raw, version)
            try:
                raw = store.get(key)
                if raw is not None:
                    return geometry_from_bytes(raw, version)
                geometry = _build(session, version)
                store.put(key, geometry_to_bytes(geometry))
                return geometry
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({BUILD_LOCK})")
                conn.commit()
    except SQLAlchemyError:
        log.warning("geometry build lock unavailable; building in this process", exc_info=True)
        return _build(session, version)


def prebuild(db) -> str:
    """Build and store the current boundary version's geometry unless it is stored (import-grids,
    demo, the scheduler at start), and forget the stored geometry of older versions. Returns its
    key."""
    with db.reader() as session:
        key = stored_key(session)
        if DatabaseStore(session.get_bind()).get(key) is None:
            stored_geometry(session)
    try:
        with db.session() as session:
            session.execute(delete(SharedValue).where(SharedValue.key.like("geometry:%"), SharedValue.key != key))
    except SQLAlchemyError:
        log.warning("could not prune older stored geometry", exc_info=True)
    return key


def prebuild_quietly(db) -> None:
    """prebuild() for a command that has just written boundaries (or starts the scheduler): this
    process's cached versions are forgotten first; a failure is logged, never fatal (the first
    worker that needs the geometry then builds it)."""
    from data.read.cache import clear_all

    clear_all()
    try:
        key = prebuild(db)
        log.info("display geometry stored as %s", key)
    except Exception:
        log.warning("could not build the display geometry now; the first web worker will", exc_info=True)


def geometry_to_bytes(g: GridGeometry) -> bytes:
    """zlib of: 8 bytes (the JSON's length), the JSON of everything but the coordinates, the
    coordinates as float64 (parsing 15 MB of GeoJSON numbers took seconds; this takes a fraction)."""
    packer = _Packer()
    lattice = None
    if g.lattice is not None:
        la = g.lattice
        lattice = {
            "lon0": la.lon0,
            "lat0": la.lat0,
            "cell": la.cell,
            "nx": la.nx,
            "ny": la.ny,
            "keep": np.flatnonzero(la.index.ravel() >= 0).tolist(),
            "lon": la.lon,
            "lat": la.lat,
        }
    body = {
        "codes": g.codes,
        "grid_ids": g.grid_ids,
        "bounds": g.bounds.tolist(),
        "features": [packer.feature(g.features[c]) for c in g.codes if c in g.features],
        "community_of": g.community_of,
        "street_of": g.street_of,
        "outlines": {level: [packer.feature(f) for f in table.values()] for level, table in g.outlines.items()},
        "lattice": lattice,
        "areas": {level: [packer.feature(f) for f in table.values()] for level, table in g.areas.items()},
    }
    head = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    coords = np.asarray(packer.points, dtype=np.float64).reshape(-1, 2).tobytes()
    return zlib.compress(len(head).to_bytes(8, "little") + head + coords, 6)


def geometry_from_bytes(raw: bytes, version: str) -> GridGeometry:
    # A million small lists at once: with the cyclic collector running, its passes over the
    # growing heap took 90 % of the time (1.7 s instead of 0.2 s for 1 M points).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _from_bytes(raw, version)
    finally:
        if enabled:
            gc.enable()


def _from_bytes(raw: bytes, version: str) -> GridGeometry:
    data = zlib.decompress(raw)
    n = int.from_bytes(data[:8], "little")
    body = json.loads(data[8 : 8 + n])
    points = np.frombuffer(data[8 + n :], dtype=np.float64).reshape(-1, 2).tolist()
    unpack = _Unpacker(points)
    lattice = None
    if body["lattice"] is not None:
        la = body["lattice"]
        index = np.full(la["nx"] * la["ny"], -1, dtype=np.int64)
        keep = np.asarray(la["keep"], dtype=np.int64)
        index[keep] = np.arange(len(keep))
        lattice = HeatLattice(
            lon0=la["lon0"],
            lat0=la["lat0"],
            cell=la["cell"],
            nx=la["nx"],
            ny=la["ny"],
            index=index.reshape(la["ny"], la["nx"]),
            lon=la["lon"],
            lat=la["lat"],
        )
    return GridGeometry(
        version=version,
        codes=body["codes"],
        grid_ids=body["grid_ids"],
        bounds=np.asarray(body["bounds"], dtype=float).reshape(-1, 4),
        features={f["id"]: unpack.feature(f) for f in body["features"]},
        community_of=body["community_of"],
        street_of=body["street_of"],
        outlines={level: {f["id"]: unpack.feature(f) for f in feats} for level, feats in body["outlines"].items()},
        lattice=lattice,
        areas={level: {f["id"]: unpack.feature(f) for f in feats} for level, feats in body["areas"].items()},
    )


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
    areas = {"street": _areas([street_of[c] for c in codes], polygons)} if rows else {}
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
        areas=areas,
    )


AREA_TOLERANCE_DEG = 0.0003  # ~30 m: a street seen at city zoom


def _areas(owners: list[str], polygons) -> dict[str, dict]:
    """Each owner's grids merged into one polygon, simplified, as GeoJSON features."""
    groups: dict[str, list[int]] = {}
    for i, owner in enumerate(owners):
        groups.setdefault(owner, []).append(i)
    out = {}
    for owner, idx in groups.items():
        parts = polygons[idx]
        try:  # grids tile their street: a coverage union is ~10x faster than a general union
            merged = shapely.coverage_union_all(parts)
            if merged.geom_type not in ("Polygon", "MultiPolygon"):
                raise shapely.errors.GEOSException("not a polygon")
        except shapely.errors.GEOSException:
            merged = shapely.union_all(shapely.make_valid(parts))
        merged = shapely.simplify(merged, AREA_TOLERANCE_DEG, preserve_topology=True)
        merged = shapely.set_precision(merged, 1e-5)
        if merged.is_empty:
            continue
        geom = json.loads(shapely.to_geojson(merged))
        if geom["type"] not in ("Polygon", "MultiPolygon"):  # a collection: keep its polygons
            parts = [g for g in getattr(merged, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
            if not parts:
                continue
            geom = json.loads(shapely.to_geojson(shapely.union_all(parts)))
        out[owner] = {"type": "Feature", "id": owner, "properties": {"code": owner}, "geometry": geom}
    return out


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


# GeoJSON coordinates nest this deep: a list of points at depth 2.
_DEPTH = {"Point": 1, "LineString": 2, "MultiPoint": 2, "Polygon": 3, "MultiLineString": 3, "MultiPolygon": 4}


class _Packer:
    """Moves features' coordinates into one flat list of points, leaving their nesting (counts)."""

    def __init__(self):
        self.points: list = []

    def feature(self, f: dict) -> dict:
        geom = f.get("geometry") or {}
        depth = _DEPTH.get(geom.get("type"))
        if depth is None:
            return f
        shape = self._shape(geom["coordinates"], depth)
        return {**f, "geometry": {"type": geom["type"], "shape": shape}}

    def _shape(self, coords, depth: int):
        if depth == 1:
            self.points.append(coords)
            return 1
        if depth == 2:
            self.points.extend(coords)
            return len(coords)
        return [self._shape(c, depth - 1) for c in coords]


class _Unpacker:
    def __init__(self, points: list):
        self.points = points
        self.pos = 0

    def feature(self, f: dict) -> dict:
        geom = f.get("geometry") or {}
        if "shape" not in geom:
            return f
        coords = self._coords(geom["shape"], _DEPTH[geom["type"]])
        return {**f, "geometry": {"type": geom["type"], "coordinates": coords}}

    def _coords(self, shape, depth: int):
        if depth == 1:
            self.pos += 1
            return self.points[self.pos - 1]
        if depth == 2:
            self.pos += shape
            return self.points[self.pos - shape : self.pos]
        return [self._coords(s, depth - 1) for s in shape]
