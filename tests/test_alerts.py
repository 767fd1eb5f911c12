"""Early warning against a real database (issue #11): the job raises and grows alerts from
tickets and alarms, state changes are scoped and audited, a cluster merges into one order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from data import intake
from data.access import AccessDenied, NotVisible, Viewer
from data.alerts import job, store
from data.alerts.models import Alert, AlertEvidence, IotAlarm
from data.alerts.read import AlertFilter, alert_records
from data.audit import AuditLog
from data.clock import utcnow
from data.errors import DomainError
from data.models import Region, Ticket
from tests.helpers import community_of, grid_point, new_ticket, run_loop

LEAK = "漏水"


def burst(db, grid_id, n, now, category=LEAK, start_hours=3.0):
    with db.session() as s:
        return [new_ticket(s, grid_id, category, at=now - timedelta(hours=start_hours - i * 0.4)).id for i in range(n)]


def run_job(db, settings, now):
    with db.session() as s:
        return job.run(s, settings, now)


def alerts(db):
    with db.reader() as s:
        rows = list(s.scalars(select(Alert).order_by(Alert.id)))
        s.expunge_all()  # plain objects the test reads after the session ends
        return rows


def test_a_burst_raises_one_alert_that_grows_instead_of_multiplying(db, settings, district):
    now = utcnow()
    grid = district.grid_ids[0]
    first = burst(db, grid, 5, now)
    summary = run_job(db, settings, now)
    assert summary["raised"] == 1, summary  # the grid's surge; its community's and the cluster are covered
    (alert,) = alerts(db)
    assert (alert.kind, alert.grid_id, alert.region_id, alert.state) == ("surge", grid, grid, "new")
    assert alert.evidence_count == 5 and alert.detail["observed"] == 5
    more = burst(db, grid, 2, now + timedelta(minutes=5), start_hours=0.5)
    summary = run_job(db, settings, now + timedelta(minutes=5))
    assert summary["tickets"] == 2 and summary["grown"] >= 1 and summary["raised"] == 0
    (alert,) = alerts(db)
    with db.reader() as s:
        assert store.evidence_of(s, alert.id) == set(first + more)
    assert run_job(db, settings, now + timedelta(minutes=6))["tickets"] == 0  # incremental: nothing new


def test_the_same_reports_spread_over_grids_and_categories_raise_nothing(db, settings, district):
    now = utcnow()
    names = ["漏水", "暴露垃圾", "违章停车", "噪音扰民", "路灯损坏"]
    with db.session() as s:
        for i in range(7):
            new_ticket(s, district.grid_ids[i], names[i % 5], at=now - timedelta(hours=3 - i * 0.4))
    summary = run_job(db, settings, now)
    assert summary["tickets"] == 7 and summary["findings"] == 0
    assert alerts(db) == []


def test_a_spot_closed_three_times_and_reported_again_is_recurring(db, settings, district):
    now = utcnow()
    grid = district.grid_ids[1]
    with db.session() as s:
        for days in (27, 18, 9):
            t = new_ticket(s, grid, "道路破损", at=now - timedelta(days=days))
            run_loop(s, t.id, now - timedelta(days=days))
        last = new_ticket(s, grid, "道路破损", at=now - timedelta(hours=1)).id
    run_job(db, settings, now)
    (alert,) = [a for a in alerts(db) if a.kind == "recurring"]
    assert alert.detail["comebacks"] == 3 and alert.grid_id == grid
    with db.reader() as s:
        assert last in store.evidence_of(s, alert.id)


def test_a_sensor_alarming_after_its_tickets_closed_is_a_device_alert(db, settings, district):
    now = utcnow()
    with db.reader() as s:
        lon, lat = grid_point(s, district.grid_ids[2])
    alarm = intake.Report(source="iot", device_id="PM-77", alarm_type="pm25", lon=lon, lat=lat, description="超标")
    caller = intake.Caller(Viewer.system("物联平台"))
    for hours in (40, 20, 1):
        out = intake.submit(db, settings, caller, alarm, now=now - timedelta(hours=hours))
        if hours > 1:
            with db.session() as s:
                run_loop(s, out.ticket_id, now - timedelta(hours=hours), close_after=2.0, rating=None)
    with db.reader() as s:
        assert s.scalar(select(func.count(IotAlarm.id)).where(IotAlarm.device_id == "PM-77")) == 3
    run_job(db, settings, now)
    (alert,) = [a for a in alerts(db) if a.kind == "device"]
    assert alert.device_id == "PM-77" and alert.evidence_count == 3 and alert.detail["after_close"] == 2


def _supervisor(db, region_id):
    return Viewer(role="supervisor", region_id=region_id, name="督导")


def test_state_changes_are_scoped_permitted_and_audited(db, settings, district):
    now = utcnow()
    grid = district.grid_ids[0]
    burst(db, grid, 5, now)
    run_job(db, settings, now)
    (alert,) = alerts(db)
    with db.reader() as s:
        own = community_of(s, grid)
        other = s.scalars(select(Region.id).where(Region.level == "community", Region.id != own)).first()
    with db.session() as s, pytest.raises(NotVisible):
        store.change_state(s, _supervisor(db, other), alert.id, "acknowledge")
    with db.session() as s, pytest.raises(AccessDenied):
        store.change_state(s, Viewer(role="grid_worker", region_id=grid, staff_id=1), alert.id, "acknowledge")
    with db.session() as s, pytest.raises(DomainError) as e:
        store.change_state(s, _supervisor(db, own), alert.id, "dismiss", "  ")
    assert e.value.code == "reason_required"
    with db.session() as s:
        store.change_state(s, _supervisor(db, own), alert.id, "acknowledge")
    with db.session() as s:
        store.change_state(s, _supervisor(db, own), alert.id, "dismiss", "管道检修，已知")
    with db.session() as s, pytest.raises(DomainError) as e:
        store.change_state(s, _supervisor(db, own), alert.id, "acknowledge")
    assert e.value.kind == "conflict"
    (alert,) = alerts(db)
    assert (alert.state, alert.reason) == ("dismissed", "管道检修，已知")
    with db.reader() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action == "alert").order_by(AuditLog.id)).all()
        changes = [(r.detail["from"], r.detail["to"], r.role, r.target_id) for r in rows]
    assert changes == [
        ("new", "acknowledged", "supervisor", str(alert.id)),
        ("acknowledged", "dismissed", "supervisor", str(alert.id)),
    ]
    # Dismissed: the same reports do not raise it again; enough new ones do.
    burst(db, grid, 1, now + timedelta(minutes=1), start_hours=0.1)
    run_job(db, settings, now + timedelta(minutes=1))
    assert len(alerts(db)) == 1


def test_reads_are_scoped_and_evidence_only_for_ticket_readers(db, settings, district):
    now = utcnow()
    grid = district.grid_ids[0]
    burst(db, grid, 5, now)
    run_job(db, settings, now)
    with db.reader() as s:
        own = community_of(s, grid)
        other = s.scalars(select(Region.id).where(Region.level == "community", Region.id != own)).first()
        assert alert_records(s, _supervisor(db, other), AlertFilter()) == []
        (mine,) = alert_records(s, _supervisor(db, own), AlertFilter())
        assert len(mine.evidence) == 5 and mine.area_code and mine.category
        (wall,) = alert_records(s, Viewer.kiosk(), AlertFilter())
        assert wall.evidence == () and wall.evidence_count == 5
        assert alert_records(s, Viewer(role="property", organisation_id=1), AlertFilter()) == []
        assert alert_records(s, Viewer.kiosk(), AlertFilter(states=("resolved",))) == []


def test_merge_links_the_reports_to_one_parent_order(db, settings, district):
    now = utcnow()
    grid = district.grid_ids[0]
    ids = burst(db, grid, 5, now)
    run_job(db, settings, now)
    (alert,) = alerts(db)
    dispatcher = Viewer(role="dispatcher", name="调度员")
    with db.session() as s:
        store.change_state(s, dispatcher, alert.id, "merge")
    with db.reader() as s:
        tickets = {t.id: t for t in s.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
        merged = s.get(Alert, alert.id)
        assert merged.parent_ticket_id == ids[0] and merged.state == "acknowledged"
        assert tickets[ids[0]].status == "reported"
        assert all(tickets[i].status == "duplicate" and tickets[i].duplicate_of_id == ids[0] for i in ids[1:])
        assert s.scalar(select(func.count()).select_from(AlertEvidence)) == 5
    with db.session() as s, pytest.raises(DomainError):
        store.merge(s, dispatcher, alert.id, parent_id=999999)


def test_the_demo_incidents_are_found_by_the_first_run(db, settings, district):
    from data.demo.incidents import plant

    now = utcnow()
    with db.session() as s:
        planted = plant(s, now)
    summary = run_job(db, settings, now)
    found = {a.kind: a for a in alerts(db)}
    assert summary["raised"] == 3, [(a.kind, a.dedup_key, a.evidence_count, a.detail) for a in alerts(db)]
    assert set(found) == {"surge", "recurring", "device"}
    with db.reader() as s:
        for p in planted:
            assert set(p.tickets) <= store.evidence_of(s, found[p.kind].id), p.kind


def _corner(s, grid_id):
    """A vertex of the grid's boundary, nudged inside the district (neighbouring grids share it)."""
    import shapely

    from data.regions import current_boundary

    geom = shapely.from_geojson(current_boundary(s, grid_id).geometry)
    ring = list((geom.geoms[0] if hasattr(geom, "geoms") else geom).exterior.coords)
    centre = geom.representative_point()
    x, y = ring[len(ring) // 3]
    return x + (centre.x - x) * 0.02, y + (centre.y - y) * 0.02


def _reports_around(db, lon, lat, n, now, category="路灯损坏", hours=8.0):
    from data.locate import locator
    from data.workflow import Submission, create
    from tests.helpers import category as cat

    m = 1 / 111_195.0
    with db.session() as s:
        out = []
        for i in range(n):
            x, y = lon + 40 * ((i % 3) - 1) * m, lat + 35 * ((i // 3) - 0.5) * m
            sub = Submission(
                source="resident",
                category_id=cat(s, category).id,
                lon=x,
                lat=y,
                placement=locator(s).place(x, y),
                at=now - timedelta(hours=hours - i * hours / n),
            )
            out.append(create(s, Viewer(role="resident"), sub))
        return [(t.id, t.grid_id) for t in out]


def test_reports_close_together_across_a_grid_border_are_a_cluster(db, settings, district):
    now = utcnow()
    with db.reader() as s:
        lon, lat = _corner(s, district.grid_ids[3])
    made = _reports_around(db, lon, lat, 5, now)
    run_job(db, settings, now)
    (alert,) = alerts(db)
    assert alert.kind == "cluster" and alert.evidence_count == 5
    assert alert.detail["unusual"] and alert.detail["background"] == 0
    assert len({g for _, g in made}) >= 2, made  # across borders (no grid has a surge of its own)


def test_the_same_cluster_at_a_corner_that_always_has_them_is_silent(db, settings, district):
    now = utcnow()
    with db.reader() as s:
        lon, lat = _corner(s, district.grid_ids[3])
    for week in range(1, 8):  # the same five, every week for seven weeks: this corner's normal
        _reports_around(db, lon, lat, 5, now - timedelta(days=7 * week))
    with db.session() as s:
        job.save_watermark(s, {"ticket_id": s.scalar(select(func.max(Ticket.id))), "alarm_id": 0, "at": ""})
    _reports_around(db, lon, lat, 5, now)
    summary = run_job(db, settings, now)
    assert summary["tickets"] == 5 and summary["raised"] == 0, summary


def test_the_scheduler_job_commits_each_detector_and_moves_its_watermark(db, settings, district):
    from data import jobs
    from data.demo.incidents import plant

    with db.session() as s:
        plant(s)
    summary = jobs.detect_alerts(db, settings)
    assert summary["raised"] == 3, summary
    again = jobs.detect_alerts(db, settings)
    assert again["tickets"] == 0 and again["raised"] == 0
    with db.reader() as s:
        assert job.load_watermark(s)["ticket_id"] == s.scalar(select(func.max(Ticket.id)))
