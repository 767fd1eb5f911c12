"""Read real grid files (GeoJSON, Shapefile, zipped Shapefile, GeoPackage) and check them.

``read_grid_file`` returns WGS84 polygons keyed by grid code plus a validation report that a
CLI can print.  It refuses what would silently corrupt assignment (no code field, duplicate
codes, features without a code, projected coordinates with no CRS) by raising
``GridFileError`` with a readable message, and it repairs or reports the rest:

- CRS: reprojected to EPSG:4326 from the file's CRS.  A file with *no* CRS whose coordinates
  all lie within longitude/latitude range is taken as WGS84 (the report says so); one with
  coordinates out of that range is refused.
- ``coords="gcj02"|"bd09"``: the file claims WGS84 but was digitised on an AMap / Baidu base
  map; every vertex is converted to WGS84 (shared vertices stay shared).
- DataV-style GeoJSON (nested properties such as ``{"parent": {"adcode": 360700}}``) is
  flattened to ``parent.adcode``.
- Invalid geometries are repaired with ``shapely.make_valid`` keeping only polygonal parts;
  holes and multi-part grids are kept.
- Overlaps between grids and gaps (holes in the union of all grids; a gap open to the outside
  cannot be told from the outer edge and is not reported) are measured in m² in the
  CGCS2000 3-degree Gauss-Krueger zone of the data's central longitude (EPSG:4534..4554, e.g.
  EPSG:4547 for CM 114E), the projection Chinese survey data is delivered in; outside China's
  zones a local Lambert azimuthal equal-area projection is used instead.
"""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from geo.coords import normalise_system, to_wgs84

__all__ = ["Gap", "GridFileError", "GridFileReport", "GridFileResult", "Overlap", "metric_crs",
           "read_grid_file"]

CODE_FIELDS = ["grid_code", "gridcode", "wgbm", "网格编码", "网格代码", "网格编号", "code", "adcode",
               "编码", "bm", "grid_id", "id"]
NAME_FIELDS = ["grid_name", "gridname", "wgmc", "网格名称", "name", "名称", "mc"]
PARENT_FIELDS = ["parent_code", "parentcode", "community_code", "sqbm", "社区编码", "parent.adcode",
                 "parent_adcode", "parent"]


class GridFileError(Exception):
    """A grid file that cannot be imported; ``str(error)`` is a message for the user.

    ``report`` holds the validation report when the file could be read that far.
    """

    def __init__(self, message: str, report: GridFileReport | None = None):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Overlap:
    code_a: str
    code_b: str
    area_m2: float


@dataclass(frozen=True)
class Gap:
    area_m2: float
    lon: float  # a point inside the gap, WGS84, to find it on a map
    lat: float


@dataclass
class GridFileReport:
    """What was read, assumed, repaired and found; ``lines()`` / ``str()`` render it."""

    path: str
    layer: str | None = None
    driver: str | None = None
    feature_count: int = 0
    source_crs: str | None = None
    crs_assumed_wgs84: bool = False
    coords: str = "wgs84"
    code_field: str | None = None
    name_field: str | None = None
    parent_field: str | None = None
    grid_count: int = 0
    with_holes: int = 0
    multipart: int = 0
    repaired: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    metric_crs: str | None = None
    overlaps: list[Overlap] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    uncovered: list[Gap] = field(default_factory=list)
    gap_max_m2: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        where = f"{self.path}" + (f" layer {self.layer!r}" if self.layer else "")
        out = [f"Grid file: {where} ({self.driver or '?'}, {self.feature_count} features)"]
        if self.crs_assumed_wgs84:
            out.append("CRS: none in the file; coordinates are within lon/lat range, "
                       "so they were taken as WGS84 (EPSG:4326)")
        elif self.source_crs:
            out.append(f"CRS: {self.source_crs} -> WGS84 (EPSG:4326)")
        if self.coords != "wgs84":
            out.append(f"Coordinates: converted vertex by vertex from {self.coords.upper()} to WGS84")
        out.append(f"Fields: code={self.code_field}, name={self.name_field}, "
                   f"parent={self.parent_field}")
        out.append(f"Grids: {self.grid_count} ({self.with_holes} with holes, "
                   f"{self.multipart} multi-part)")
        out += _section(f"Repaired invalid geometries (make_valid): {len(self.repaired)}",
                        [f"{c}: {why}" for c, why in self.repaired])
        out += _section(f"Dropped features: {len(self.dropped)}",
                        [f"{c}: {why}" for c, why in self.dropped])
        out += _section(f"Duplicate codes: {len(self.duplicates)}", self.duplicates)
        if self.metric_crs:
            out += _section(f"Overlaps between grids: {len(self.overlaps)} (m², {self.metric_crs})",
                            [f"{o.code_a} x {o.code_b}: {o.area_m2:,.1f} m²" for o in self.overlaps])
            out += _section(f"Gaps (holes in the union under {self.gap_max_m2:,.0f} m²): {len(self.gaps)}",
                            [f"{g.area_m2:,.1f} m² near {g.lon:.5f}, {g.lat:.5f}" for g in self.gaps])
            if self.uncovered:
                out += _section(f"Larger uncovered holes (probably intended): {len(self.uncovered)}",
                                [f"{g.area_m2:,.0f} m² near {g.lon:.5f}, {g.lat:.5f}"
                                 for g in self.uncovered])
        out += _section(f"Errors: {len(self.errors)}", self.errors, always=False)
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


