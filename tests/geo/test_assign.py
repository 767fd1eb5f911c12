"""geo.assign: exact edge rules, tolerance in metres, and agreement with independent methods."""

import math

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from geo.assign import M_PER_DEG, GridIndex, Match
from geo.tiling import make_district

LON0, LAT0 = 115.40, 25.94
STEP = 0.01  # ~1 km squares
COS0 = math.cos(math.radians(LAT0 + STEP))


def east(metres, lat=LAT0 + STEP):
    """Longitude degrees for ``metres`` eastwards at ``lat``."""
    return metres / (M_PER_DEG * math.cos(math.radians(lat)))


def north(metres):
    return metres / M_PER_DEG


@pytest.fixture(scope="module")
def squares():
    """2 x 2 squares; codes deliberately not in spatial or sorted order."""
    codes = ["B", "A", "D", "C"]
    polys = [
        box(LON0 + i * STEP, LAT0 + j * STEP, LON0 + (i + 1) * STEP, LAT0 + (j + 1) * STEP)
        for j in range(2)
        for i in range(2)
    ]
    return codes, polys


@pytest.fixture(scope="module")
def index(squares):
    return GridIndex(*squares)


def one(index, lon, lat, tolerance_m=30.0):
    """Assign one point both ways and insist they agree."""
    bulk = index.assign(np.array([lon]), np.array([lat]), tolerance_m)
    single = index.assign_one(lon, lat, tolerance_m)
    assert single.index == bulk.code_index[0]
    assert single.match == bulk.match[0]
    assert single.code == bulk.codes[0]
    if math.isnan(single.distance_m):
        assert math.isnan(bulk.distance_m[0])
    else:
        assert single.distance_m == pytest.approx(bulk.distance_m[0])
    return single


def test_inside(index):
    mid = STEP / 2
    expected = {(0, 0): "B", (1, 0): "A", (0, 1): "D", (1, 1): "C"}
    for (i, j), code in expected.items():
        r = one(index, LON0 + i * STEP + mid, LAT0 + j * STEP + mid)
        assert (r.code, r.match, r.distance_m) == (code, Match.INSIDE, 0.0)


def test_shared_edge_goes_to_smallest_code(index):
    r = one(index, LON0 + STEP, LAT0 + STEP / 2)  # between B and A
    assert (r.code, r.match) == ("A", Match.BOUNDARY)
    r = one(index, LON0 + STEP / 2, LAT0 + STEP)  # between B and D
    assert (r.code, r.match) == ("B", Match.BOUNDARY)
    r = one(index, LON0 + 1.5 * STEP, LAT0 + STEP)  # between A and C
    assert (r.code, r.match) == ("A", Match.BOUNDARY)


def test_shared_vertex_goes_to_smallest_code(index):
    r = one(index, LON0 + STEP, LAT0 + STEP)
    assert (r.code, r.match) == ("A", Match.BOUNDARY)


def test_outer_edge_is_inside(index):
    r = one(index, LON0, LAT0 + STEP / 2)
    assert (r.code, r.match) == ("B", Match.INSIDE)


def test_overlap_goes_to_smallest_area_then_smallest_code():
    big = box(0.0 + LON0, LAT0, LON0 + 0.02, LAT0 + 0.02)
    small = box(LON0 + 0.005, LAT0 + 0.005, LON0 + 0.01, LAT0 + 0.01)
    twin = box(LON0 + 0.005, LAT0 + 0.005, LON0 + 0.01, LAT0 + 0.01)
    index = GridIndex(["A", "Z", "M"], [big, small, twin])
    r = one(index, LON0 + 0.007, LAT0 + 0.007)
    assert (r.code, r.match) == ("M", Match.OVERLAP)  # Z and M same area: smaller code
    index = GridIndex(["A", "Z"], [big, small])
    r = one(index, LON0 + 0.007, LAT0 + 0.007)
    assert (r.code, r.match) == ("Z", Match.OVERLAP)
    # On the small grid's edge, inside the big one: the interior wins.
    r = one(index, LON0 + 0.005, LAT0 + 0.007)
    assert (r.code, r.match) == ("A", Match.OVERLAP)
    r = one(index, LON0 + 0.015, LAT0 + 0.015)
    assert (r.code, r.match) == ("A", Match.INSIDE)


@pytest.mark.parametrize("metres", [1.0, 20.0, 29.5])
def test_just_outside_within_tolerance_is_nearest(index, metres):
    lon_edge = LON0 + 2 * STEP
    lat = LAT0 + 1.5 * STEP
    r = one(index, lon_edge + east(metres, lat), lat)
    assert (r.code, r.match) == ("C", Match.NEAREST)
    assert r.distance_m == pytest.approx(metres, abs=0.01)
    r = one(index, LON0 + 0.5 * STEP, LAT0 - north(metres))
    assert (r.code, r.match) == ("B", Match.NEAREST)
    assert r.distance_m == pytest.approx(metres, abs=0.01)


