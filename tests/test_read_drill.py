"""Drill-down, ticket and desk reads (data.read.regions, .tickets, .desk) and the desk's actions,
against a real database: scoped by the viewer, personal data presented per role, every action
through data.workflow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from data import aggregates, workflow
from data.access import AccessDenied, Viewer
from data.clock import UTC
from data.models import Region, TicketEvent
from data.read import recent
from data.read.desk import assignee_options, parse_assignee, queue_counts, queue_rows
from data.read.directory import directory
from data.read.regions import region_page, weekly
from data.read.ticket_records import ticket_record as ticket_view
from data.read.tickets import TicketFilters, deadline, parse_filters, ticket_table
from tests.helpers import DESK, T0, new_ticket, run_loop

TZ = "Asia/Shanghai"
NOW = T0 + timedelta(hours=6)


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test resets the database; data.read's caches must not outlive it."""
    recent.clear()


def codes(db, district, grid_id):
    with db.reader() as s:
        tree = directory(s)
        grid = tree.get(grid_id)
        community = tree.get(grid.parent_id)
        street = tree.get(community.parent_id)
        return grid, community, street, tree.district()


def test_region_pages_at_every_level(db, district):
    grid_id = district.grid_ids[0]
    with db.session() as s:
        t = new_ticket(s, grid_id, at=T0)
        run_loop(s, t.id, T0, close_after=2.0)
        new_ticket(s, grid_id, at=T0 + timedelta(hours=1))
        aggregates.refresh(s, "full", now=NOW, tz=TZ)
    grid, community, street, root = codes(db, district, grid_id)
    dispatcher = Viewer(role="dispatcher")
    with db.reader() as s:
        g = region_page(s, dispatcher, grid.code, level="grid")
        c = region_page(s, dispatcher, community.code, level="community")
        st = region_page(s, dispatcher, street.code, level="street")
        d = region_page(s, dispatcher, root.code, level="district")
    assert [r.level for r in g.chain] == ["district", "street", "community", "grid"]
    assert g.grid_codes == [grid.code] and g.stats.open_now == 1 and g.stats.reported_today == 2
    assert g.stats.on_time_7d.value == 1.0
    assert {m.role for m in g.team} >= {"grid_worker", "grid_head"}
    assert all("****" in (m.phone or "****") for m in g.team if m.role != "property")
    assert grid.code in c.grid_codes and c.stats.open_now == 1
    assert {ch.level for ch in c.children} == {"grid"} and {ch.level for ch in st.children} == {"community"}
    assert len(d.grid_codes) == 12 and d.stats.grids == 12
    with db.reader() as s, pytest.raises(AccessDenied):
        region_page(s, dispatcher, grid.code, level="community")  # a grid's code is not a community


def test_key_groups_below_five_are_suppressed(db, district):
    grid_id = district.grid_ids[0]
    with db.session() as s:
        region = s.get(Region, grid_id)
        region.low_income, region.disabled, region.elderly_alone = 3, 5, 0
    grid, *_ = codes(db, district, grid_id)
    with db.reader() as s:
        page = region_page(s, Viewer(role="dispatcher"), grid.code)
        none = region_page(s, Viewer(role="grid_worker", region_id=grid_id), grid.code)
    assert page.profile["low_income"] == "<5" and page.profile["disabled"] == 5 and page.profile["elderly_alone"] == 0
    assert isinstance(page.profile["population"], int)
    assert none.profile is not None  # grid workers have "profile" for their own grid


def test_regions_outside_the_viewers_area_are_refused(db, district):
    inside = district.grid_ids[0]
    outside = next(g for g in district.grid_ids if district.community_of[g] != district.community_of[inside])
    supervisor = Viewer(role="supervisor", region_id=district.community_of[inside])
    grid_in, *_ = codes(db, district, inside)
    grid_out, *_ = codes(db, district, outside)
    with db.reader() as s:
        assert region_page(s, supervisor, grid_in.code).region.code == grid_in.code
        with pytest.raises(AccessDenied):
            region_page(s, supervisor, grid_out.code)
        with pytest.raises(AccessDenied):
            region_page(s, Viewer.kiosk(), grid_in.code)  # the wall has no drill-down
        with pytest.raises(AccessDenied):
            region_page(s, Viewer(role="dispatcher"), "no-such-code")


