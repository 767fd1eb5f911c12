"""The 6-hour rule and overdue escalation: each escalation happens once, as one event."""

import threading
from datetime import timedelta

from sqlalchemy import func, select

from data import escalation, workflow
from data.models import Escalation, GridTeam, Ticket, TicketEvent
from tests.helpers import DESK, T0, assignee_viewer, grid_with_property, new_ticket


def dispatched_leak(s, grid_id, at=T0):
    t = new_ticket(s, grid_id, "漏水", at=at)  # property matter: 6 h to respond, 48 h to handle
    workflow.apply(s, DESK, t.id, workflow.ActionInput("accept", at=at))
    workflow.apply(s, DESK, t.id, workflow.ActionInput("dispatch", at=at))
    return t


def escalation_events(s, ticket_id):
    return s.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.action == "escalate")
    ).all()


def test_property_company_silent_for_six_hours_escalates_to_community(db, district):
    with db.session() as s:
        t = dispatched_leak(s, grid_with_property(s))
        assert t.assignee_org_id is not None
    with db.session() as s:
        assert escalation.sweep(s, now=T0 + timedelta(hours=5, minutes=59)).response_escalations == 0
    with db.session() as s:
        result = escalation.sweep(s, now=T0 + timedelta(hours=6, minutes=1))
        assert result.response_escalations == 1
    with db.session() as s:
        assert escalation.sweep(s, now=T0 + timedelta(hours=7)).response_escalations == 0  # never twice
        t = s.get(Ticket, t.id)
        assert t.escalation_level == 1
        (event,) = escalation_events(s, t.id)
        assert event.data["to"] == "community" and event.actor_role == "system"


def test_responding_in_time_prevents_escalation(db, district):
    with db.session() as s:
        t = dispatched_leak(s, grid_with_property(s))
        workflow.apply(s, assignee_viewer(s, t), t.id, workflow.ActionInput("respond", at=T0 + timedelta(hours=5)))
    with db.session() as s:
        assert escalation.sweep(s, now=T0 + timedelta(hours=10)).response_escalations == 0


def test_past_handling_limit_is_overdue_and_escalates_to_street_once(db, district):
    with db.session() as s:
        t = dispatched_leak(s, grid_with_property(s))
        workflow.apply(s, assignee_viewer(s, t), t.id, workflow.ActionInput("respond", at=T0 + timedelta(hours=1)))
    with db.session() as s:
        r = escalation.sweep(s, now=T0 + timedelta(hours=49))
        assert (r.overdue_flagged, r.handling_escalations) == (1, 1)
    with db.session() as s:
        r = escalation.sweep(s, now=T0 + timedelta(hours=60))
        assert (r.overdue_flagged, r.handling_escalations) == (0, 0)
        t = s.get(Ticket, t.id)
        assert t.overdue and t.escalation_level == 2
        assert [e.data["to"] for e in escalation_events(s, t.id)] == ["street"]


def test_closed_orders_are_never_escalated(db, district):
    from tests.helpers import run_loop

    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0], "漏水")
        run_loop(s, t.id, T0)
    with db.session() as s:
        r = escalation.sweep(s, now=T0 + timedelta(days=30))
        assert r.summary() == {"escalated_to_community": 0, "escalated_to_street": 0, "newly_overdue": 0}


def test_concurrent_sweeps_escalate_each_ticket_once(db, district):
    with db.session() as s:
        g = grid_with_property(s) or district.grid_ids[0]
        team = s.get(GridTeam, g)
        team.property_company_id = team.property_company_id or district.property_of[g]
        ids = [dispatched_leak(s, g).id for _ in range(20)]
    now = T0 + timedelta(hours=50)
    results, errors = [], []

    def run():
        try:
            with db.session() as s:
                results.append(escalation.sweep(s, now=now))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    with db.reader() as s:
        assert s.scalar(select(func.count(Escalation.id))) == 40  # 20 to the community, 20 to the street
        per_ticket = s.execute(
            select(TicketEvent.ticket_id, func.count())
            .where(TicketEvent.action == "escalate")
            .group_by(TicketEvent.ticket_id)
        ).all()
        assert sorted(n for _, n in per_ticket) == [2] * 20
        assert {tid for tid, _ in per_ticket} == set(ids)
