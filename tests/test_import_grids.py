"""`python app.py import-grids` with real files in temporary folders, on every backend: each file
format and CRS, GCJ-02 drawings, repairs and refusals, idempotent re-imports, derived parents, and
a redrawn grid re-routing its open tickets (events with previous_grid_id) while closed ones stay."""

import json
import os
import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box
from sqlalchemy import func, select

import data.locate
from data import aggregates, workflow
from data.access import Viewer
from data.models import Boundary, GridStat, Region, Ticket, TicketEvent
from data.regions import current_boundary
from geo.coords import from_wgs84
from geo.tiling import make_district
from tests.helpers import DESK, T0, assignee_viewer, new_ticket


@pytest.fixture(autouse=True)
def fresh_locator():
    # data.locate caches the locator by (url, boundary count, max id, max valid_to); the test
    # database is emptied between tests and ids restart, so a different map could hit the cache.
    data.locate._cache.clear()


@pytest.fixture(scope="module")
def shape():
    return make_district(seed=8, n_streets=2, n_communities=4, n_grids=24)


@pytest.fixture
def frame(shape):
    return gpd.GeoDataFrame(
        {
            "wgbm": [g.code for g in shape.grids],
            "wgmc": [g.name for g in shape.grids],
            "sqbm": [g.parent_code for g in shape.grids],
        },
        geometry=[g.polygon for g in shape.grids],
        crs=4326,
    )


def counts(db):
    with db.reader() as s:
        levels = dict(s.execute(select(Region.level, func.count()).group_by(Region.level)).all())
        return levels, s.scalar(select(func.count(Boundary.id))), s.scalar(select(func.count(TicketEvent.id)))


def stored(db, code):
    """(region, its current polygon); the region detached with its columns loaded."""
    with db.reader() as s:
        region = s.scalars(select(Region).where(Region.code == code)).one()
        polygon = shapely.from_geojson(current_boundary(s, region.id).geometry)
        s.expunge(region)
    return region, polygon


def assert_stored_like(db, frame, tol=1e-7):
    for code, polygon in zip(frame["wgbm"], frame.geometry, strict=True):
        _, got = stored(db, code)
        assert shapely.hausdorff_distance(got, polygon) < tol, code


def test_geojson_import_derives_communities_and_reimport_is_a_no_op(cli, db, frame, shape, tmp_path):
    path = tmp_path / "grids.geojson"
    frame.to_file(path, driver="GeoJSON")
    code, out, err = cli("import-grids", path, "--parent-field", "sqbm")
    assert code == 0, err
    assert "Grids: 24 created, 0 changed" in out and "Overlaps between grids: 0" in out
    assert "Parent boundaries derived by dissolving their children: 4 created" in out
    levels, boundaries, _ = counts(db)
    assert levels == {"grid": 24, "community": 4} and boundaries == 28
    assert_stored_like(db, frame)
    region, _ = stored(db, frame["wgbm"][0])
    assert region.name == frame["wgmc"][0]
    # Each community's derived boundary is exactly the union of its grids (the generator's own).
    for community in shape.communities:
        parent, polygon = stored(db, community.code)
        assert parent.level == "community" and parent.name == community.code
        assert shapely.hausdorff_distance(polygon, community.polygon) < 1e-7
        assert polygon.geom_type == "Polygon" and len(polygon.interiors) == 0
        with db.reader() as s:
            assert current_boundary(s, parent.id).source.startswith("derived")

    code, out, _ = cli("import-grids", path, "--parent-field", "sqbm")
    assert code == 0 and "Grids: 0 created, 0 changed (new boundary version), 24 unchanged" in out
    assert "derived" not in out and "Open tickets re-routed: 0 (no grid boundary changed)" in out
    assert counts(db)[:2] == (levels, boundaries)