def test_nearest_to_a_corner_is_measured_in_metres(index):
    # 20 m east and 20 m north of the north-east corner: 28.3 m, inside the tolerance ...
    lat = LAT0 + 2 * STEP + north(20)
    r = one(index, LON0 + 2 * STEP + east(20, lat), lat)
    assert (r.code, r.match) == ("C", Match.NEAREST)
    assert r.distance_m == pytest.approx(math.hypot(20, 20), abs=0.02)
    # ... 25 m + 25 m is 35.4 m: beyond it, although each axis alone is within 30 m.
    lat = LAT0 + 2 * STEP + north(25)
    assert one(index, LON0 + 2 * STEP + east(25, lat), lat).match == Match.UNASSIGNED


@pytest.mark.parametrize("metres", [31.0, 500.0, 1e6])
def test_beyond_tolerance_is_unassigned(index, metres):
    lat = LAT0 + 1.5 * STEP
    r = one(index, LON0 + 2 * STEP + east(metres, lat), lat)
    assert (r.code, r.index, r.match) == (None, -1, Match.UNASSIGNED)
    assert math.isnan(r.distance_m)


def test_tolerance_is_a_parameter(index):
    lat = LAT0 + 1.5 * STEP
    lon = LON0 + 2 * STEP + east(50, lat)
    assert one(index, lon, lat, tolerance_m=60).match == Match.NEAREST
    assert one(index, lon, lat, tolerance_m=0).match == Match.UNASSIGNED


@pytest.mark.parametrize("near_m", [5.0, 100.0])
@pytest.mark.parametrize("metres, tolerance", [(20, 30), (120, 150), (90, 100), (1500, 2000)])
def test_tolerance_beyond_the_far_cell_shortcut(squares, near_m, metres, tolerance):
    # Cells farther than near_m from every grid answer "unassigned" only while the tolerance
    # is within near_m; a larger tolerance must still find the grid.
    index = GridIndex(*squares, near_m=near_m)
    lat = LAT0 + 1.5 * STEP
    r = one(index, LON0 + 2 * STEP + east(metres, lat), lat, tolerance_m=tolerance)
    assert (r.code, r.match) == ("C", Match.NEAREST)
    assert r.distance_m == pytest.approx(metres, abs=0.05)
    r = one(index, LON0 + 2 * STEP + east(metres + 20, lat), lat, tolerance_m=metres + 10)
    assert r.match == Match.UNASSIGNED


@pytest.mark.parametrize(
    "lon, lat", [(math.nan, LAT0), (LON0, math.nan), (math.inf, LAT0), (LON0, -math.inf), (math.nan, math.nan)]
)
def test_non_finite_is_unassigned(index, lon, lat):
    r = one(index, lon, lat)
    assert (r.code, r.index, r.match) == (None, -1, Match.UNASSIGNED)


def test_hole_is_not_in_the_grid_and_an_island_in_it_is():
    outer = [(LON0, LAT0), (LON0 + 0.02, LAT0), (LON0 + 0.02, LAT0 + 0.02), (LON0, LAT0 + 0.02)]
    hole = [
        (LON0 + 0.005, LAT0 + 0.005),
        (LON0 + 0.015, LAT0 + 0.005),
        (LON0 + 0.015, LAT0 + 0.015),
        (LON0 + 0.005, LAT0 + 0.015),
    ]
    ring = Polygon(outer, [hole])
    island = box(LON0 + 0.008, LAT0 + 0.008, LON0 + 0.012, LAT0 + 0.012)
    index = GridIndex(["R", "I"], [ring, island])
    assert one(index, LON0 + 0.002, LAT0 + 0.01).code == "R"
    assert one(index, LON0 + 0.01, LAT0 + 0.01)[::2] == ("I", Match.INSIDE)
    # In the hole, >30 m from both: nobody's.
    assert one(index, LON0 + 0.0065, LAT0 + 0.01).match == Match.UNASSIGNED
    # In the hole, 10 m from the ring's inner edge: near, not inside.
    r = one(index, LON0 + 0.005 + east(10, LAT0 + 0.01), LAT0 + 0.01)
    assert (r.code, r.match) == ("R", Match.NEAREST)
    assert r.distance_m == pytest.approx(10, abs=0.01)
    # Without the island the hole's centre is still not the ring's.
    assert one(GridIndex(["R"], [ring]), LON0 + 0.01, LAT0 + 0.01).match == Match.UNASSIGNED


