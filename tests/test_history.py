"""History (issue #10): the state at a past moment from the tickets' events, moments from the URL,
and the week tables for the report, on hand-built cases with known answers."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import true

from data import escalation, history, indicators, workflow
from data.access import AccessDenied, Viewer
from data.clock import UTC
from data.history import BadMoment
from data.models import GridTeam, Region, Ticket
from data.read.week import week_report
from tests.helpers import DESK, T0, new_ticket, run_loop

H = timedelta(hours=1)
TZ = "Asia/Shanghai"
# T0 is Monday 2026-11-02 09:00 in Shanghai: ISO week 2026-W45.
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


@pytest.fixture
def cases(db, district):
    """In one grid, 漏水 (48 h handling limit), dispatched at T0 + 0.2 h:
    A closed at 6.2 h; B handled 50.2 h, sent back 55 h, closed 60 h; C dispatched, never handled
    (due 48.2 h); D rejected at 1 h; E reported only; F closed at 10.2 h.
    In a second grid: G created in the next week (T0 + 7 days), closed 2 h later."""
    g, other = district.grid_ids[0], district.grid_ids[1]
    with db.session() as s:
        s.get(GridTeam, g).property_company_id = None
        a, b, c, d, _e, f = (new_ticket(s, g, "漏水", at=T0) for _ in range(6))
        run_loop(s, a.id, T0, rating="satisfied")
        run_loop(s, b.id, T0, handle_after=50, close_after=None)
        workflow.apply(s, DESK, b.id, workflow.ActionInput("send_back", note="返工", at=T0 + 55 * H))
        actor = Viewer(role="grid_worker", staff_id=district.worker_of[g])
        workflow.apply(s, actor, b.id, workflow.ActionInput("handle", photos=["p.jpg"], at=T0 + 58 * H))
        workflow.apply(s, DESK, b.id, workflow.ActionInput("verify_close", at=T0 + 60 * H))
        run_loop(s, c.id, T0, handle_after=None, close_after=None)
        workflow.apply(s, DESK, d.id, workflow.ActionInput("reject", note="非受理范围", at=T0 + H))
        run_loop(s, f.id, T0, respond_after=3, close_after=10, rating="basic")
        s.get(GridTeam, other).property_company_id = None
        later = T0 + 7 * 24 * H
        gt = new_ticket(s, other, at=later)
        run_loop(s, gt.id, later, respond_after=0.5, handle_after=1, close_after=2, rating=None)
        escalation.sweep(s, now=T0 + 100 * H)  # C: overdue since 48.2 h, escalated at 100 h
    return g, other


def state(db, at, **kw):
    with db.reader() as s:
        return indicators.state_at(s, true(), at, **kw)[None]


def test_state_at_known_moments(db, cases):
    before = state(db, T0 - H)
    assert (before.open, before.overdue, before.escalated, before.awaiting) == (0, 0, 0, 0)
    early = state(db, T0 + 0.05 * H)  # all six reported, none accepted yet
    assert (early.open, early.awaiting) == (6, 6)
    day1 = state(db, T0 + 24 * H)  # A (6.2 h) and F (10.2 h) closed, D rejected
    assert (day1.open, day1.overdue, day1.escalated, day1.awaiting) == (3, 0, 0, 1)  # B C E; E waits
    day3 = state(db, T0 + 52 * H)  # B handled (not working), C past 48.2 h
    assert (day3.open, day3.overdue) == (3, 1)
    reworked = state(db, T0 + 56 * H)  # B sent back to work: past its deadline too
    assert (reworked.open, reworked.overdue) == (3, 2)
    after = state(db, T0 + 101 * H)  # B closed at 60 h; C escalated at 100 h
    assert (after.open, after.overdue, after.escalated) == (2, 1, 1)


def test_state_now_equals_current_status(db, cases):
    """At the real end of the history, the rebuilt state is the tickets' current status."""
    end = T0 + 30 * 24 * H
    with db.reader() as s:
        live = indicators.total(s, true(), T0, end, now=end)
        past = indicators.total(s, true(), T0, end, now=end, history=True)
    assert past.open_now == live.open_now and past.overdue_now == live.overdue_now
    assert past.escalated_now == live.escalated_now
    assert past.as_dict() == live.as_dict()


