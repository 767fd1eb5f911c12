"""The /report page's small offline map: the district's grids as one SVG drawn from the current
boundaries (coverage-simplified), no tiles, nothing fetched from elsewhere. A tap is turned back
into lon/lat by the page's script from the bounds written on the <svg> (an equirectangular
projection scaled by cos(latitude): linear, so the inverse is exact)."""

from __future__ import annotations

import math
import threading
from html import escape

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.models import Boundary, Region
from data.shared import DatabaseStore
from geo.display import simplify_coverage

WIDTH = 1000.0
_cache: dict[tuple, str] = {}
_lock = threading.Lock()


def svg(session: Session) -> str:
    key = (str(session.get_bind().url), *session.execute(select(func.count(Boundary.id), func.max(Boundary.id))).one())
    with _lock:
        if key in _cache:
            return _cache[key]
    # Drawn once per boundary version for every worker (issue #14): a city's 10,000 grids take
    # seconds to simplify, so the first worker stores the SVG and the others load it.
    store, stored_key = DatabaseStore(session.get_bind()), f"minimap:{key[1]}:{key[2]}"
    raw = store.get(stored_key)
    drawn = raw.decode() if raw is not None else None
    if drawn is None:
        drawn = _draw(session)
        store.put(stored_key, drawn.encode())
    with _lock:
        _cache.clear()
        _cache[key] = drawn
    return drawn


def _draw(session: Session) -> str:
    rows = session.execute(
        select(Region.code, Region.name, Boundary.geometry)
        .join(Boundary, Boundary.region_id == Region.id)
        .where(Region.level == "grid", Region.active.is_(True), Boundary.valid_to.is_(None))
        .order_by(Region.code)
    ).all()
    if not rows:
        return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} 600" data-empty="1"></svg>'
    polygons = simplify_coverage([shapely.from_geojson(r[2]) for r in rows], tolerance_m=15.0, precision=5)
    min_lon, min_lat, max_lon, max_lat = shapely.total_bounds(polygons)
    kx = math.cos(math.radians((min_lat + max_lat) / 2))
    scale = WIDTH / max((max_lon - min_lon) * kx, 1e-9)
    height = (max_lat - min_lat) * scale

    def ring(coords) -> str:
        pts = " ".join(f"{(x - min_lon) * kx * scale:.1f},{(max_lat - y) * scale:.1f}" for x, y in coords)
        return f"M{pts}Z"

    paths = []
    for (code, name, _), geom in zip(rows, polygons, strict=True):
        parts = shapely.get_parts(geom)
        d = "".join(ring(p.exterior.coords) + "".join(ring(i.coords) for i in p.interiors) for p in parts)
        paths.append(f'<path d="{d}" data-code="{escape(code)}"><title>{escape(name)}</title></path>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {height:.1f}" '
        f'data-min-lon="{min_lon:.6f}" data-max-lat="{max_lat:.6f}" data-kx="{kx:.8f}" data-scale="{scale:.4f}">'
        f'<g class="grids">{"".join(paths)}</g><circle class="pin" r="9" cx="-50" cy="-50"/></svg>'
    )