def test_multipolygon_islands():
    islands = MultiPolygon(
        [box(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01), box(LON0 + 0.03, LAT0, LON0 + 0.04, LAT0 + 0.01)]
    )
    index = GridIndex(["X", "Y"], [islands, box(LON0 + 0.01, LAT0, LON0 + 0.03, LAT0 + 0.01)])
    assert one(index, LON0 + 0.005, LAT0 + 0.005)[::2] == ("X", Match.INSIDE)
    assert one(index, LON0 + 0.035, LAT0 + 0.005)[::2] == ("X", Match.INSIDE)
    assert one(index, LON0 + 0.02, LAT0 + 0.005)[::2] == ("Y", Match.INSIDE)


def test_result_helpers(index):
    r = index.assign([LON0 + 0.005, 0.0, math.nan], [LAT0 + 0.005, 0.0, 1.0])
    assert r.codes.tolist() == ["B", None, None]
    assert r.match_names().tolist() == ["INSIDE", "UNASSIGNED", "UNASSIGNED"]
    assert r.counts() == {"UNASSIGNED": 2, "INSIDE": 1, "BOUNDARY": 0, "OVERLAP": 0, "NEAREST": 0}
    assert r.match.dtype == np.int8 and r.code_index.dtype == np.int64
    empty = index.assign(np.array([]), np.array([]))
    assert len(empty.code_index) == 0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unique"):
        GridIndex(["A", "A"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
    with pytest.raises(ValueError, match="Polygon"):
        GridIndex(["A"], [shapely.LineString([(0, 0), (1, 1)])])
    with pytest.raises(ValueError, match="same length"):
        GridIndex(["A", "B"], [box(0, 0, 1, 1)])
    index = GridIndex(["A", "B"], [box(0, 0, 1, 1), None])  # a missing polygon never matches
    assert index.assign_one(0.5, 0.5).code == "A"


# --- against independent implementations --------------------------------------------------


@pytest.fixture(scope="module")
def district():
    d = make_district(seed=11)
    return [g.code for g in d.grids], np.array([g.polygon for g in d.grids]), d.outline


TO_METRES = pyproj.Transformer.from_crs(4326, 4547, always_xy=True)  # CGCS2000 GK CM 114E


def to_metres(geoms):
    return shapely.transform(geoms, lambda xy: np.column_stack(TO_METRES.transform(*xy.T)))


def reference(codes, polys, local_polys, lon, lat, tolerance_m=30.0):
    """Brute force, one polygon at a time, with pyproj metres: slow but independent."""
    point = shapely.Point(lon, lat)
    hits = [i for i, p in enumerate(polys) if p.intersects(point)]
    if len(hits) == 1:
        return codes[hits[0]], Match.INSIDE
    if hits:
        proper = [i for i in hits if p_contains_properly(polys[i], point)]
        if not proper:
            return min(codes[i] for i in hits), Match.BOUNDARY
        return min((polys[i].area, codes[i]) for i in proper)[1], Match.OVERLAP
    dist = shapely.distance(local_polys, to_metres(point))
    best = min(range(len(polys)), key=lambda i: (dist[i], codes[i]))
    if dist[best] <= tolerance_m:
        return codes[best], Match.NEAREST
    return None, Match.UNASSIGNED


def p_contains_properly(poly, point):
    return poly.relate_pattern(point, "T********")


def test_random_points_agree_with_brute_force(district):
    codes, polys, outline = district
    index = GridIndex(codes, polys)
    rng = np.random.default_rng(0)
    xmin, ymin, xmax, ymax = outline.bounds
    lon = rng.uniform(xmin - 0.002, xmax + 0.002, 300)
    lat = rng.uniform(ymin - 0.002, ymax + 0.002, 300)
    # Points exactly on shared vertices and within a hair of edges stress the lookup table.
    vertices = shapely.get_coordinates(polys[:20])
    lon = np.concatenate([lon, vertices[::7, 0], vertices[::5, 0] + 1e-12])
    lat = np.concatenate([lat, vertices[::7, 1], vertices[::5, 1] - 1e-12])
    # Points just outside the outline, some within the tolerance.
    ring = shapely.get_coordinates(outline.exterior)[::9]
    centre = np.array(outline.centroid.coords[0])
    push = ring + (ring - centre) * rng.uniform(0.0, 0.003, (len(ring), 1))
    lon, lat = np.concatenate([lon, push[:, 0]]), np.concatenate([lat, push[:, 1]])
    got = index.assign(lon, lat)
    local_polys = to_metres(polys)
    kinds = set()
    for i in range(len(lon)):
        want = reference(codes, polys, local_polys, lon[i], lat[i])
        assert (got.codes[i], Match(got.match[i])) == want, (lon[i], lat[i])
        kinds.add(want[1])
    assert {Match.INSIDE, Match.BOUNDARY, Match.NEAREST, Match.UNASSIGNED} <= kinds


def test_nearest_distance_agrees_with_pyproj(district):
    codes, polys, outline = district
    index = GridIndex(codes, polys)
    ring = shapely.get_coordinates(outline.exterior)[::5]
    centre = np.array(outline.centroid.coords[0])
    push = ring + (ring - centre) * 0.0005
    got = index.assign(push[:, 0], push[:, 1], tolerance_m=200)
    assert (got.match == Match.NEAREST).all()
    for (x, y), i, d in zip(push, got.code_index, got.distance_m, strict=True):
        local = to_metres(np.array([polys[i], shapely.Point(x, y)]))
        assert d == pytest.approx(local[0].distance(local[1]), abs=0.05)


def test_bulk_interior_points_agree_with_contains_xy_and_sjoin(district):
    codes, polys, outline = district
    index = GridIndex(codes, polys)
    rng = np.random.default_rng(1)
    xmin, ymin, xmax, ymax = outline.bounds
    lon, lat = rng.uniform(xmin, xmax, 50_000), rng.uniform(ymin, ymax, 50_000)
    got = index.assign(lon, lat, chunk_size=7_000)

    inside = np.stack([shapely.contains_xy(p, lon, lat) for p in polys])
    count = inside.sum(axis=0)
    interior = count == 1
    assert (got.code_index[interior] == inside[:, interior].argmax(axis=0)).all()
    assert (got.match[interior] == Match.INSIDE).all()
    assert (got.match[count == 0] != Match.INSIDE).all()

    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    grids = gpd.GeoDataFrame({"code": codes}, geometry=polys, crs=4326)
    joined = gpd.sjoin(points, grids, predicate="within")
    assert joined.index.is_unique
    assert (got.codes[joined.index.to_numpy()] == joined["code"].to_numpy()).all()
    assert len(joined) == interior.sum()


def test_answers_do_not_depend_on_table_resolution_or_input_order(district):
    codes, polys, outline = district
    rng = np.random.default_rng(2)
    xmin, ymin, xmax, ymax = outline.bounds
    lon, lat = rng.uniform(xmin, xmax, 5000), rng.uniform(ymin, ymax, 5000)
    vertices = shapely.get_coordinates(polys)[::3]
    lon, lat = np.concatenate([lon, vertices[:, 0]]), np.concatenate([lat, vertices[:, 1]])
    base = GridIndex(codes, polys).assign(lon, lat).codes
    coarse = GridIndex(codes, polys, cells_per_grid=1, max_cells=100).assign(lon, lat).codes
    order = rng.permutation(len(codes))
    shuffled = GridIndex(np.array(codes)[order], polys[order]).assign(lon, lat).codes
    assert (base == coarse).all() and (base == shuffled).all()


def test_junk_coordinates_far_away_are_cheap_and_unassigned(index):
    # Latitudes near the poles would blow the degree search radius up; they must simply miss.
    lon = np.array([LON0 + 0.005, 0.0, 179.9, -120.0, LON0 + 0.005])
    lat = np.array([LAT0 + 0.005, 89.9999, -89.99, 90.0, 89.9999])
    got = index.assign(lon, lat)
    assert got.codes.tolist() == ["B", None, None, None, None]


def test_overlapping_holed_random_grids_agree_with_brute_force():
    # Not a tiling: random discs and rings that overlap each other, plus an island pair.
    rng = np.random.default_rng(5)
    centres = rng.uniform([LON0, LAT0], [LON0 + 0.05, LAT0 + 0.04], (25, 2))
    radii = rng.uniform(0.002, 0.012, 25)
    polys = [shapely.Point(c).buffer(r, 16) for c, r in zip(centres, radii, strict=True)]
    for i in range(0, 25, 4):  # some rings with holes
        polys[i] = polys[i].difference(shapely.Point(centres[i]).buffer(radii[i] / 2, 8))
    polys[1] = MultiPolygon([polys[1], box(LON0 + 0.06, LAT0, LON0 + 0.065, LAT0 + 0.005)])
    polys = np.array(polys, dtype=object)
    codes = [f"G{i:02d}" for i in rng.permutation(25)]
    index = GridIndex(codes, polys, cells_per_grid=50)
    lon = rng.uniform(LON0 - 0.01, LON0 + 0.07, 400)
    lat = rng.uniform(LAT0 - 0.01, LAT0 + 0.05, 400)
    vertices = shapely.get_coordinates(polys)[::11]
    lon, lat = np.concatenate([lon, vertices[:, 0]]), np.concatenate([lat, vertices[:, 1]])
    got = index.assign(lon, lat)
    local = to_metres(polys)
    kinds = set()
    for i in range(len(lon)):
        want = reference(codes, polys, local, lon[i], lat[i])
        assert (got.codes[i], Match(got.match[i])) == want, (lon[i], lat[i])
        kinds.add(want[1])
    assert {Match.INSIDE, Match.OVERLAP, Match.NEAREST, Match.UNASSIGNED} <= kinds
