"""geo.tiling: the demo district tiles exactly and its hierarchy is consistent."""

import itertools

import numpy as np
import pytest
import shapely

from geo.tiling import DISTRICT_CODE, make_district


@pytest.fixture(scope="module")
def district():
    return make_district(seed=3)


def _polys(regions):
    return np.array([r.polygon for r in regions], dtype=object)


def _overlap_areas(polys):
    tree = shapely.STRtree(polys)
    a, b = tree.query(polys, predicate="intersects")
    keep = a < b
    return shapely.area(shapely.intersection(polys[a[keep]], polys[b[keep]]))


def test_requested_counts(district):
    assert (len(district.streets), len(district.communities), len(district.grids)) == (6, 24, 150)


@pytest.mark.parametrize("level", ["grids", "communities", "streets"])
def test_each_level_tiles_the_outline_exactly(district, level):
    polys = _polys(getattr(district, level))
    assert shapely.is_valid(polys).all()
    assert set(shapely.get_type_id(polys)) <= {3, 6}  # Polygon / MultiPolygon
    outline_area = district.outline.area
    assert abs(shapely.area(polys).sum() - outline_area) <= 1e-9 * outline_area
    assert abs(shapely.union_all(polys).area - outline_area) <= 1e-9 * outline_area
    assert (_overlap_areas(polys) <= 1e-12 * outline_area).all()
    assert shapely.coverage_is_valid(polys)


def test_codes_and_parents(district):
    street_codes = {s.code for s in district.streets}
    community_codes = {c.code for c in district.communities}
    grid_codes = [g.code for g in district.grids]
    assert len(set(grid_codes)) == len(grid_codes)
    assert all(len(c) == 15 and c.isdigit() and c.startswith(DISTRICT_CODE) for c in grid_codes)
    assert all(len(c) == 12 for c in community_codes) and all(len(c) == 9 for c in street_codes)
    assert all(g.parent_code == g.code[:12] and g.parent_code in community_codes for g in district.grids)
    assert all(c.parent_code == c.code[:9] and c.parent_code in street_codes for c in district.communities)
    assert all(s.parent_code == DISTRICT_CODE for s in district.streets)


def test_names_are_chinese_and_tell_the_hierarchy(district):
    community_name = {c.code: c.name for c in district.communities}
    assert all(c.name.endswith("社区") for c in district.communities)
    assert all(s.name.endswith(("街道", "镇", "乡")) for s in district.streets)
    for g in district.grids:
        assert g.name.startswith(community_name[g.parent_code]) and g.name.endswith("网格")
    assert district.grids[0].name.endswith("第01网格")
    assert len({c.name for c in district.communities}) == len(district.communities)


@pytest.mark.parametrize("child_level, parent_level", [("grids", "communities"), ("communities", "streets")])
def test_every_child_inside_exactly_its_parent(district, child_level, parent_level):
    parents = getattr(district, parent_level)
    parent_polys = _polys(parents)
    for child in getattr(district, child_level):
        inside = shapely.area(shapely.intersection(parent_polys, child.polygon)) > 1e-6 * child.polygon.area
        assert [p.code for p, hit in zip(parents, inside, strict=True) if hit] == [child.parent_code]


@pytest.mark.parametrize("level", ["communities", "streets"])
def test_units_are_contiguous_and_non_empty(district, level):
    for unit in getattr(district, level):
        assert unit.polygon.geom_type == "Polygon" and not unit.polygon.is_empty


def test_grids_look_surveyed_not_straight(district):
    vertices = shapely.get_num_coordinates(_polys(district.grids))
    assert 30 < vertices.mean() < 80


def test_located_at_yudu(district):
    lon, lat = district.outline.centroid.coords[0]
    assert abs(lon - 115.41) < 0.03 and abs(lat - 25.95) < 0.03
    xmin, ymin, xmax, ymax = district.outline.bounds
    width_km = (xmax - xmin) * 111.32 * np.cos(np.radians(lat))
    height_km = (ymax - ymin) * 110.57
    assert 6 < width_km < 11 and 4.5 < height_km < 8.5


def test_deterministic_with_seed():
    a, b, c = make_district(seed=5), make_district(seed=5), make_district(seed=6)
    for x, y in itertools.zip_longest(a.grids, b.grids):
        assert x.code == y.code and x.name == y.name and x.polygon.equals_exact(y.polygon, 0)
    assert not a.outline.equals(c.outline)


def test_other_counts_and_straight_edges():
    d = make_district(seed=1, n_streets=2, n_communities=5, n_grids=40, edge_vertices=0)
    assert (len(d.streets), len(d.communities), len(d.grids)) == (2, 5, 40)
    assert shapely.coverage_is_valid(_polys(d.grids))
    assert {g.parent_code for g in d.grids} == {c.code for c in d.communities}


def test_default_size_grows_with_the_grid_count():
    small = make_district(seed=2, n_streets=2, n_communities=4, n_grids=100).outline.bounds
    large = make_district(seed=2, n_streets=3, n_communities=10, n_grids=600).outline.bounds
    ratio = (large[2] - large[0]) / (small[2] - small[0])
    assert 1.6 < ratio < 2.5  # sqrt(600 / 150) = 2, give or take the random blob


def test_rejects_impossible_counts():
    with pytest.raises(ValueError):
        make_district(n_streets=5, n_communities=3, n_grids=10)