def test_ticket_table_filters_and_masks(db, district):
    grid_id = district.grid_ids[0]
    with db.session() as s:
        a = new_ticket(
            s,
            grid_id,
            "暴露垃圾",
            at=T0,
            reporter_name="张三丰",
            reporter_phone="13812345678",
            address="长征路8号幸福小区3栋2单元501",
        )
        b = new_ticket(s, grid_id, "违章停车", at=T0 - timedelta(days=20))
        run_loop(s, b.id, T0 - timedelta(days=20), close_after=2.0)
        old = new_ticket(s, grid_id, at=T0 - timedelta(days=60))
    grid, community, *_ = codes(db, district, grid_id)
    viewer = Viewer(role="dispatcher")
    with db.reader() as s:
        page = region_page(s, viewer, community.code)
        week = ticket_table(s, viewer, page.region, TicketFilters("7d"), now=NOW, tz=TZ)
        month = ticket_table(s, viewer, page.region, TicketFilters("30d"), now=NOW, tz=TZ)
        closed = ticket_table(s, viewer, page.region, TicketFilters("90d", status="closed"), now=NOW, tz=TZ)
        street_order = ticket_table(s, viewer, page.region, TicketFilters("90d", category="02"), now=NOW, tz=TZ)
        kiosk_like = ticket_table(
            s, Viewer(role="grid_worker", region_id=grid_id), page.region, TicketFilters("7d"), now=NOW, tz=TZ
        )
    assert [r["id"] for r in week.rows] == [a.id]
    assert [r["id"] for r in month.rows] == [a.id, b.id] and month.total == 2
    assert [r["id"] for r in closed.rows] == [b.id]
    assert [r["id"] for r in street_order.rows] == [b.id]
    assert old.id not in {r["id"] for r in closed.rows + month.rows}
    row = week.rows[0]
    assert "张三丰" not in repr(row) and "13812345678" not in repr(row)
    assert row["grid"] == grid.name and row["lon"] is not None
    assert kiosk_like.rows[0]["id"] == a.id


def test_parse_filters_names_what_it_ignored():
    filters, problems = parse_filters({"period": "9y", "category": "99", "status": "lost"}, {"01", "02"})
    assert filters == TicketFilters() and problems == ["period=9y", "category=99", "status=lost"]
    filters, problems = parse_filters({"period": "7d", "category": "02", "status": "overdue"}, {"01", "02"})
    assert filters == TicketFilters("7d", "02", "overdue") and problems == []
    assert filters.query() == {"period": "7d", "category": "02", "status": "overdue"}


def test_weekly_indicators(db, district):
    grid_id = district.grid_ids[0]
    with db.session() as s:
        for days in (1, 8, 9):
            t = new_ticket(s, grid_id, at=T0 - timedelta(days=days))
            run_loop(s, t.id, T0 - timedelta(days=days), close_after=1.0, rating=None)
    grid, *_ = codes(db, district, grid_id)
    with db.reader() as s:
        page = region_page(s, Viewer(role="dispatcher"), grid.code)
        week = weekly(s, Viewer(role="dispatcher"), page.region, now=NOW, tz=TZ, weeks=3)
    assert len(week.weeks) == 3 and week.weeks[-1].weekday() == 0
    # T0 is a Monday: 1 day before is last week, 8 and 9 days before the week before.
    assert week.reported == [2, 1, 0] and week.closed == [2, 1, 0]
    assert week.on_time == [1.0, 1.0, None]


def test_ticket_view_has_history_and_masked_reporter(db, district):
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0], at=T0, reporter_name="张三丰", reporter_phone="13812345678")
        run_loop(s, t.id, T0, close_after=2.0)
    with db.reader() as s:
        view = ticket_view(s, Viewer(role="dispatcher"), t.id)
        events = s.scalars(select(TicketEvent.action).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id))
        expected = list(events)
    assert view.reporter.name == "张*丰" and view.reporter.phone == "138****5678"
    assert (
        [e.action for e in view.events]
        == expected
        == ["report", "accept", "dispatch", "respond", "handle", "verify_close", "rate"]
    )
    assert view.events[4].photos == ("demo/site-1.jpg",)
    assert view.status == "rated" and view.grid.id == district.grid_ids[0]


def test_a_dispatcher_scoped_to_the_district_root_sees_tickets(db, district):
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0], at=T0)
        root = s.scalars(select(Region.id).where(Region.level == "district")).one()
    viewer = Viewer(role="dispatcher", region_id=root)
    with db.reader() as s:
        assert ticket_view(s, viewer, t.id).id == t.id
        assert queue_counts(s, viewer, now=NOW)["new"] == 1


def test_tickets_outside_scope_are_refused(db, district):
    inside = district.grid_ids[0]
    outside = next(g for g in district.grid_ids if district.community_of[g] != district.community_of[inside])
    with db.session() as s:
        t = new_ticket(s, outside, at=T0)
    supervisor = Viewer(role="supervisor", region_id=district.community_of[inside])
    with db.reader() as s:
        with pytest.raises(AccessDenied):
            ticket_view(s, supervisor, t.id)
        with pytest.raises(AccessDenied):
            ticket_view(s, Viewer.kiosk(), t.id)
        assert queue_counts(s, supervisor, now=NOW)["new"] == 0


