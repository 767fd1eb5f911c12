"""geo.readers against real files written with geopandas in temporary directories."""

import json
import os
import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from geo.coords import from_wgs84
from geo.readers import GridFileError, metric_crs, read_grid_file
from geo.tiling import make_district


@pytest.fixture(scope="module")
def district():
    return make_district(seed=8, n_streets=2, n_communities=4, n_grids=24)


@pytest.fixture
def frame(district):
    return gpd.GeoDataFrame(
        {
            "grid_code": [g.code for g in district.grids],
            "grid_name": [g.name for g in district.grids],
            "sqbm": [g.parent_code for g in district.grids],
        },
        geometry=[g.polygon for g in district.grids],
        crs=4326,
    )


def assert_same_grids(result, frame, tol=1e-8):
    assert result.codes == [str(c) for c in frame["grid_code"]]
    got = np.asarray(result.polygons)
    want = frame.to_crs(4326).geometry.to_numpy()
    assert shapely.hausdorff_distance(got, want).max() < tol


def test_geojson_round_trip(tmp_path, frame):
    path = tmp_path / "grids.geojson"
    frame.to_file(path, driver="GeoJSON")
    result = read_grid_file(path)
    assert_same_grids(result, frame)
    assert result.names == frame["grid_name"].tolist()
    assert result.parent_codes == frame["sqbm"].tolist()
    report = result.report
    assert (report.code_field, report.name_field, report.parent_field) == ("grid_code", "grid_name", "sqbm")
    assert report.ok and not report.overlaps and not report.gaps and not report.repaired
    assert report.metric_crs.startswith("EPSG:4547")  # Yudu, 115.4E: CM 114E zone
    text = str(report)
    assert "Grids: 24" in text and "Overlaps between grids: 0" in text


def test_datav_nested_properties(tmp_path):
    features = []
    for i, (code, name) in enumerate([(360731001, "贡江镇"), (360731002, "城东街道")]):
        square = box(115.40 + 0.01 * i, 25.94, 115.41 + 0.01 * i, 25.95)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "adcode": code,
                    "name": name,
                    "center": [115.405, 25.945],
                    "centroid": [115.405, 25.945],
                    "childrenNum": 0,
                    "level": "street",
                    "parent": {"adcode": 360731},
                    "subFeatureIndex": i,
                    "acroutes": [100000, 360000, 360700, 360731],
                },
                "geometry": json.loads(shapely.to_geojson(square)),
            }
        )
    path = tmp_path / "360731_full.json"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8"
    )
    result = read_grid_file(path)
    assert result.codes == ["360731001", "360731002"]
    assert result.names == ["贡江镇", "城东街道"]
    assert result.parent_codes == ["360731", "360731"]
    assert result.report.parent_field == "parent.adcode"


def test_projected_shapefile_comes_back_to_lonlat(tmp_path, frame):
    for epsg in (4547, 32650):
        path = tmp_path / f"grids_{epsg}.shp"
        frame.to_crs(epsg).to_file(path)
        result = read_grid_file(path)
        assert_same_grids(result, frame)
        assert f"EPSG:{epsg}" in result.report.source_crs
        lon, lat = np.asarray(result.polygons)[0].representative_point().coords[0]
        assert 115 < lon < 116 and 25 < lat < 27


def test_integer_codes_from_shapefile_stay_exact(tmp_path, frame):
    numeric = frame.assign(grid_code=frame["grid_code"].astype("int64"))
    numeric.to_file(tmp_path / "n.shp")
    assert read_grid_file(tmp_path / "n.shp").codes == frame["grid_code"].tolist()
    as_float = frame.assign(grid_code=frame["grid_code"].astype("float64"))
    as_float.to_file(tmp_path / "f.shp")
    assert read_grid_file(tmp_path / "f.shp").codes == frame["grid_code"].tolist()


def test_zipped_shapefile_in_a_folder(tmp_path, frame):
    folder = tmp_path / "export"
    folder.mkdir()
    frame.to_crs(4547).to_file(folder / "网格.shp", encoding="utf-8")
    archive = tmp_path / "grids.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in os.listdir(folder):
            z.write(folder / name, f"export/{name}")
    result = read_grid_file(archive)
    assert_same_grids(result, frame)
    assert result.names == frame["grid_name"].tolist()