@dataclass
class GridFileResult:
    """Grids read from a file: aligned lists plus WGS84 polygons and the report."""

    codes: list[str]
    names: list[str | None]
    parent_codes: list[str | None]
    polygons: np.ndarray
    report: GridFileReport

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"code": self.codes, "name": self.names,
                                 "parent_code": self.parent_codes},
                                geometry=list(self.polygons), crs=4326)


def read_grid_file(path, code_field: str | None = None, name_field: str | None = None,
                   parent_field: str | None = None, coords: str | None = None, *,
                   layer: str | None = None, gap_max_m2: float = 5000.0,
                   min_area_m2: float = 1.0) -> GridFileResult:
    """Read grid polygons from GeoJSON / Shapefile (.shp or .zip) / GeoPackage as WGS84.

    Fields are guessed when not given (code: grid_code, wgbm, 网格编码, code, adcode, id, ...).
    ``coords`` names the system the coordinates really are in ("wgs84", "gcj02", "bd09").
    Overlaps and gaps smaller than ``min_area_m2`` are ignored as numerical noise; holes in the
    union up to ``gap_max_m2`` are reported as gaps, larger ones as probably intended.
    Raises ``GridFileError`` for files that cannot be imported safely.
    """
    system = normalise_system(coords) if coords is not None else "wgs84"
    source, layer = _resolve_source(os.fspath(path), layer)
    report = GridFileReport(path=os.fspath(path), layer=layer, coords=system, gap_max_m2=gap_max_m2)
    try:
        info = pyogrio.read_info(source, layer=layer)
        frame = gpd.read_file(source, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise GridFileError(f"cannot read {report.path}: {exc}", report) from exc
    report.driver = info.get("driver")
    report.feature_count = len(frame)
    if len(frame) == 0:
        raise GridFileError(f"{report.path} has no features", report)
    if not isinstance(frame, gpd.GeoDataFrame):  # e.g. a CSV: GDAL reads it as a table without geometry
        raise GridFileError(f"{report.path} has no geometries: a table, not a map layer", report)

    frame = _flatten_nested(frame)
    frame = _to_wgs84(frame, report)
    if system != "wgs84":
        frame = frame.set_geometry(shapely.transform(
            frame.geometry.array, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], system))))

    columns = [c for c in frame.columns if c != frame.geometry.name]
    report.code_field = _pick_field(columns, code_field, CODE_FIELDS, "code", required=True)
    report.name_field = _pick_field(columns, name_field, NAME_FIELDS, "name")
    report.parent_field = _pick_field(columns, parent_field, PARENT_FIELDS, "parent")

    codes = [_as_code(v) for v in frame[report.code_field]]
    missing = [i for i, c in enumerate(codes) if c is None]
    if missing:
        report.errors.append(f"{len(missing)} features have no {report.code_field!r} value "
                             f"(rows {_shorten(missing)})")
        raise GridFileError(report.errors[-1], report)
    names = [_as_text(v) for v in frame[report.name_field]] if report.name_field else [None] * len(codes)
    parents = ([_as_code(v) for v in frame[report.parent_field]] if report.parent_field
               else [None] * len(codes))

    polygons = _polygonal(frame.geometry.array, codes, report)
    keep = np.array([p is not None for p in polygons], dtype=bool)
    codes = [c for c, k in zip(codes, keep, strict=True) if k]
    names = [n for n, k in zip(names, keep, strict=True) if k]
    parents = [p for p, k in zip(parents, keep, strict=True) if k]
    polygons = np.asarray(polygons, dtype=object)[keep]

    seen = pd.Series(codes)
    report.duplicates = sorted(seen[seen.duplicated()].unique().tolist())
    if report.duplicates:
        report.errors.append(f"duplicate grid codes ({len(report.duplicates)}): "
                             f"{_shorten(report.duplicates)}")
        raise GridFileError(f"{report.path}: {report.errors[-1]}; every grid needs its own code",
                            report)
    if len(codes) == 0:
        raise GridFileError(f"{report.path}: no polygon features left to import", report)

    report.grid_count = len(codes)
    report.with_holes = int((shapely.get_num_interior_rings(shapely.get_parts(polygons)) > 0).sum())
    report.multipart = int((shapely.get_type_id(polygons) == 6).sum())
    _check_coverage(codes, polygons, report, gap_max_m2, min_area_m2)
    return GridFileResult(codes, names, parents, polygons, report)


