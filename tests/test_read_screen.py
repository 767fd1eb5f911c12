"""data.read.screen and data.read.geometry against a real database: what the wall shows is what the
workflow wrote, scoped by the viewer, from aggregates and recent tickets only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from data import aggregates, workflow
from data.access import AccessDenied, Viewer
from data.clock import local_day
from data.models import Boundary, JobStatus, Region
from data.read import recent
from data.read.geometry import boundary_version, grid_geometry
from data.read.screen import RANKING_MIN_VOLUME, read_screen
from tests.helpers import DESK, T0, new_ticket, run_loop

TZ = "Asia/Shanghai"


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test resets the database; the screen's day and hour caches must not outlive it."""
    recent.clear()


NOW = T0 + timedelta(hours=6)  # Monday 15:00 local


def refresh(db, now=NOW):
    with db.session() as s:
        aggregates.refresh(s, "full", now=now, tz=TZ)


def community_of(db, grid_id):
    with db.reader() as s:
        return s.get(Region, grid_id).parent_id


def test_geometry_has_one_feature_per_grid_and_outlines_per_unit(db, district):
    with db.reader() as s:
        geometry = grid_geometry(s)
        communities = s.scalars(select(Region.code).where(Region.level == "community")).all()
        streets = s.scalars(select(Region.code).where(Region.level == "street")).all()
    assert sorted(geometry.codes) == sorted(district.grid_codes)
    assert [f["id"] for f in geometry.grid_collection()["features"]] == geometry.codes
    assert sorted(geometry.outlines["community"]) == sorted(communities)
    assert sorted(geometry.outlines["street"]) == sorted(streets)
    some = geometry.codes[:2]
    assert [f["id"] for f in geometry.grid_collection(some)["features"]] == some
    assert len(geometry.outline_collection("community", some)["features"]) in (1, 2)
    lattice = geometry.lattice
    assert lattice is not None and len(lattice.lon) == len(lattice.lat) > 0
    minx, miny, maxx, maxy = geometry.total_bounds()
    assert minx < maxx and miny < maxy


def test_geometry_version_changes_with_a_new_boundary(db, district):
    import shapely

    from data.regions import set_boundary

    with db.reader() as s:
        before = boundary_version(s)
        first = grid_geometry(s)
    with db.session() as s:
        region = s.get(Region, district.grid_ids[0])
        current = s.scalars(select(Boundary).where(Boundary.region_id == region.id, Boundary.valid_to.is_(None))).one()
        shape = shapely.from_geojson(current.geometry)
        set_boundary(s, region, shapely.affinity.scale(shape, 0.98, 0.98), source="test")
    recent.clear()  # as if VERSION_CHECK_S had passed: versions are re-read at most that often
    with db.reader() as s:
        assert boundary_version(s) != before
        second = grid_geometry(s)
    assert second is not first
    assert second.features[first.codes[0]] != first.features[first.codes[0]]