def test_datav_nested_properties_as_streets_under_a_district(cli, db, tmp_path):
    features = []
    for i, (code, name) in enumerate([(360731001, "贡江镇"), (360731002, "城东街道")]):
        square = box(115.40 + 0.01 * i, 25.94, 115.41 + 0.01 * i, 25.95)
        props = {
            "adcode": code,
            "name": name,
            "center": [115.405, 25.945],
            "level": "street",
            "parent": {"adcode": 360731},
            "acroutes": [100000, 360000, 360700, 360731],
        }
        features.append({"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(square))})
    path = tmp_path / "360731_full.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    code, out, err = cli("import-grids", path, "--level", "street", "--code-field", "adcode")
    assert code == 0, err
    assert "parent=parent.adcode" in out and "Streets: 2 created" in out
    with db.reader() as s:
        district = s.scalars(select(Region).where(Region.code == "360731")).one()
        streets = s.scalars(select(Region).where(Region.level == "street").order_by(Region.code)).all()
        assert district.level == "district"
        assert [(r.code, r.name, r.parent_id) for r in streets] == [
            ("360731001", "贡江镇", district.id),
            ("360731002", "城东街道", district.id),
        ]
        outline = shapely.from_geojson(current_boundary(s, district.id).geometry)
    assert outline.geom_type == "Polygon"  # 115.40 + 0.01 is not exactly 115.41: dissolved anyway
    assert shapely.hausdorff_distance(outline, box(115.40, 25.94, 115.42, 25.95)) < 1e-7
    assert "Open tickets re-routed" not in out  # streets route no tickets


def test_projected_shapefile_and_zipped_shapefile(cli, db, frame, tmp_path):
    frame.to_crs(4547).to_file(tmp_path / "grids_4547.shp", encoding="utf-8")
    code, out, err = cli("import-grids", tmp_path / "grids_4547.shp", "--parent-field", "sqbm")
    assert code == 0, err
    assert "CRS: EPSG:4547" in out and "Grids: 24 created" in out
    assert_stored_like(db, frame, tol=1e-7)

    folder = tmp_path / "export"
    folder.mkdir()
    moved = frame.copy()
    moved.loc[0, "geometry"] = shapely.affinity.translate(frame.geometry[0], 0.0001, 0)  # ~10 m east
    moved.to_crs(4547).to_file(folder / "网格.shp", encoding="utf-8")
    archive = tmp_path / "grids.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in os.listdir(folder):
            z.write(folder / name, f"export/{name}")
    code, out, err = cli("import-grids", archive, "--parent-field", "sqbm")
    assert code == 0, err
    assert "Grids: 0 created, 1 changed (new boundary version), 23 unchanged" in out
    assert f"changed: {frame['wgbm'][0]}" in out
    assert "Overlaps between grids: " in out and "Overlaps between grids: 0" not in out  # now overlapping
    assert_stored_like(db, moved, tol=1e-7)
    with db.reader() as s:
        region = s.scalars(select(Region).where(Region.code == frame["wgbm"][0])).one()
        versions = s.scalars(select(Boundary).where(Boundary.region_id == region.id).order_by(Boundary.version)).all()
        assert [(b.version, b.valid_to is None) for b in versions] == [(1, False), (2, True)]
        assert versions[0].valid_to == versions[1].valid_from


def test_geopackage_with_two_layers(cli, db, frame, shape, tmp_path):
    path = tmp_path / "district.gpkg"
    frame.to_file(path, layer="grids", driver="GPKG")
    communities = gpd.GeoDataFrame(
        {
            "code": [c.code for c in shape.communities],
            "name": [f"社区{i}" for i in range(len(shape.communities))],
            "street": [c.parent_code for c in shape.communities],
        },
        geometry=[c.polygon for c in shape.communities],
        crs=4326,
    )
    communities.to_file(path, layer="communities", driver="GPKG")
    code, out, err = cli(
        "import-grids", path, "--layer", "communities", "--level", "community", "--parent-field", "street"
    )
    assert code == 0, err
    assert "Communities: 4 created" in out and "New streets" in out
    assert "Parent boundaries derived by dissolving their children: 2 created" in out  # the two streets
    code, out, err = cli("import-grids", path, "--layer", "grids", "--parent-field", "sqbm")
    assert code == 0, err
    assert "Grids: 24 created" in out
    # The communities came with their own polygons: the grids do not replace them.
    assert "derived" not in out
    for community in shape.communities:
        region, _polygon = stored(db, community.code)
        assert region.name.startswith("社区")
        with db.reader() as s:
            assert current_boundary(s, region.id).source == "import:district.gpkg"
    levels, _, _ = counts(db)
    assert levels == {"grid": 24, "community": 4, "street": 2}


def test_gcj02_drawing_is_converted_on_import(cli, db, frame, tmp_path):
    shifted = frame.set_geometry(
        shapely.transform(frame.geometry.array, lambda xy: np.column_stack(from_wgs84(xy[:, 0], xy[:, 1], "gcj02")))
    )
    path = tmp_path / "amap.geojson"
    shifted.to_file(path, driver="GeoJSON")
    code, out, err = cli("import-grids", path, "--coords", "gcj02")
    assert code == 0, err
    assert "converted vertex by vertex from GCJ02 to WGS84" in out
    assert_stored_like(db, frame, tol=1e-6)  # ~0.1 m; the GCJ-02 offset is hundreds of metres
    _, got = stored(db, frame["wgbm"][0])
    assert shapely.hausdorff_distance(got, shifted.geometry[0]) > 1e-3


def test_invalid_ring_is_repaired_and_reported(cli, db, tmp_path):
    bowtie = Polygon([(115.40, 25.94), (115.41, 25.95), (115.41, 25.94), (115.40, 25.95)])
    square = box(115.42, 25.94, 115.43, 25.95)
    frame = gpd.GeoDataFrame({"wgbm": ["G1", "G2"]}, geometry=[bowtie, square], crs=4326)
    path = tmp_path / "bad.geojson"
    frame.to_file(path, driver="GeoJSON")
    code, out, err = cli("import-grids", path)
    assert code == 0, err
    assert "Repaired invalid geometries (make_valid): 1" in out and "G1: Self-intersection" in out
    _, repaired = stored(db, "G1")
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon" and len(repaired.geoms) == 2


def test_duplicate_codes_are_refused_and_nothing_is_written(cli, db, frame, tmp_path):
    dup = frame.copy()
    dup.loc[1, "wgbm"] = dup.loc[0, "wgbm"]
    path = tmp_path / "dup.geojson"
    dup.to_file(path, driver="GeoJSON")
    code, out, err = cli("import-grids", path)
    assert code == 1
    assert "duplicate grid codes" in err and "nothing was written" in err and "Traceback" not in err
    assert f"Duplicate codes: 1\n  {frame['wgbm'][0]}" in out  # the report is printed too
    assert counts(db) == ({}, 0, 0)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_projected_coordinates_without_crs_are_refused(cli, db, frame, tmp_path):
    path = tmp_path / "nocrs.shp"
    frame.to_crs(4547).set_crs(None, allow_override=True).to_file(path)
    assert not (tmp_path / "nocrs.prj").exists()
    code, _, err = cli("import-grids", path)
    assert code == 1 and "has no CRS" in err and "EPSG:4547" in err and "Traceback" not in err
    assert counts(db) == ({}, 0, 0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--code-field", "nope"], "no field 'nope'"),
        (["--layer", "nope"], "Layer 'nope' could not be opened"),
    ],
)
def test_bad_options_are_refused(cli, db, frame, tmp_path, argv, message):
    path = tmp_path / "g.gpkg"
    frame.to_file(path, layer="grids", driver="GPKG")
    code, _, err = cli("import-grids", path, *argv)
    assert code == 1 and message in err and "Traceback" not in err
    assert counts(db) == ({}, 0, 0)


def test_missing_file_is_refused(cli, db, tmp_path):
    code, _, err = cli("import-grids", tmp_path / "nowhere.geojson")
    assert code == 1 and "file not found" in err


def test_a_table_without_geometry_is_refused(cli, db, tmp_path):
    # GDAL opens a CSV as a layer without geometry; geo.readers used to fail with an AttributeError.
    path = tmp_path / "grids.csv"
    path.write_text("wgbm,wgmc\nG1,一网格\n", encoding="utf-8")
    code, _, err = cli("import-grids", path)
    assert code == 1 and "has no geometries" in err and "Traceback" not in err
    assert counts(db) == ({}, 0, 0)


def test_a_code_of_another_level_is_refused(cli, db, frame, shape, tmp_path):
    path = tmp_path / "grids.geojson"
    frame.to_file(path, driver="GeoJSON")
    assert cli("import-grids", path, "--parent-field", "sqbm")[0] == 0
    before = counts(db)
    clash = tmp_path / "clash.geojson"
    frame.head(4).assign(wgbm=[c.code for c in shape.communities]).drop(columns="sqbm").to_file(clash)
    code, _, err = cli("import-grids", clash)
    assert code == 1 and "already belong to regions of another level" in err and "(a community)" in err
    assert counts(db) == before


def test_dry_run_prints_what_would_happen_and_writes_nothing(cli, db, frame, tmp_path):
    path = tmp_path / "grids.geojson"
    frame.to_file(path, driver="GeoJSON")
    code, out, err = cli("import-grids", path, "--parent-field", "sqbm", "--dry-run")
    assert code == 0, err
    assert "Dry run: nothing was written" in out and "Grids: 24 created" in out
    assert counts(db) == ({}, 0, 0)


# --------------------------------------------------------------------------------------------
# A redrawn grid: new boundary versions, open tickets re-routed with events, closed ones stay.


def district_frame(db):
    with db.reader() as s:
        rows = s.execute(
            select(Region.code, Region.name, Region.parent_id, Boundary.geometry)
            .join(Boundary, Boundary.region_id == Region.id)
            .where(Region.level == "grid", Boundary.valid_to.is_(None))
            .order_by(Region.code)
        ).all()
        parents = dict(s.execute(select(Region.id, Region.code)).all())
    return gpd.GeoDataFrame(
        {"wgbm": [r[0] for r in rows], "wgmc": [r[1] for r in rows], "sqbm": [parents[r[2]] for r in rows]},
        geometry=[shapely.from_geojson(r[3]) for r in rows],
        crs=4326,
    )


def neighbours(frame):
    for i, a in enumerate(frame.geometry):
        for j, b in enumerate(frame.geometry):
            if i < j and a.intersection(b).length > 0.002:
                return i, j
    raise AssertionError("no neighbouring grids")


def test_redrawn_grid_reroutes_open_tickets_and_keeps_closed_ones(cli, db, district, tmp_path):
    frame = district_frame(db)
    i, j = neighbours(frame)
    a, b = frame.geometry[i], frame.geometry[j]
    # Give A the part of B near A's centre.
    ax, ay = a.centroid.coords[0]
    bx, by = b.centroid.coords[0]
    reach = shapely.Point(ax, ay).distance(shapely.Point(bx, by)) * 0.9
    piece = b.intersection(shapely.Point(ax, ay).buffer(reach))
    assert 0.05 * b.area < piece.area < 0.7 * b.area
    code_a, code_b = frame["wgbm"][i], frame["wgbm"][j]
    id_a, id_b = (stored(db, c)[0].id for c in (code_a, code_b))

    inside_piece = shapely.Point(piece.representative_point())
    rest = b.difference(piece.buffer(1e-5)).representative_point()
    with db.session() as s:
        dispatched = new_ticket(s, id_b, at=T0)
        closed = new_ticket(s, id_b, at=T0)
        untouched = new_ticket(s, id_b, at=T0)
        for t, point in ((dispatched, inside_piece), (closed, inside_piece), (untouched, rest)):
            t.lon, t.lat = point.x, point.y
        s.flush()
        workflow.apply(s, DESK, dispatched.id, workflow.ActionInput("accept", at=T0))
        workflow.apply(s, DESK, dispatched.id, workflow.ActionInput("dispatch", at=T0))
        workflow.apply(s, DESK, closed.id, workflow.ActionInput("accept", at=T0))
        workflow.apply(s, DESK, closed.id, workflow.ActionInput("dispatch", at=T0))
        worker = assignee_viewer(s, s.get(Ticket, closed.id))
        workflow.apply(s, worker, closed.id, workflow.ActionInput("respond", at=T0))
        workflow.apply(s, worker, closed.id, workflow.ActionInput("handle", photos=["p.jpg"], at=T0))
        workflow.apply(s, DESK, closed.id, workflow.ActionInput("verify_close", at=T0))
        ids = dispatched.id, closed.id, untouched.id
        old_assignee = (dispatched.assignee_staff_id, dispatched.assignee_org_id)
    with db.session() as s:
        aggregates.refresh(s, "full")
        open_in_a = s.get(GridStat, id_a).open_now

    redrawn = frame.copy()
    redrawn.loc[i, "geometry"] = a.union(piece)
    redrawn.loc[j, "geometry"] = b.difference(piece)
    path = tmp_path / "redrawn.geojson"
    redrawn.to_file(path, driver="GeoJSON")
    code, out, err = cli("import-grids", path, "--parent-field", "sqbm", "--dry-run")
    assert code == 0, err
    assert "Grids: 0 created, 2 changed" in out and "Open tickets re-routed: 1 of" in out
    with db.reader() as s:
        assert s.get(Ticket, ids[0]).grid_id == id_b  # the dry run changed nothing

    code, out, err = cli("import-grids", path, "--parent-field", "sqbm")
    assert code == 0, err
    assert "Grids: 0 created, 2 changed (new boundary version), 10 unchanged" in out
    assert "Open tickets re-routed: 1 of 2 open tickets with a point" in out
    # The district's communities have their own (generated) polygons: kept, not derived.
    assert "derived" not in out
    with db.reader() as s:
        moved, kept, stays = (s.get(Ticket, t) for t in ids)
        assert moved.grid_id == id_a and moved.boundary_id == current_boundary(s, id_a).id
        assert (moved.assignee_staff_id, moved.assignee_org_id) != old_assignee  # A's team has it now
        assert kept.status == "closed" and kept.grid_id == id_b
        assert stays.grid_id == id_b
        event = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == moved.id).order_by(TicketEvent.id.desc())
        ).first()
        assert (event.action, event.grid_id, event.previous_grid_id) == ("regrid", id_a, id_b)
        assert event.actor_role == "system" and event.from_status == event.to_status == "dispatched"
        for region_id in (id_a, id_b):
            assert [b.version for b in s.scalars(select(Boundary).where(Boundary.region_id == region_id))] == [1, 2]
    with db.session() as s:
        touched, _ = aggregates.touched_grids(s, 0)
        assert {id_a, id_b} <= touched
        aggregates.refresh(s, "incremental")
        assert s.get(GridStat, id_a).open_now == open_in_a + 1

    code, out, _ = cli("import-grids", path, "--parent-field", "sqbm")
    assert code == 0 and "12 unchanged" in out and "re-routed: 0" in out