def test_zip_with_several_files_needs_a_layer(tmp_path, frame):
    frame.to_file(tmp_path / "a.shp")
    frame.iloc[:3].to_file(tmp_path / "b.shp")
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in os.listdir(tmp_path):
            if name[0] in "ab":
                z.write(tmp_path / name, name)
    with pytest.raises(GridFileError, match="several files"):
        read_grid_file(archive)
    assert len(read_grid_file(archive, layer="b").codes) == 3


def test_geopackage_and_layers(tmp_path, frame):
    path = tmp_path / "grids.gpkg"
    frame.to_crs(4547).to_file(path, layer="grids")
    assert_same_grids(read_grid_file(path), frame)
    frame.iloc[:2].to_file(path, layer="old_grids")
    with pytest.raises(GridFileError, match="several layers"):
        read_grid_file(path)
    assert len(read_grid_file(path, layer="old_grids").codes) == 2


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_no_crs_projected_is_refused(tmp_path, frame):
    path = tmp_path / "nocrs.shp"
    frame.to_crs(4547).set_crs(None, allow_override=True).to_file(path)
    assert not (tmp_path / "nocrs.prj").exists()
    with pytest.raises(GridFileError, match=r"no CRS .* not longitude/latitude") as err:
        read_grid_file(path)
    assert "EPSG:4547" in str(err.value)  # tells the user what to do


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_no_crs_lonlat_is_taken_as_wgs84(tmp_path, frame):
    path = tmp_path / "nocrs_lonlat.shp"
    frame.set_crs(None, allow_override=True).to_file(path)
    result = read_grid_file(path)
    assert_same_grids(result, frame)
    assert result.report.crs_assumed_wgs84
    assert "taken as WGS84" in str(result.report)


def test_gcj02_file_converted_to_wgs84(tmp_path, frame):
    gcj = frame.copy()
    gcj.geometry = shapely.transform(
        frame.geometry.array, lambda xy: np.column_stack(from_wgs84(xy[:, 0], xy[:, 1], "gcj02"))
    )
    gcj.to_file(tmp_path / "gcj.geojson")
    raw = read_grid_file(tmp_path / "gcj.geojson")
    assert shapely.hausdorff_distance(np.asarray(raw.polygons), frame.geometry.to_numpy()).min() > 3e-3
    fixed = read_grid_file(tmp_path / "gcj.geojson", coords="GCJ-02")
    assert_same_grids(fixed, frame, tol=1e-7)  # ~1 cm
    assert fixed.report.ok and not fixed.report.overlaps  # shared vertices still shared
    assert "from GCJ02" in str(fixed.report)


def test_bowtie_repaired(tmp_path):
    bowtie = Polygon([(115.40, 25.94), (115.41, 25.95), (115.41, 25.94), (115.40, 25.95)])
    frame = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[bowtie, box(115.42, 25.94, 115.43, 25.95)], crs=4326)
    frame.to_file(tmp_path / "bowtie.geojson")
    result = read_grid_file(tmp_path / "bowtie.geojson")
    assert [c for c, _ in result.report.repaired] == ["A"]
    assert "Self-intersection" in result.report.repaired[0][1]
    fixed = result.polygons[0]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon"
    assert fixed.area == pytest.approx(0.5 * 0.01 * 0.01)
    assert "Repaired invalid geometries (make_valid): 1" in str(result.report)


def test_duplicate_codes_refused(tmp_path, frame):
    frame.loc[3, "grid_code"] = frame.loc[2, "grid_code"]
    frame.to_file(tmp_path / "dup.geojson")
    with pytest.raises(GridFileError, match="duplicate grid codes") as err:
        read_grid_file(tmp_path / "dup.geojson")
    assert frame.loc[2, "grid_code"] in str(err.value)
    assert err.value.report.duplicates == [frame.loc[2, "grid_code"]]


def test_missing_code_refused(tmp_path, frame):
    frame.loc[5, "grid_code"] = None
    frame.to_file(tmp_path / "nocode.geojson")
    with pytest.raises(GridFileError, match="1 features have no 'grid_code'"):
        read_grid_file(tmp_path / "nocode.geojson")


def test_unknown_code_field(tmp_path, frame):
    frame.rename(columns={"grid_code": "foo"}).to_file(tmp_path / "f.geojson")
    with pytest.raises(GridFileError, match="Available fields: foo, grid_name, sqbm"):
        read_grid_file(tmp_path / "f.geojson")
    with pytest.raises(GridFileError, match="no field 'bar'"):
        read_grid_file(tmp_path / "f.geojson", code_field="bar")
    assert read_grid_file(tmp_path / "f.geojson", code_field="FOO").report.code_field == "foo"