def test_moments():
    assert history.parse_week("2026-W47") == (2026, 47)
    start, end = history.week_bounds("2026-W45", TZ)
    assert start == T0 - 9 * H and end == start + 7 * 24 * H  # Monday 00:00 Shanghai = Sunday 16:00 UTC
    m = history.week_moment("2026-W45", TZ, now=NOW)
    assert m.at == end - timedelta(microseconds=1) and m.week == "2026-W45"
    assert history.previous_week("2026-W01") == "2025-W52"
    assert history.last_finished_week(NOW, TZ) == "2026-W48"  # 2026-12-01 is in W49
    naive = history.parse_as_of("2026-11-02T09:00", TZ, now=NOW)
    assert naive.at == T0
    offset = history.parse_as_of("2026-11-02T01:00:00Z", TZ, now=NOW)
    assert offset.at == T0
    assert history.parse_as_of("2026-11-02T03:00+02:00", TZ, now=NOW).at == T0
    for bad in ("garbage", "2026-13-01", "", "2026-11-02T09:00' OR 1=1"):
        with pytest.raises(BadMoment):
            history.parse_as_of(bad, TZ, now=NOW)
    for bad in ("2026-W99", "2026-W00", "W47", "2026-W53"):  # 2026 has 53 ISO weeks? No: 52
        with pytest.raises(BadMoment):
            history.week_moment(bad, TZ, now=NOW)
    with pytest.raises(BadMoment):
        history.parse_as_of("2027-01-01T00:00", TZ, now=NOW)  # future
    with pytest.raises(BadMoment):
        history.week_moment("2026-W49", TZ, now=NOW)  # not ended
    assert history.moment_from_query({}, TZ, now=NOW) is None
    both = history.moment_from_query({"week": "2026-W45", "as_of": "2026-11-02T09:00"}, TZ, now=NOW)
    assert both.at == T0 and both.week is None  # as_of wins
    assert BadMoment("x").status == 400


def test_week_report_agrees_with_indicators(db, district, cases):
    g, _ = cases
    with db.reader() as s:
        report = week_report(s, Viewer.system(), "2026-W45", tz=TZ, now=NOW)
        start, end = history.week_bounds("2026-W45", TZ)
        direct = indicators.total(s, true(), start, end, now=end, history=True)
        grid_code = s.get(Region, g).code
        community = s.get(Region, s.get(Region, g).parent_id)
        street_code, community_code = s.get(Region, community.parent_id).code, community.code
    assert report.week == "2026-W45" and report.previous_week == "2026-W44"
    this = report.district.this
    assert this.as_dict() == direct.as_dict()
    assert this.reported == 6 and this.accepted == 4 and this.closed == 3
    assert this.should_close == 4 and this.on_time_rate == pytest.approx(2 / 4)  # C due in the week, open
    assert this.rework_rate == pytest.approx(1 / 3)
    assert this.open_now == 2 and this.overdue_now == 1 and this.escalated_now == 1  # at the week's end: C E
    assert report.district.previous.reported == 0
    assert report.district.change("reported") == 6 and report.district.change_pct("reported") is None
    rows = {r.code: r for r in report.grids}
    assert rows[grid_code].this.reported == 6 and rows[grid_code].parent_code == community_code
    assert {r.code for r in report.communities} >= {community_code}
    assert {r.code: r for r in report.streets}[street_code].this.reported == 6
    # The ten longest overdue at the week's end: C only.
    late = (end - (T0 + 48.2 * H)).total_seconds() / 3600
    assert [r.overdue_hours for r in report.longest_overdue] == [pytest.approx(late, abs=0.1)]
    with db.reader() as s:
        nxt = week_report(s, Viewer.system(), "2026-W46", tz=TZ, now=NOW)
    assert nxt.district.this.reported == 1 and nxt.district.previous.reported == 6
    with db.reader() as s:  # the previous week's numbers are its own, "now" numbers at its own end
        w45 = indicators.total(s, true(), start, end, now=end, history=True)
        assert nxt.district.previous.as_dict() == w45.as_dict()
        grid_rows = indicators.compute(s, true(), start, end, group_by=Ticket.grid_id, now=end, history=True)
    assert {r.code: r.previous.as_dict() for r in nxt.grids if r.code == grid_code} == {
        grid_code: grid_rows[g].as_dict()
    }
    assert nxt.district.change_pct("reported") == pytest.approx(-5 / 6)