def test_regrid_is_a_system_action_only(db, district):
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0])
        with pytest.raises(Exception, match="may not regrid"):
            workflow.apply(s, Viewer(role="admin"), t.id, workflow.ActionInput("regrid", placement=None))
        with pytest.raises(workflow.WorkflowError, match="placement"):
            workflow.apply(s, DESK, t.id, workflow.ActionInput("regrid", placement=None))
        assert "regrid" not in workflow.allowed_actions(Viewer(role="dispatcher"), t)


def test_grids_missing_from_a_new_file_are_reported_and_retired_with_their_open_tickets_rerouted(
    cli, db, district, tmp_path
):
    frame = district_frame(db)
    i, j = neighbours(frame)
    code_a, code_b = frame["wgbm"][i], frame["wgbm"][j]
    id_a, id_b = (stored(db, c)[0].id for c in (code_a, code_b))
    with db.session() as s:
        moved = new_ticket(s, id_b, at=T0)  # a point in B: placed again, lands in A (B merged into A)
        pointless = new_ticket(s, id_b, at=T0)  # no point: B's community takes it
        pointless.lon = pointless.lat = None
        closed = new_ticket(s, id_b, at=T0)
        s.flush()
        workflow.apply(s, DESK, moved.id, workflow.ActionInput("accept", at=T0))
        workflow.apply(s, DESK, moved.id, workflow.ActionInput("dispatch", at=T0))
        workflow.apply(s, DESK, closed.id, workflow.ActionInput("reject", note="测试", at=T0))
        ids = moved.id, pointless.id, closed.id
        community_b = pointless.community_id

    merged = frame.drop(index=j).copy()
    merged.loc[i, "geometry"] = frame.geometry[i].union(frame.geometry[j])
    path = tmp_path / "merged.geojson"
    merged.to_file(path, driver="GeoJSON")
    code, out, err = cli("import-grids", path, "--parent-field", "sqbm", "--dry-run")
    assert code == 0, err
    assert f"Missing from this file, still in use: 1: {code_b} (--retire-missing retires them" in out

    code, out, err = cli("import-grids", path, "--parent-field", "sqbm", "--retire-missing")
    assert code == 0, err
    assert f"Retired (missing from this file): 1: {code_b}" in out
    assert "Open tickets re-routed: 2 of 1 open tickets with a point and 1 without one in a retired grid (1 now" in out
    with db.reader() as s:
        region_b = s.get(Region, id_b)
        assert not region_b.active and current_boundary(s, id_b) is None
        now_moved, now_pointless, now_closed = (s.get(Ticket, t) for t in ids)
        assert now_moved.grid_id == id_a and now_moved.status == "dispatched"
        assert (now_pointless.grid_id, now_pointless.community_id) == (None, community_b)
        assert now_pointless.location_match == "unassigned"
        assert now_closed.grid_id == id_b  # a finished ticket keeps the grid it was handled in
        regrids = s.execute(
            select(TicketEvent.ticket_id, TicketEvent.previous_grid_id)
            .where(TicketEvent.action == "regrid")
            .order_by(TicketEvent.ticket_id)
        ).all()
        assert regrids == [(ids[0], id_b), (ids[1], id_b)]
    # Nothing is placed in a retired grid any more.
    with db.reader() as s:
        assert id_b not in set(data.locate.locator(s).grid_ids.tolist())

    # Drawn again, it comes back with a new boundary version.
    path = tmp_path / "again.geojson"
    frame.to_file(path, driver="GeoJSON")
    code, out, err = cli("import-grids", path, "--parent-field", "sqbm")
    assert code == 0, err
    assert "Missing" not in out and "Retired" not in out
    with db.reader() as s:
        assert s.get(Region, id_b).active
        assert [b.version for b in s.scalars(select(Boundary).where(Boundary.region_id == id_b))] == [1, 2]