@pytest.mark.parametrize(
    ("due_h", "done_h", "state", "seconds"),
    [
        (None, None, "none", 0),
        (2, None, "left", 7200),
        (-3, None, "overdue", 10800),
        (2, 1, "met", 0),
        (2, 5, "late", 10800),
    ],
)
def test_deadline_states(due_h, done_h, state, seconds):
    from datetime import datetime

    now = datetime(2026, 11, 23, 8, tzinfo=UTC)
    due = now + timedelta(hours=due_h) if due_h is not None else None
    done = now + timedelta(hours=done_h) if done_h is not None else None
    d = deadline(due, done, now)
    assert (d.state, d.seconds) == (state, seconds)


def test_desk_queues(db, district):
    g = district.grid_ids
    with db.session() as s:
        new = new_ticket(s, g[0], at=T0)
        accepted = new_ticket(s, g[1], at=T0)
        workflow.apply(s, DESK, accepted.id, workflow.ActionInput("accept", at=T0))
        late = new_ticket(s, g[2], "违章停车", at=T0 - timedelta(hours=20))
        workflow.apply(s, DESK, late.id, workflow.ActionInput("accept", at=T0 - timedelta(hours=20)))
        workflow.apply(s, DESK, late.id, workflow.ActionInput("dispatch", at=T0 - timedelta(hours=20)))
        workflow.apply(s, DESK, late.id, workflow.ActionInput("escalate", note="催办", at=T0 - timedelta(hours=19)))
        nowhere = workflow.create(
            s,
            Viewer(role="resident"),
            workflow.Submission(source="hotline", category_id=district.categories[0].id, at=T0),
        )
    viewer = Viewer(role="dispatcher")
    with db.reader() as s:
        counts = queue_counts(s, viewer, now=NOW)
        rows = {q: [r["id"] for r in queue_rows(s, viewer, q, now=NOW)] for q in counts}
    assert counts == {"new": 2, "unassigned": 1, "overdue": 1, "escalated": 1, "unlocated": 1}
    assert rows["new"] == [new.id, nowhere.id] or rows["new"] == [nowhere.id, new.id]
    assert rows["unassigned"] == [accepted.id] and rows["overdue"] == [late.id] and rows["escalated"] == [late.id]
    assert rows["unlocated"] == [nowhere.id]


def test_assignee_options_start_with_the_grids_team(db, district):
    grid = district.grid_ids[0]
    with db.reader() as s:
        options = assignee_options(s, Viewer(role="dispatcher"), grid)
        none = assignee_options(s, Viewer(role="dispatcher"), None)
    assert options[0]["value"] == f"staff:{district.worker_of[grid]}"
    values = [o["value"] for o in options]
    assert len(values) == len(set(values))
    none_values = [o["value"] for o in none]
    assert any(v.startswith("org:") for v in none_values) and not any(v.startswith("staff:") for v in none_values)
    assert parse_assignee("staff:12") == (12, None) and parse_assignee("org:3") == (None, 3)
    assert parse_assignee("") == (None, None)
    for bad in ("staff:x", "user:1", "12"):
        with pytest.raises(ValueError):
            parse_assignee(bad)


def test_desk_actions_go_through_the_workflow(db, district, settings):
    from dashboard.desk import actions
    from dashboard.server import create_app

    app = create_app(settings, db)
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0], at=T0)
    viewer = Viewer(role="dispatcher", name="调度甲")
    with app.server.app_context():
        actions.perform(viewer, t.id, "accept")
        actions.perform(viewer, t.id, "dispatch")
        with pytest.raises(workflow.WorkflowError) as refused:
            actions.perform(viewer, t.id, "escalate")  # needs a reason
        assert actions.error_text(refused.value) == "请填写原因"
        with pytest.raises(actions.InputProblem):
            actions.perform(viewer, t.id, "mark_duplicate", duplicate_of="abc")
        with pytest.raises(AccessDenied):
            actions.perform(Viewer(role="supervisor", region_id=-1), t.id, "escalate", note="催")
    with db.reader() as s:
        events = s.execute(
            select(TicketEvent.action, TicketEvent.actor_name, TicketEvent.to_status)
            .where(TicketEvent.ticket_id == t.id)
            .order_by(TicketEvent.id)
        ).all()
    assert [e.action for e in events] == ["report", "accept", "dispatch"]
    assert events[-1].actor_name == "调度甲" and events[-1].to_status == "dispatched"