def test_week_report_scoped_and_refused(db, district, cases):
    g, _ = cases
    with db.reader() as s:
        home = s.get(Region, g).parent_id
        foreign = next(c for c in s.query(Region).filter(Region.level == "community") if c.id != home)
        mine = week_report(s, Viewer(role="supervisor", region_id=home), "2026-W45", tz=TZ, now=NOW)
        theirs = week_report(s, Viewer(role="supervisor", region_id=foreign.id), "2026-W45", tz=TZ, now=NOW)
        assert mine.district.this.reported == 6 and theirs.district.this.reported == 0
        assert s.get(Region, g).code in {r.code for r in mine.grids}
        assert s.get(Region, g).code not in {r.code for r in theirs.grids}
        with pytest.raises(AccessDenied):
            week_report(s, Viewer.kiosk(), "2026-W45", tz=TZ, now=NOW)
        with pytest.raises(BadMoment):
            week_report(s, Viewer.system(), "2026-W49", tz=TZ, now=NOW)


def test_screen_at_the_present_equals_the_live_screen(db, district, cases):
    """The wall rebuilt from history at the end of the data equals the live wall read from
    grid_stats refreshed at that instant: one indicator module, two routes."""
    from data import aggregates
    from data.history import Moment
    from data.read.history import read_screen_at, region_stats_at
    from data.read.regions import _stats
    from data.read.screen import read_screen

    end = T0 + 20 * 24 * H
    with db.session() as s:
        aggregates.refresh(s, "full", now=end, tz=TZ)
    with db.reader() as s:
        live = read_screen(s, Viewer.system(), now=end, tz=TZ)
        past = read_screen_at(s, Viewer.system(), Moment(at=end), tz=TZ, database=db)
        grids = list(district.grid_ids)
        assert region_stats_at(s, grids, Moment(at=end), tz=TZ) == _stats(s, grids)
    assert past.kpis == live.kpis
    assert past.grids == live.grids
    assert past.overdue_points == live.overdue_points
    assert past.trend_reported == live.trend_reported and past.heat == live.heat
    assert past.hourly_today == live.hourly_today


def test_screen_at_a_past_week(db, district, cases):
    """The wall at the end of W45 (C overdue and escalated, B closed) and at 52 h (three open)."""
    from data.history import Moment, week_moment
    from data.history_stats import GridHistory
    from data.read.history import read_screen_at

    g, _ = cases
    moment = week_moment("2026-W45", TZ, now=NOW)
    with db.reader() as s:
        wall = read_screen_at(s, Viewer.system(), moment, tz=TZ, database=db)
        code = s.get(Region, g).code
    assert (wall.kpis.open_now, wall.kpis.overdue_now, wall.kpis.escalated_now) == (2, 1, 1)
    assert wall.kpis.on_time_7d.value == pytest.approx(0.5)
    i = wall.grids.codes.index(code)
    assert wall.grids.open_now[i] == 2 and wall.grids.overdue_now[i] == 1
    assert len(wall.overdue_points["id"]) == 1 and wall.as_of == moment.at
    with db.reader() as s:  # kept in grid_history for the next page view
        assert s.query(GridHistory).filter(GridHistory.at == moment.at).count() == len(district.grid_ids) + 1
    with db.reader() as s:
        mid = read_screen_at(s, Viewer.system(), Moment(at=T0 + 52 * H), tz=TZ, database=db)
    assert (mid.kpis.open_now, mid.kpis.overdue_now, mid.kpis.awaiting_acceptance) == (3, 1, 1)
    # The feed shows each report's status then: A F rated, B handled, C in progress, D rejected, E reported.
    assert sorted(f.status for f in mid.feed) == ["handled", "in_progress", "rated", "rated", "rejected", "reported"]


@pytest.mark.slow
def test_on_the_demo_the_past_week_agrees_with_a_replay_of_the_events(db, settings):
    """A small demo (a month of history through the real workflow): the last finished week's
    tables and wall agree with data.indicators, and the state at the week's end with a plain
    Python replay of ticket_events (an independent computation)."""
    from sqlalchemy import select

    from data.demo import generate
    from data.history import last_finished_week, week_moment
    from data.models import OPEN_STATUSES, WORKING_STATUSES, TicketEvent
    from data.models import Ticket as T
    from data.read.history import read_screen_at

    generate(db, settings, grids=20, days=30, seed=5)
    week = last_finished_week(None, TZ)
    moment = week_moment(week, TZ)
    start, end = history.week_bounds(week, TZ)
    with db.reader() as s:
        report = week_report(s, Viewer.system(), week, tz=TZ)
        wall = read_screen_at(s, Viewer.system(), moment, tz=TZ, database=db)
        direct = indicators.total(s, true(), start, end, now=end, history=True)
        tickets = s.execute(select(T.id, T.created_at, T.closed_at, T.handle_due_at, T.status)).all()
        last: dict[int, tuple] = {}
        for tid, at, eid, to in s.execute(
            select(TicketEvent.ticket_id, TicketEvent.at, TicketEvent.id, TicketEvent.to_status).where(
                TicketEvent.at < end
            )
        ):
            if to is not None and (tid not in last or (at, eid) > last[tid][:2]):
                last[tid] = (at, eid, to)
    assert report.district.this.as_dict() == pytest.approx(direct.as_dict())  # PG may sum in parallel
    opened = overdue = reported = 0
    for tid, created, closed, due, _status in tickets:
        reported += start <= created < end
        if created >= end or (closed is not None and closed < end) or tid not in last:
            continue
        then = last[tid][2]
        opened += then in OPEN_STATUSES
        overdue += then in WORKING_STATUSES and due is not None and due < end
    assert reported > 50 and opened > 0
    assert (report.district.this.reported, report.district.this.open_now) == (reported, opened)
    assert report.district.this.overdue_now == overdue
    assert (wall.kpis.open_now, wall.kpis.overdue_now) == (opened, overdue)
    assert sum(wall.grids.open_now) <= opened  # grid 0 (no grid) is not on the map
    assert sum(r.this.reported for r in report.streets) <= reported
    assert wall.kpis.on_time_7d.num == report.district.this.closed_on_time
    assert wall.kpis.on_time_7d.den == report.district.this.should_close


