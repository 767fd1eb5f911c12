"""Indicator formulas on hand-built cases with known answers."""

from datetime import timedelta

import pytest
from sqlalchemy import true

from data import escalation, indicators, workflow
from data.access import Viewer, ticket_clause
from data.models import GridTeam, Ticket
from tests.helpers import DESK, T0, new_ticket, run_loop

H = timedelta(hours=1)


@pytest.fixture
def cases(db, district):
    """In one grid, with 漏水 (48 h handling limit) dispatched at T0 + 0.2 h:
    A closed on time (6 h), rated 满意; B closed late (60 h), reworked once, rated 不满意;
    C due within the period and still open (overdue); D rejected; E reported only.
    F closed on time, rated 基本满意."""
    g = district.grid_ids[0]
    with db.session() as s:
        s.get(GridTeam, g).property_company_id = None
        a, b, c, d, _e, f = (new_ticket(s, g, "漏水", at=T0) for _ in range(6))
        run_loop(s, a.id, T0, rating="satisfied")
        run_loop(s, b.id, T0, handle_after=50, close_after=None)
        workflow.apply(s, DESK, b.id, workflow.ActionInput("send_back", note="返工", at=T0 + 55 * H))
        actor = Viewer(role="grid_worker", staff_id=district.worker_of[g])
        workflow.apply(s, actor, b.id, workflow.ActionInput("handle", photos=["p.jpg"], at=T0 + 58 * H))
        workflow.apply(s, DESK, b.id, workflow.ActionInput("verify_close", at=T0 + 60 * H))
        workflow.apply(s, DESK, b.id, workflow.ActionInput("rate", rating="unsatisfied", at=T0 + 61 * H))
        run_loop(s, c.id, T0, handle_after=None, close_after=None)
        workflow.apply(s, DESK, d.id, workflow.ActionInput("reject", note="非受理范围", at=T0 + H))
        run_loop(s, f.id, T0, respond_after=3, close_after=10, rating="basic")
    return g


def test_formulas(db, cases):
    start, end = T0 - 24 * H, T0 + 24 * 7 * H
    with db.reader() as s:
        ind = indicators.total(s, true(), start, end, now=end)
    assert ind.reported == 6
    assert ind.accepted == 4  # A B C F; D rejected, E never accepted
    assert ind.closed == 3  # A B F
    assert ind.closed_on_time == 2  # A F
    assert ind.due_unclosed == 1  # C
    assert ind.should_close == 4
    assert ind.closure_rate == pytest.approx(3 / 4)
    assert ind.on_time_rate == pytest.approx(2 / 4)
    assert ind.rework_rate == pytest.approx(1 / 3)
    assert ind.satisfaction_rate == pytest.approx(2 / 3)  # 满意 + 基本满意 over 3 ratings
    assert ind.overdue_now == 1  # C, past its 48 h limit at `end`
    assert ind.open_now == 2  # C and E
    # Response: A 1 h, B 1 h, C 1 h, F 3 h → mean 1.5 h. Handling to close: A 6 h, B 59.8 h, F 10 h.
    assert ind.mean_response_hours == pytest.approx(1.5)
    assert ind.mean_handling_hours == pytest.approx((6 + 59.8 + 10) / 3)


def test_period_boundaries(db, cases):
    with db.reader() as s:
        first_day = indicators.total(s, true(), T0, T0 + 24 * H, now=T0 + 24 * H)
    assert first_day.closed == 2  # A at 6.2 h, F at 10.2 h; B closes on day 3
    assert first_day.due_unclosed == 0  # nothing due on day one
    assert first_day.on_time_rate == pytest.approx(1.0)


def test_group_by_grid_and_scope(db, district, cases):
    other = district.grid_ids[1]
    with db.session() as s:
        new_ticket(s, other, at=T0)
    with db.reader() as s:
        rows = indicators.compute(s, true(), T0 - H, T0 + 200 * H, group_by=Ticket.grid_id, now=T0 + 200 * H)
        assert rows[cases].reported == 6 and rows[other].reported == 1
        scoped = indicators.total(s, ticket_clause(Viewer(role="grid_worker", region_id=other)), T0 - H, T0 + 200 * H)
        assert scoped.reported == 1


def test_ranking_needs_volume_and_carries_it():
    rows = {
        "G1": indicators.Indicators(closed=2, closed_on_time=2),
        "G2": indicators.Indicators(closed=40, closed_on_time=36, due_unclosed=2),
        "G3": indicators.Indicators(closed=30, closed_on_time=30),
    }
    ranked = indicators.ranking(rows, rate="on_time_rate", min_volume=10)
    assert [key for key, _, _ in ranked] == ["G3", "G2"]  # G1's 100 % from 2 orders is left out
    assert ranked[1] == ("G2", pytest.approx(36 / 42), 42)


def test_escalated_now_counts_open_escalated(db, cases):
    with db.session() as s:
        escalation.sweep(s, now=T0 + 100 * H)
    with db.reader() as s:
        ind = indicators.total(s, true(), T0, T0 + 200 * H, now=T0 + 100 * H)
    assert ind.escalated_now == 1  # C
