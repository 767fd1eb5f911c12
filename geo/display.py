"""Light, watertight GeoJSON for the wall screen's map.

Raw surveyed grids are ~50 vertices each; 10,000 of them are ~21 MB of figure JSON.  For the
screen we simplify the grids *as a coverage* (``shapely.coverage_simplify``: every shared border
is simplified once, so neighbours stay watertight -- per-polygon ``simplify`` opens slivers
between neighbours) and round coordinates to ``precision`` decimals (5 = ~1 m).  Holes and
islands (MultiPolygons) are kept.

Simplification runs in a plane where a degree of longitude is scaled by cos(latitude), so that
``tolerance_m`` means the same in every direction.  Coordinates are rounded after simplifying;
vertices shared by neighbours are identical before rounding and therefore after it.

The input should be a valid coverage (grids that do not overlap); with overlapping input the
output is still produced but may overlap as well.
"""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import shapely

__all__ = ["display_geojson", "geojson_size", "outline_geojson", "simplify_coverage"]

M_PER_DEG = 6371008.8 * math.pi / 180.0


def simplify_coverage(polygons, tolerance_m: float = 5.0, precision: int | None = 5) -> np.ndarray:
    """Coverage-simplify WGS84 polygons by ~``tolerance_m`` metres and round to ``precision``.

    Returns an object array aligned with the input; missing or empty inputs stay as they are.
    ``tolerance_m=0`` skips simplification, ``precision=None`` skips rounding.
    """
    polys = np.asarray(list(polygons), dtype=object)
    present = ~(shapely.is_missing(polys) | shapely.is_empty(polys))
    out = polys.copy()
    if not present.any():
        return out
    work = polys[present]
    if tolerance_m > 0:
        ymin, ymax = shapely.total_bounds(work)[[1, 3]]
        scale = math.cos(math.radians((ymin + ymax) / 2))
        work = shapely.transform(work, lambda xy: xy * (scale, 1.0))
        work = shapely.coverage_simplify(work, tolerance_m / M_PER_DEG, simplify_boundary=True)
        work = shapely.transform(work, lambda xy: xy / (scale, 1.0))
    work = shapely.orient_polygons(work, exterior_cw=False)  # RFC 7946: exteriors anticlockwise
    if precision is not None:
        work = shapely.transform(work, lambda xy: np.round(xy, precision))
        work = shapely.remove_repeated_points(work, 0.0)
    out[present] = work
    return out


def display_geojson(codes, polygons, tolerance_m: float = 5.0, precision: int = 5) -> dict:
    """A GeoJSON FeatureCollection of grids for the map, one Feature per grid.

    Each feature has ``id`` = the grid code (what Plotly's ``locations`` match by default) and
    ``properties`` = {"code": code}.  Grids with a missing or empty polygon are left out.
    """
    codes = list(codes)
    simplified = simplify_coverage(polygons, tolerance_m, precision)
    if len(codes) != len(simplified):
        raise ValueError("codes and polygons must have the same length")
    features = [_feature(code, geom) for code, geom in zip(codes, simplified, strict=True)
                if geom is not None and not geom.is_empty]
    return {"type": "FeatureCollection", "features": features}


def outline_geojson(codes, polygons, tolerance_m: float = 5.0, precision: int = 5) -> dict:
    """Community or street outlines as (Multi)LineStrings, one Feature per distinct code.

    ``codes[i]`` names the unit ``polygons[i]`` belongs to; polygons with the same code are
    dissolved.  Pass the *grid* polygons with their community (or street) codes and the same
    tolerance as ``display_geojson``: the outlines then run exactly along the displayed grid
    borders.  One polygon per unit also works.
    """
    codes = np.asarray(list(codes), dtype=object)
    simplified = simplify_coverage(polygons, tolerance_m, precision=None)
    if len(codes) != len(simplified):
        raise ValueError("codes and polygons must have the same length")
    present = ~(shapely.is_missing(simplified) | shapely.is_empty(simplified))
    features = []
    for code in dict.fromkeys(codes[present].tolist()):  # first-seen order
        unit = simplified[present & (codes == code)]
        merged = unit[0] if len(unit) == 1 else shapely.coverage_union_all(unit)
        line = shapely.line_merge(shapely.boundary(merged))
        line = shapely.transform(line, lambda xy: np.round(xy, precision))
        features.append(_feature(code, line))
    return {"type": "FeatureCollection", "features": features}


def geojson_size(obj) -> tuple[int, int]:
    """(raw bytes, gzip bytes) of ``obj`` serialised compactly as UTF-8 JSON, as sent."""
    raw = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return len(raw), len(gzip.compress(raw, compresslevel=6, mtime=0))


def _feature(code, geom) -> dict:
    return {"type": "Feature", "id": code, "properties": {"code": code}, "geometry": _geometry(geom)}


def _geometry(geom) -> dict:
    kind = geom.geom_type
    if kind == "Polygon":
        return {"type": kind, "coordinates": _polygon_coords(geom)}
    if kind == "MultiPolygon":
        return {"type": kind, "coordinates": [_polygon_coords(p) for p in geom.geoms]}
    if kind == "LineString":
        return {"type": kind, "coordinates": _xy(geom)}
    if kind == "MultiLineString":
        return {"type": kind, "coordinates": [_xy(g) for g in geom.geoms]}
    if kind == "GeometryCollection":  # rare: collapsed parts after rounding; keep the polygons
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        return _geometry(shapely.union_all(parts))
    raise ValueError(f"cannot display a {kind}")


def _polygon_coords(polygon) -> list:
    return [_xy(polygon.exterior), *(_xy(ring) for ring in polygon.interiors)]


def _xy(line) -> list:
    # Python floats of np.round'ed values print in their shortest form: 115.41235, not ...0001.
    return shapely.get_coordinates(line).tolist()