def _squares_in_metres(tmp_path, squares, name):
    frame = gpd.GeoDataFrame({"wgbm": [s[0] for s in squares]}, geometry=[box(*s[1:]) for s in squares], crs=4547)
    path = tmp_path / f"{name}.gpkg"
    frame.to_file(path)
    return path


X0, Y0 = 641_000.0, 2_871_000.0  # EPSG:4547 metres near Yudu


def test_overlap_reported_in_square_metres(tmp_path):
    path = _squares_in_metres(
        tmp_path,
        [
            ("A", X0, Y0, X0 + 100, Y0 + 100),
            ("B", X0 + 90, Y0, X0 + 190, Y0 + 100),
            ("C", X0 + 190, Y0, X0 + 290, Y0 + 100),
        ],
        "overlap",
    )
    report = read_grid_file(path).report
    assert [(o.code_a, o.code_b) for o in report.overlaps] == [("A", "B")]
    assert report.overlaps[0].area_m2 == pytest.approx(1000, rel=0.01)
    assert "A x B: 1,000" in str(report)


def test_gap_reported_in_square_metres(tmp_path):
    # Four grids around a 20 m x 20 m hole in the middle of a 200 m square.
    path = _squares_in_metres(
        tmp_path,
        [
            ("N", X0, Y0 + 110, X0 + 200, Y0 + 200),
            ("S", X0, Y0, X0 + 200, Y0 + 90),
            ("W", X0, Y0 + 90, X0 + 90, Y0 + 110),
            ("E", X0 + 110, Y0 + 90, X0 + 200, Y0 + 110),
        ],
        "gap",
    )
    report = read_grid_file(path).report
    assert not report.overlaps
    assert len(report.gaps) == 1 and report.gaps[0].area_m2 == pytest.approx(400, rel=0.01)
    assert 115 < report.gaps[0].lon < 116 and 25 < report.gaps[0].lat < 27
    assert "Gaps" in str(report) and "400" in str(report)
    big = read_grid_file(path, gap_max_m2=100).report
    assert not big.gaps and len(big.uncovered) == 1


def test_holes_and_multipolygons_kept(tmp_path):
    ring = box(115.40, 25.94, 115.43, 25.97).difference(box(115.41, 25.95, 115.42, 25.96))
    islands = box(115.41, 25.95, 115.42, 25.96).union(box(115.44, 25.94, 115.45, 25.95))
    frame = gpd.GeoDataFrame({"code": ["R", "M"]}, geometry=[ring, islands], crs=4326)
    frame.to_file(tmp_path / "holes.gpkg")
    result = read_grid_file(tmp_path / "holes.gpkg")
    assert len(result.polygons[0].interiors) == 1
    assert result.polygons[1].geom_type == "MultiPolygon"
    assert (result.report.with_holes, result.report.multipart) == (1, 1)
    assert not result.report.overlaps and not result.report.gaps


def test_unreadable_inputs(tmp_path):
    with pytest.raises(GridFileError, match="file not found"):
        read_grid_file(tmp_path / "missing.shp")
    (tmp_path / "junk.geojson").write_text("not json")
    with pytest.raises(GridFileError, match="cannot read"):
        read_grid_file(tmp_path / "junk.geojson")
    with pytest.raises(ValueError, match="unknown coordinate system"):
        read_grid_file(tmp_path / "junk.geojson", coords="utm")


def test_to_geodataframe(tmp_path, frame):
    frame.to_file(tmp_path / "g.geojson")
    out = read_grid_file(tmp_path / "g.geojson").to_geodataframe()
    assert list(out.columns) == ["code", "name", "parent_code", "geometry"]
    assert out.crs.to_epsg() == 4326


@pytest.mark.parametrize("lon, epsg", [(115.41, 4547), (116.9, 4548), (75.2, 4534), (134.0, 4554)])
def test_metric_crs_zones(lon, epsg):
    assert metric_crs(lon, 30.0).to_epsg() == epsg


def test_metric_crs_outside_china_is_equal_area():
    crs = metric_crs(2.35, 48.85)
    assert crs.coordinate_operation.method_name == "Lambert Azimuthal Equal Area"