def test_snapshot_counts_follow_the_workflow(db, district):
    grid = district.grid_ids[0]
    with db.session() as s:
        done = new_ticket(s, grid, at=T0)
        run_loop(s, done.id, T0, close_after=2.0)
        waiting = new_ticket(s, grid, at=T0 + timedelta(hours=1))
        late = new_ticket(s, district.grid_ids[1], "违章停车", at=T0 + timedelta(hours=2), source="hotline")
        workflow.apply(s, DESK, late.id, workflow.ActionInput("accept", at=T0 + timedelta(hours=2, minutes=5)))
        workflow.apply(
            s, DESK, late.id, workflow.ActionInput("dispatch", at=T0 + timedelta(hours=2, minutes=6))
        )  # due in 8 h
        yesterday = new_ticket(s, grid, at=T0 - timedelta(hours=20))  # 13:00 the day before, local
        ids = (done.id, waiting.id, late.id, yesterday.id)
    refresh(db, NOW + timedelta(hours=5))  # 20:00 local: the 8-hour deadline has passed
    now = NOW + timedelta(hours=5)
    with db.reader() as s:
        snap = read_screen(s, Viewer(role="dispatcher"), now=now, tz=TZ)
    k = snap.kpis
    assert k.reported_today == 3
    assert k.closed_today == 1
    assert k.dispatched_today == 2
    assert k.open_now == 3  # waiting, late and yesterday's
    assert k.overdue_now == 1
    assert k.awaiting_acceptance == 2
    assert k.reported_yesterday_same_time == 1  # created at 13:00 yesterday, before 20:00
    assert k.satisfaction_30d.value == 1.0
    assert snap.trend_reported[-1] == 3 and snap.trend_reported[-2] == 1
    assert snap.trend_closed[-1] == 1
    assert len(snap.trend_days) == 30 and snap.trend_days[-1] == local_day(now, TZ)
    assert sum(snap.hourly_today) == 3 and sum(snap.hourly_yesterday) == 1
    assert snap.hourly_today[9] == 1 and snap.hourly_today[10] == 1 and snap.hourly_today[11] == 1
    assert dict(snap.sources) == {"resident": 3, "hotline": 1}
    assert sum(n for _, n in snap.categories) == 4
    assert [item.id for item in snap.feed] == [ids[2], ids[1], ids[0], ids[3]]
    assert sum(snap.heat) == 3  # reports of the last 24 hours (not yesterday 13:00), binned on the lattice
    assert snap.overdue_points["id"] == [ids[2]] and snap.overdue_points["hours"][0] > 0
    codes = snap.grids.codes
    i = codes.index(district.grid_codes[district.grid_ids.index(grid)])
    assert snap.grids.open_now[i] == 2
    assert snap.district


def test_feed_never_carries_the_reporter(db, district):
    with db.session() as s:
        new_ticket(
            s,
            district.grid_ids[0],
            at=T0,
            reporter_name="张三丰",
            reporter_phone="13812345678",
            address="长征路8号幸福小区3栋2单元501",
        )
    refresh(db)
    with db.reader() as s:
        snap = read_screen(s, Viewer.kiosk(), now=NOW, tz=TZ)
    text = repr(snap)
    assert "张三丰" not in text and "13812345678" not in text and "501" not in text
    assert snap.feed[0].address == "长征路8号幸福小区***"


def test_a_supervisor_sees_only_their_community(db, district):
    inside, outside = (
        district.grid_ids[0],
        next(g for g in district.grid_ids if district.community_of[g] != district.community_of[district.grid_ids[0]]),
    )
    with db.session() as s:
        new_ticket(s, inside, at=T0)
        new_ticket(s, outside, at=T0)
        new_ticket(s, outside, at=T0 + timedelta(minutes=5))
    refresh(db)
    supervisor = Viewer(role="supervisor", region_id=district.community_of[inside])
    with db.reader() as s:
        mine = read_screen(s, supervisor, now=NOW, tz=TZ)
        everything = read_screen(s, Viewer.kiosk(), now=NOW, tz=TZ)
    own_codes = {
        c
        for g, c in zip(district.grid_ids, district.grid_codes, strict=True)
        if district.community_of[g] == district.community_of[inside]
    }
    assert set(mine.grids.codes) == own_codes
    assert mine.kpis.reported_today == 1 and everything.kpis.reported_today == 3
    assert len(mine.feed) == 1 and len(everything.feed) == 3
    assert sum(mine.heat) == 1 and sum(everything.heat) == 3
    assert sum(mine.hourly_today) == 1


@pytest.mark.parametrize(
    "viewer",
    [Viewer.anonymous(), Viewer(role="property", organisation_id=1), Viewer(role="resident", ticket_token="x" * 16)],
)
def test_viewers_without_aggregates_are_refused(db, district, viewer):
    with db.reader() as s, pytest.raises(AccessDenied):
        read_screen(s, viewer, now=NOW, tz=TZ)


