"""geo.display: lighter GeoJSON without gaps, overlaps or lost holes and islands."""

import gzip
import json
import re

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, shape

from geo.display import display_geojson, geojson_size, outline_geojson
from geo.tiling import make_district


@pytest.fixture(scope="module")
def district():
    return make_district(seed=4)


@pytest.fixture(scope="module")
def grids(district):
    return [g.code for g in district.grids], np.array([g.polygon for g in district.grids])


@pytest.fixture(scope="module")
def collection(grids):
    return display_geojson(*grids, tolerance_m=5.0)


def _shapes(fc):
    return np.array([shape(f["geometry"]) for f in fc["features"]])


def test_feature_collection_shape(grids, collection):
    codes, _ = grids
    assert collection["type"] == "FeatureCollection"
    assert [f["id"] for f in collection["features"]] == codes
    assert all(f["properties"] == {"code": f["id"]} for f in collection["features"])
    assert {f["geometry"]["type"] for f in collection["features"]} <= {"Polygon", "MultiPolygon"}
    json.dumps(collection)  # plain Python types only


def test_no_gaps_or_overlaps_introduced(district, grids, collection):
    _, before = grids
    after = _shapes(collection)
    assert shapely.is_valid(after).all()
    assert shapely.coverage_is_valid(after)
    outline = district.outline.area
    union = shapely.union_all(after).area
    assert abs(shapely.area(after).sum() - union) < 1e-9 * outline  # no overlaps
    assert abs(union - outline) < 1e-4 * outline  # no gaps (the outer edge is simplified too)
    tree = shapely.STRtree(after)
    a, b = tree.query(after, predicate="intersects")
    a, b = a[a < b], b[a < b]
    assert len(a) > 2 * len(after)  # neighbours really do touch
    assert shapely.area(shapely.intersection(after[a], after[b])).max() < 1e-12 * outline
    assert abs(shapely.union_all(before).area - outline) < 1e-9 * outline


def test_shapes_stay_faithful_and_lighter(grids, collection):
    _, before = grids
    after = _shapes(collection)
    assert shapely.get_num_coordinates(after).sum() < 0.8 * shapely.get_num_coordinates(before).sum()
    # Hausdorff distance in degrees; 5 m tolerance moves borders by metres, not tens of metres.
    assert shapely.hausdorff_distance(before, after).max() < 20 / 111_000


def test_coordinates_rounded(collection):
    xy = np.concatenate([shapely.get_coordinates(g) for g in _shapes(collection)])
    assert np.allclose(xy * 1e5, np.round(xy * 1e5), atol=1e-6)
    decimals = re.findall(r"\d+\.(\d+)", json.dumps(collection))
    assert decimals and max(len(d) for d in decimals) <= 5


def test_exteriors_anticlockwise(collection):
    for g in _shapes(collection):
        for p in shapely.get_parts(g):
            assert p.exterior.is_ccw
            assert all(not ring.is_ccw for ring in p.interiors)


def test_holes_and_islands_survive():
    lon0, lat0 = 115.40, 25.94
    d = 0.01
    ring = Polygon(
        [(lon0, lat0), (lon0 + 3 * d, lat0), (lon0 + 3 * d, lat0 + 3 * d), (lon0, lat0 + 3 * d)],
        [[(lon0 + d, lat0 + d), (lon0 + 2 * d, lat0 + d), (lon0 + 2 * d, lat0 + 2 * d), (lon0 + d, lat0 + 2 * d)]],
    )
    core = box(lon0 + d, lat0 + d, lon0 + 2 * d, lat0 + 2 * d)
    islands = MultiPolygon(
        [box(lon0 + 3 * d, lat0, lon0 + 4 * d, lat0 + d), box(lon0 + 5 * d, lat0, lon0 + 6 * d, lat0 + d)]
    )
    fc = display_geojson(["R", "C", "M"], [ring, core, islands], tolerance_m=20)
    geoms = {f["id"]: f["geometry"] for f in fc["features"]}
    assert geoms["R"]["type"] == "Polygon" and len(geoms["R"]["coordinates"]) == 2
    assert geoms["M"]["type"] == "MultiPolygon" and len(geoms["M"]["coordinates"]) == 2
    after = _shapes(fc)
    assert shapely.area(shapely.intersection(after[0], after[1])) == 0
    assert shape(geoms["R"]).area == pytest.approx(ring.area, rel=1e-6)


def test_missing_polygons_are_left_out():
    fc = display_geojson(["A", "B", "C"], [box(115, 25, 115.01, 25.01), None, Polygon()])
    assert [f["id"] for f in fc["features"]] == ["A"]
    with pytest.raises(ValueError, match="same length"):
        display_geojson(["A"], [])


def test_outlines_follow_the_displayed_grid_borders(district, grids, collection):
    _, polys = grids
    parents = [g.parent_code for g in district.grids]
    fc = outline_geojson(parents, polys, tolerance_m=5.0)
    assert [f["id"] for f in fc["features"]] == list(dict.fromkeys(parents))
    assert {f["geometry"]["type"] for f in fc["features"]} <= {"LineString", "MultiLineString"}
    grid_vertices = {tuple(p) for g in _shapes(collection) for p in shapely.get_coordinates(g)}
    for f in fc["features"]:
        assert {tuple(p) for p in shapely.get_coordinates(shape(f["geometry"]))} <= grid_vertices
    community = {c.code: c.polygon for c in district.communities}
    for f in fc["features"]:
        line = shape(f["geometry"])
        assert shapely.hausdorff_distance(line, community[f["id"]].boundary) < 20 / 111_000


def test_outlines_from_unit_polygons(district):
    fc = outline_geojson([s.code for s in district.streets], [s.polygon for s in district.streets])
    assert len(fc["features"]) == len(district.streets)
    for f, s in zip(fc["features"], district.streets, strict=True):
        assert shape(f["geometry"]).length == pytest.approx(s.polygon.length, rel=0.05)


def test_geojson_size(collection):
    raw, zipped = geojson_size(collection)
    text = json.dumps(collection, separators=(",", ":"), ensure_ascii=False).encode()
    assert raw == len(text)
    assert zipped == len(gzip.compress(text, compresslevel=6, mtime=0)) and zipped < raw / 2
    assert geojson_size({"name": "长征社区"})[0] == len('{"name":"长征社区"}'.encode())