def test_a_stored_week_is_recomputed_after_an_older_event_arrives(db, district, cases):
    """grid_history keeps a week's end; a ticket imported later with a time inside that week (an
    event older than the moment, written after it was computed) makes the week recomputed."""
    from data.history import week_moment
    from data.history_stats import GridHistory, rows_at

    g, _ = cases
    moment = week_moment("2026-W45", TZ, now=NOW)
    with db.reader() as s:
        before = rows_at(db, s, moment.at, TZ, keep=True)[g]["open_now"]
    with db.reader() as s:
        assert rows_at(db, s, moment.at, TZ, keep=True)[g]["open_now"] == before  # from the table
        stamp = s.query(GridHistory.computed_at).filter(GridHistory.at == moment.at).first()[0]
    with db.session() as s:
        new_ticket(s, g, at=T0 + 30 * H)  # reported inside W45, written now
    with db.reader() as s:
        assert rows_at(db, s, moment.at, TZ, keep=True)[g]["open_now"] == before + 1
    with db.reader() as s:
        assert s.query(GridHistory.computed_at).filter(GridHistory.at == moment.at).first()[0] > stamp


def test_the_weekly_chart_is_data_indicators_per_week(db, cases):
    """The drill-down's twelve weeks (one pass over the measures for every week not in memory)
    equal data.indicators.total week by week, read fresh and again from memory."""
    from data.clock import day_start
    from data.read.directory import directory
    from data.read.regions import weekly

    with db.reader() as s:
        district_region = directory(s).district()
        first = weekly(s, Viewer.system(), district_region, now=NOW, tz=TZ, weeks=6)
        again = weekly(s, Viewer.system(), district_region, now=NOW, tz=TZ, weeks=6)
        expected = []
        for day in first.weeks:
            start, end = day_start(day, TZ), min(day_start(day + timedelta(days=7), TZ), NOW)
            ind = indicators.total(s, true(), start, end, now=end)
            rate = None if ind.on_time_rate is None else round(ind.on_time_rate, 4)
            expected.append((ind.reported, ind.closed, rate))
    assert list(zip(first.reported, first.closed, first.on_time, strict=True)) == expected
    assert again == first
    assert sum(first.reported) == 7 and (6, 3, 0.5) in expected  # W45: six reports, C due and open


def test_a_supervisors_wall_of_the_past_is_their_area(db, district, cases):
    from data.history import week_moment
    from data.read.history import read_screen_at

    g, _ = cases
    moment = week_moment("2026-W45", TZ, now=NOW)
    with db.reader() as s:
        home = s.get(Region, g).parent_id
        foreign = next(c.id for c in s.query(Region).filter(Region.level == "community") if c.id != home)
        mine = read_screen_at(s, Viewer(role="supervisor", region_id=home), moment, tz=TZ, database=db)
        theirs = read_screen_at(s, Viewer(role="supervisor", region_id=foreign), moment, tz=TZ, database=db)
        own_codes = {r.code for r in s.query(Region).filter(Region.parent_id == home, Region.level == "grid")}
    assert (mine.kpis.open_now, mine.kpis.overdue_now) == (2, 1) and set(mine.grids.codes) == own_codes
    assert (theirs.kpis.open_now, theirs.kpis.overdue_now, len(theirs.feed), theirs.overdue_points["id"]) == (
        0,
        0,
        0,
        [],
    )