def test_ranking_needs_the_minimum_volume(db, district):
    grid = district.grid_ids[0]
    with db.session() as s:
        for i in range(RANKING_MIN_VOLUME - 1):
            t = new_ticket(s, grid, at=T0 - timedelta(days=3, hours=i))
            run_loop(s, t.id, T0 - timedelta(days=3, hours=i), close_after=2.0, rating=None)
    refresh(db)
    with db.reader() as s:
        assert read_screen(s, Viewer.kiosk(), now=NOW, tz=TZ).ranking_best == []
    with db.session() as s:
        t = new_ticket(s, grid, at=T0 - timedelta(days=2))
        run_loop(s, t.id, T0 - timedelta(days=2), close_after=2.0, rating=None)
    refresh(db)
    with db.reader() as s:
        snap = read_screen(s, Viewer.kiosk(), now=NOW, tz=TZ)
    assert [(r.rate, r.volume) for r in snap.ranking_best] == [(1.0, RANKING_MIN_VOLUME)]
    assert snap.ranking_worst[0].code == snap.ranking_best[0].code


def test_as_of_is_the_newest_successful_aggregate_job(db, district):
    refresh(db)
    with db.session() as s:
        s.add(JobStatus(job_id="refresh_aggregates", last_finished_at=NOW + timedelta(minutes=3), last_ok=True, runs=1))
        s.add(JobStatus(job_id="refresh_windows", last_finished_at=NOW + timedelta(minutes=9), last_ok=False, runs=1))
    with db.reader() as s:
        snap = read_screen(s, Viewer.kiosk(), now=NOW + timedelta(minutes=10), tz=TZ)
    assert snap.as_of == NOW + timedelta(minutes=3)


def test_a_refresh_never_scans_the_tickets_table(db, district):
    """Every statement touching `tickets` is bounded by an indexed column (time, status or id)."""
    with db.session() as s:
        new_ticket(s, district.grid_ids[0], at=T0)
    refresh(db)
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.reader() as s:
            read_screen(s, Viewer.kiosk(), now=NOW, tz=TZ)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    ticket_reads = [q for q in statements if "FROM tickets" in q]
    assert ticket_reads
    for q in ticket_reads:
        assert any(
            col in q
            for col in ("tickets.created_at >", "tickets.closed_at >", "tickets.status", "tickets.handle_due_at <")
        ), q
    if db.is_sqlite:
        with db.engine.connect() as conn:
            for q in ticket_reads:
                plan = [str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + q, (None,) * q.count("?"))]
                for line in plan:
                    if " tickets" in line and "SCAN" in line:
                        # Only the feed walks an index, newest first, and stops after LIMIT rows.
                        assert "LIMIT" in q and "INDEX" in line, (q, plan)


def test_hour_buckets_equal_a_direct_read_and_notice_old_tickets(db, district):
    from data.read.geometry import grid_geometry as geometry_of
    from data.read.scope import stat_scope
    from data.read.screen import heat, hourly

    with db.session() as s:
        for i in range(40):
            new_ticket(s, district.grid_ids[i % 12], at=NOW - timedelta(minutes=37 * i + 5))
    kiosk = Viewer.kiosk()
    for minutes in (0, 23, 61):
        at = NOW + timedelta(minutes=minutes)
        with db.reader() as s:
            scope, geometry = stat_scope(s, kiosk), geometry_of(s)
            cached = recent.recent(s, scope, geometry, at, TZ)
            assert (cached.today, cached.yesterday) == hourly(s, scope, at, TZ)
            assert cached.heat == heat(s, scope, geometry, at)
    # A report imported into a finished, cached hour is not missed.
    with db.session() as s:
        new_ticket(s, district.grid_ids[0], at=NOW - timedelta(hours=5, minutes=10))
    with db.reader() as s:
        scope, geometry = stat_scope(s, kiosk), geometry_of(s)
        cached = recent.recent(s, scope, geometry, NOW + timedelta(minutes=61), TZ)
        assert cached.heat == heat(s, scope, geometry, NOW + timedelta(minutes=61))
        assert (cached.today, cached.yesterday) == hourly(s, scope, NOW + timedelta(minutes=61), TZ)
