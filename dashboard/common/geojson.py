"""GET /geo/<layer>.json: the display GeoJSON of the grids (`grids`) and of the community and
street outlines (`communities`, `streets`) the viewer may see. The big screen's figure carries
only this URL; the browser fetches the polygons once and caches them (the URL names the boundary
version, so a redrawn grid is a new URL). Served gzipped when the browser accepts it
(10,000 grids: ~2 MB instead of ~9 MB)."""

from __future__ import annotations

import gzip
import hashlib
import json

from flask import Blueprint, Response, abort, request

from dashboard.common.context import db, reader
from dashboard.viewer import current_viewer
from data.access import AccessDenied
from data.read.cache import Memo
from data.read.geometry import GridGeometry, codes_in_scope, grid_geometry
from data.read.scope import StatScope, stat_scope
from data.shared import DatabaseStore

blueprint = Blueprint("geojson", __name__)
LAYERS = ("grids", "communities", "streets", "street_areas")  # street_areas: the wall at city zoom (issue #14)
_bodies: Memo[tuple[bytes, bytes, str]] = Memo(max_entries=24, ttl=None)


def scope_key(scope: StatScope) -> str:
    if scope.whole_district:
        return "all"
    return hashlib.sha1(",".join(map(str, sorted(scope.grid_ids))).encode()).hexdigest()[:10]


def layer_url(layer: str, geometry: GridGeometry, scope: StatScope) -> str:
    return f"/geo/{layer}.json?v={geometry.version}&s={scope_key(scope)}"


def layer_collection(layer: str, geometry: GridGeometry, codes: list[str]) -> dict:
    if layer == "grids":
        return geometry.grid_collection(codes)
    if layer == "street_areas":
        return geometry.area_collection("street", codes)
    return geometry.outline_collection("community" if layer == "communities" else "street", codes)


@blueprint.get("/geo/<layer>.json")
def geo_layer(layer: str):
    if layer not in LAYERS:
        abort(404)
    viewer = current_viewer()
    try:
        viewer.require("regions")
        with reader() as session:
            scope = stat_scope(session, viewer) if viewer.can("aggregates") else StatScope(frozenset())
            geometry = grid_geometry(session)
    except AccessDenied:
        return Response(json.dumps({"error": "forbidden"}), status=403, mimetype="application/json")
    key = (geometry.version, scope_key(scope), layer)
    engine = db().engine

    def build():
        # Made once per version, scope and layer for every worker (issue #14): serialising and
        # gzipping a city's grids takes a second or two; a fresh worker loads the gzipped body.
        store, stored = DatabaseStore(engine), f"geojson:{geometry.version}:{key[1]}:{layer}"
        packed = store.get(stored)
        if packed is not None:
            body = gzip.decompress(packed)
        else:
            body = json.dumps(
                layer_collection(layer, geometry, codes_in_scope(geometry, scope)),
                separators=(",", ":"),
                ensure_ascii=False,
            ).encode()
            packed = gzip.compress(body, compresslevel=6, mtime=0)
            store.put(stored, packed, ttl=7 * 86400)  # old versions and scopes age out
        return body, packed, hashlib.sha1(body).hexdigest()[:16]

    raw, packed, etag = _bodies.get_or_build(key, build)
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    elif "gzip" in (request.headers.get("Accept-Encoding") or ""):
        response = Response(packed, mimetype="application/geo+json")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(raw, mimetype="application/geo+json")
    response.set_etag(etag)
    response.headers["Vary"] = "Accept-Encoding, Cookie"
    # The URL carries the boundary version: when it matches, the body never changes.
    current = request.args.get("v") == geometry.version
    response.headers["Cache-Control"] = "private, max-age=86400, immutable" if current else "private, no-cache"
    return response