def metric_crs(lon: float, lat: float) -> pyproj.CRS:
    """CRS in metres for areas near (lon, lat): the CGCS2000 3-degree Gauss-Krueger zone
    (EPSG:4534 = CM 75E ... EPSG:4554 = CM 135E), or a local equal-area projection elsewhere."""
    cm = 3 * round(lon / 3)
    if 75 <= cm <= 135 and abs(lon - cm) <= 1.5:
        return pyproj.CRS.from_epsg(4534 + (cm - 75) // 3)
    return pyproj.CRS.from_proj4(f"+proj=laea +lat_0={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m")


# --- steps ---------------------------------------------------------------------------------

def _resolve_source(path: str, layer: str | None) -> tuple[str, str | None]:
    """GDAL path for the file; finds the shapefile inside a .zip; picks the only polygon layer."""
    if not os.path.exists(path):
        raise GridFileError(f"file not found: {path}")
    source = path
    if path.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            inside = [n for n in z.namelist()
                      if n.lower().endswith((".shp", ".gpkg", ".geojson", ".json"))
                      and not n.startswith("__MACOSX")]
        if not inside:
            raise GridFileError(f"{path}: the zip holds no .shp, .gpkg or .geojson file")
        if len(inside) > 1:
            chosen = [n for n in inside if layer and os.path.splitext(os.path.basename(n))[0] == layer]
            if len(chosen) != 1:
                raise GridFileError(f"{path}: the zip holds several files ({', '.join(inside)}); "
                                    "choose one with layer=<file name without extension>")
            inside = chosen
            layer = None
        source = f"/vsizip/{os.path.abspath(path)}/{inside[0]}"
    if layer is None:
        try:
            layers = pyogrio.list_layers(source)
        except pyogrio.errors.DataSourceError as exc:
            raise GridFileError(f"cannot read {path}: {exc}") from exc
        if len(layers) > 1:
            polygonal = [name for name, kind in layers if kind and "Polygon" in str(kind)]
            if len(polygonal) != 1:
                names = ", ".join(str(name) for name, _ in layers)
                raise GridFileError(f"{path} has several layers ({names}); choose one with layer=")
            layer = polygonal[0]
    return source, layer


def _flatten_nested(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """DataV-style nested dicts {"parent": {"adcode": 1}} become a column "parent.adcode"."""
    for column in [c for c in frame.columns if c != frame.geometry.name]:
        values = frame[column]
        if values.dtype != object or not values.map(lambda v: isinstance(v, dict)).any():
            continue
        flat = pd.json_normalize([v if isinstance(v, dict) else {} for v in values], sep=".")
        flat.columns = [f"{column}.{c}" for c in flat.columns]
        flat.index = frame.index
        frame = frame.drop(columns=[column]).join(flat)
    return frame


def _to_wgs84(frame: gpd.GeoDataFrame, report: GridFileReport) -> gpd.GeoDataFrame:
    if frame.crs is None:
        xmin, ymin, xmax, ymax = frame.total_bounds
        if all(map(math.isfinite, (xmin, ymin, xmax, ymax))) and \
                -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90:
            report.crs_assumed_wgs84 = True
            return frame.set_crs(4326)
        report.errors.append(
            f"the file has no CRS (no .prj / crs member) and its coordinates "
            f"(x {xmin:.6g}..{xmax:.6g}, y {ymin:.6g}..{ymax:.6g}) are not longitude/latitude; "
            "add the CRS to the file (e.g. a .prj for EPSG:4547) or reproject it to WGS84 first")
        raise GridFileError(f"{report.path}: {report.errors[-1]}", report)
    epsg = frame.crs.to_epsg()
    report.source_crs = f"EPSG:{epsg} ({frame.crs.name})" if epsg else frame.crs.name
    if epsg == 4326:
        return frame
    return frame.to_crs(4326)


def _pick_field(columns, wanted, candidates, what, required=False):
    lower = {str(c).lower(): c for c in columns}
    available = ", ".join(map(str, columns)) or "(none)"
    if wanted is not None:
        if wanted in columns:
            return wanted
        if str(wanted).lower() in lower:
            return lower[str(wanted).lower()]
        raise GridFileError(f"no field {wanted!r} for the grid {what}; available fields: {available}")
    for name in candidates:
        if name.lower() in lower:
            return lower[name.lower()]
    if required:
        raise GridFileError(f"cannot tell which field holds the grid {what}; pass it explicitly "
                            f"(code_field=...). Available fields: {available}")
    return None


def _as_code(value) -> str | None:
    """Codes are text: 360731001001001 (int or integral float) -> '360731001001001'."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = str(value).strip()
    return text or None


def _as_text(value) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value).strip() or None


def _polygonal(geoms, codes, report):
    """Polygon / MultiPolygon per feature (repaired), or None when nothing polygonal is left."""
    out = []
    for code, geom in zip(codes, geoms, strict=True):
        if geom is None or geom.is_empty:
            report.dropped.append((code, "no geometry"))
            out.append(None)
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            geom = shapely.make_valid(geom)
            report.repaired.append((code, reason))
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
            geom = shapely.union_all(parts) if parts else None
        if geom is None or geom.is_empty:
            report.dropped.append((code, "no polygonal part"))
            out.append(None)
            continue
        if geom.geom_type == "MultiPolygon" and len(geom.geoms) == 1:
            geom = geom.geoms[0]  # GeoPackage and Shapefile writers promote to multi
        out.append(geom)
    return out


def _check_coverage(codes, polygons, report, gap_max_m2, min_area_m2):
    """Overlaps between grids and holes in their union, in m² in a metric CRS."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(polygons)
    crs = metric_crs((xmin + xmax) / 2, (ymin + ymax) / 2)
    report.metric_crs = f"EPSG:{crs.to_epsg()} {crs.name}" if crs.to_epsg() else crs.name
    forward = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    back = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    metric = shapely.transform(polygons, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))

    tree = shapely.STRtree(metric)
    a, b = tree.query(metric, predicate="intersects")
    a, b = a[a < b], b[a < b]
    area = shapely.area(shapely.intersection(metric[a], metric[b]))
    big = area >= min_area_m2
    report.overlaps = sorted((Overlap(*sorted((codes[i], codes[j])), float(x))
                              for i, j, x in zip(a[big], b[big], area[big], strict=True)),
                             key=lambda o: -o.area_m2)

    # Snap to 1 cm while dissolving: reprojected T-junctions leave nanometre slivers that would
    # otherwise connect a real gap to the outside, so it would no longer be a hole.
    union = shapely.union_all(metric, grid_size=0.01)
    holes = [shapely.Polygon(ring) for part in shapely.get_parts(union) for ring in part.interiors]
    for hole in holes:
        size = hole.area
        if size < min_area_m2:
            continue
        x, y = hole.point_on_surface().coords[0]
        hole_lon, hole_lat = back.transform(x, y)
        target = report.gaps if size <= gap_max_m2 else report.uncovered
        target.append(Gap(float(size), float(hole_lon), float(hole_lat)))
    report.gaps.sort(key=lambda g: -g.area_m2)
    report.uncovered.sort(key=lambda g: -g.area_m2)


def _section(title, items, always=True):
    if not items and not always:
        return []
    return [title, *(f"  {item}" for item in items[:50]),
            *([f"  ... and {len(items) - 50} more"] if len(items) > 50 else [])]


def _shorten(items, limit=20):
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")
