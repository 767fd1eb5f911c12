"""The closed loop as a state machine: each transition, its roles, refusals that change nothing."""

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from data import workflow
from data.access import AccessDenied, Viewer
from data.models import GridTeam, Rating, Ticket, TicketEvent
from tests.helpers import DESK, T0, assignee_viewer, grid_with_property, grid_without_property, new_ticket, run_loop


def events(session, ticket_id):
    return session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)).all()


def test_full_loop_writes_one_event_per_step(db, district):
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0])
        run_loop(s, t.id, T0)
        t = s.get(Ticket, t.id)
        assert t.status == "rated" and t.rating == "satisfied"
        assert [e.action for e in events(s, t.id)] == [
            "report",
            "accept",
            "dispatch",
            "respond",
            "handle",
            "verify_close",
            "rate",
        ]
        chain = events(s, t.id)
        for before, after in itertools.pairwise(chain):
            assert after.from_status == before.to_status  # the history is a connected path
        assert t.closed_at - t.dispatched_at == timedelta(hours=6)
        assert s.scalar(select(func.count(Rating.id))) == 1


@pytest.mark.parametrize(
    ("action", "kwargs"),
    [
        ("dispatch", {}),
        ("respond", {}),
        ("handle", {"photos": ["x.jpg"]}),
        ("verify_close", {}),
        ("rate", {"rating": "satisfied"}),
    ],
)
def test_out_of_order_actions_are_refused_and_change_nothing(db, district, action, kwargs):
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0])
        before = (t.status, t.updated_at, len(events(s, t.id)))
    with pytest.raises(workflow.WorkflowError) as err, db.session() as s:
        workflow.apply(s, Viewer(role="admin"), t.id, workflow.ActionInput(action, **kwargs))
    assert err.value.code == "invalid_state"
    with db.reader() as s:
        t2 = s.get(Ticket, t.id)
        assert (t2.status, t2.updated_at, len(events(s, t.id))) == before


def test_roles_are_checked_per_transition(db, district):
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0])
    worker = Viewer(
        role="grid_worker", region_id=district.grid_ids[0], staff_id=district.worker_of[district.grid_ids[0]]
    )
    with pytest.raises(AccessDenied), db.session() as s:
        workflow.apply(s, worker, t.id, workflow.ActionInput("accept"))  # a grid worker cannot 立案
    with pytest.raises(AccessDenied), db.session() as s:
        workflow.apply(
            s, Viewer(role="resident", ticket_token="wrong"), t.id, workflow.ActionInput("rate", rating="satisfied")
        )
    with db.reader() as s:
        assert s.get(Ticket, t.id).status == "reported"


def test_only_the_assignee_may_respond(db, district):
    g = district.grid_ids[0]
    with db.session() as s:
        s.get(GridTeam, g).property_company_id = None
        t = new_ticket(s, g)
        workflow.apply(s, DESK, t.id, workflow.ActionInput("accept", at=T0))
        workflow.apply(s, DESK, t.id, workflow.ActionInput("dispatch", at=T0))
    other_worker = district.worker_of[district.grid_ids[1]]
    with pytest.raises(AccessDenied), db.session() as s:
        workflow.apply(
            s, Viewer(role="grid_worker", staff_id=other_worker, region_id=g), t.id, workflow.ActionInput("respond")
        )
    with db.session() as s:
        workflow.apply(
            s, Viewer(role="grid_worker", staff_id=district.worker_of[g]), t.id, workflow.ActionInput("respond")
        )
        assert s.get(Ticket, t.id).status == "in_progress"


def test_supervisor_of_another_community_cannot_see_or_act(db, district):
    g = district.grid_ids[0]
    other_community = next(c for c in set(district.community_of.values()) if c != district.community_of[g])
    with db.session() as s:
        t = new_ticket(s, g)
    outsider = Viewer(role="supervisor", region_id=other_community)
    with pytest.raises(AccessDenied), db.session() as s:
        workflow.apply(s, outsider, t.id, workflow.ActionInput("accept"))
    insider = Viewer(role="supervisor", region_id=district.community_of[g])
    with db.session() as s:
        workflow.apply(s, insider, t.id, workflow.ActionInput("accept"))


def test_auto_dispatch_property_matter_goes_to_property_company(db, district):
    with db.session() as s:
        g = grid_with_property(s)
        team = s.get(GridTeam, g)
        leak = new_ticket(s, g, "漏水")  # a property matter
        litter = new_ticket(s, g, "暴露垃圾")  # not one
        for t in (leak, litter):
            workflow.apply(s, DESK, t.id, workflow.ActionInput("accept"))
            workflow.apply(s, DESK, t.id, workflow.ActionInput("dispatch"))
        assert (leak.assignee_org_id, leak.assignee_staff_id) == (team.property_company_id, None)
        assert (litter.assignee_staff_id, litter.assignee_org_id) == (team.grid_worker_id, None)


def test_property_matter_without_property_company_goes_to_grid_worker(db, district):
    with db.session() as s:
        g = grid_without_property(s) or district.grid_ids[0]
        s.get(GridTeam, g).property_company_id = None
        t = new_ticket(s, g, "漏水")
        workflow.apply(s, DESK, t.id, workflow.ActionInput("accept"))
        workflow.apply(s, DESK, t.id, workflow.ActionInput("dispatch"))
        assert t.assignee_staff_id == district.worker_of[g]


def test_deadlines_start_at_dispatch(db, district):
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0], "漏水")  # 6 h response, 48 h handling
        workflow.apply(s, DESK, t.id, workflow.ActionInput("accept", at=T0))
        workflow.apply(s, DESK, t.id, workflow.ActionInput("dispatch", at=T0 + timedelta(hours=1)))
        assert t.response_due_at == T0 + timedelta(hours=7)
        assert t.handle_due_at == T0 + timedelta(hours=49)


def test_reject_needs_a_reason_and_duplicate_needs_the_original(db, district):
    with db.session() as s:
        a = new_ticket(s, district.grid_ids[0])
        b = new_ticket(s, district.grid_ids[0])
    with pytest.raises(workflow.WorkflowError, match="reason"), db.session() as s:
        workflow.apply(s, DESK, a.id, workflow.ActionInput("reject"))
    with pytest.raises(workflow.WorkflowError), db.session() as s:
        workflow.apply(s, DESK, b.id, workflow.ActionInput("mark_duplicate", duplicate_of=b.id))
    with db.session() as s:
        workflow.apply(s, DESK, a.id, workflow.ActionInput("reject", note="不属于受理范围"))
        workflow.apply(s, DESK, b.id, workflow.ActionInput("mark_duplicate", duplicate_of=a.id))
        assert s.get(Ticket, b.id).duplicate_of_id == a.id


def test_handle_needs_a_photo_and_send_back_counts_rework(db, district):
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0])
        run_loop(s, t.id, T0, handle_after=None, close_after=None)
        actor = assignee_viewer(s, s.get(Ticket, t.id))
    with pytest.raises(workflow.WorkflowError, match="photo"), db.session() as s:
        workflow.apply(s, actor, t.id, workflow.ActionInput("handle", note="done"))
    with db.session() as s:
        workflow.apply(s, actor, t.id, workflow.ActionInput("handle", photos=["p.jpg"]))
        workflow.apply(s, DESK, t.id, workflow.ActionInput("send_back", note="未处理到位"))
        workflow.apply(s, actor, t.id, workflow.ActionInput("handle", photos=["p2.jpg"]))
        workflow.apply(s, DESK, t.id, workflow.ActionInput("verify_close"))
        t = s.get(Ticket, t.id)
        assert t.rework_count == 1 and t.status == "closed"


def test_unsatisfied_rating_can_reopen_satisfied_cannot(db, district):
    with db.session() as s:
        a = new_ticket(s, district.grid_ids[0])
        b = new_ticket(s, district.grid_ids[0])
        run_loop(s, a.id, T0, rating="unsatisfied")
        run_loop(s, b.id, T0, rating="satisfied")
        token = s.get(Ticket, a.id).public_token
    with pytest.raises(workflow.WorkflowError), db.session() as s:
        workflow.apply(s, DESK, b.id, workflow.ActionInput("reopen"))
    with db.session() as s:
        workflow.apply(
            s,
            Viewer(role="resident", ticket_token=token),
            a.id,
            workflow.ActionInput("reopen", at=T0 + timedelta(days=2)),
        )
        a = s.get(Ticket, a.id)
        assert a.status == "dispatched" and a.closed_at is None
        assert a.handle_due_at > T0 + timedelta(days=2)


def test_suspend_stops_the_clock(db, district):
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0], "漏水")
        workflow.apply(s, DESK, t.id, workflow.ActionInput("accept", at=T0))
        workflow.apply(s, DESK, t.id, workflow.ActionInput("dispatch", at=T0))
        due = s.get(Ticket, t.id).handle_due_at
        workflow.apply(s, DESK, t.id, workflow.ActionInput("suspend", note="等待施工许可", at=T0 + timedelta(hours=2)))
        workflow.apply(s, DESK, t.id, workflow.ActionInput("resume", at=T0 + timedelta(hours=12)))
        t = s.get(Ticket, t.id)
        assert t.status == "dispatched"
        assert t.handle_due_at == due + timedelta(hours=10)


def test_manual_escalation_goes_community_then_street_then_stops(db, district):
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0])
        workflow.apply(s, DESK, t.id, workflow.ActionInput("accept"))
        workflow.apply(s, DESK, t.id, workflow.ActionInput("escalate", note="群众反映强烈"))
        workflow.apply(s, DESK, t.id, workflow.ActionInput("escalate", note="仍未处理"))
        assert s.get(Ticket, t.id).escalation_level == 2
        assert "escalate" not in workflow.allowed_actions(DESK, s.get(Ticket, t.id))
    with pytest.raises(workflow.WorkflowError), db.session() as s:
        workflow.apply(s, DESK, t.id, workflow.ActionInput("escalate", note="again"))


def test_relocate_reroutes_an_open_order_to_the_new_grids_team(db, district):
    from data.locate import locator
    from tests.helpers import grid_point

    a, b = district.grid_ids[0], district.grid_ids[1]
    with db.session() as s:
        s.get(GridTeam, a).property_company_id = None
        s.get(GridTeam, b).property_company_id = None
        t = new_ticket(s, a)
        workflow.apply(s, DESK, t.id, workflow.ActionInput("accept"))
        workflow.apply(s, DESK, t.id, workflow.ActionInput("dispatch"))
        lon, lat = grid_point(s, b)
        event = workflow.apply(
            s, DESK, t.id, workflow.ActionInput("relocate", lon=lon, lat=lat, placement=locator(s).place(lon, lat))
        )
        t = s.get(Ticket, t.id)
        assert t.grid_id == b and t.assignee_staff_id == district.worker_of[b]
        assert event.previous_grid_id == a and event.grid_id == b


def test_allowed_actions_match_apply(db, district):
    with db.session() as s:
        t = new_ticket(s, district.grid_ids[0])
        assert set(workflow.allowed_actions(DESK, t)) >= {"accept", "reject", "mark_duplicate", "relocate"}
        assert workflow.allowed_actions(Viewer(role="kiosk"), t) == []
        assert workflow.allowed_actions(Viewer.anonymous(), t) == []


def test_a_district_scope_sees_every_ticket_even_unplaced(db, district):
    from sqlalchemy import select

    from data.access import ticket_clause
    from data.models import Region
    from tests.helpers import category

    with db.session() as s:
        new_ticket(s, district.grid_ids[0])
        workflow.create(
            s, Viewer(role="resident"), workflow.Submission(source="hotline", category_id=category(s, "漏水").id)
        )
        root = s.scalars(select(Region.id).where(Region.level == "district")).one()
        street = s.get(Region, district.street_of[district.grid_ids[0]]).id
    with db.reader() as s:
        for role in ("dispatcher", "supervisor"):
            seen = s.scalars(select(Ticket.id).where(ticket_clause(Viewer(role=role, region_id=root)))).all()
            assert len(seen) == 2
        in_street = s.scalars(select(Ticket.id).where(ticket_clause(Viewer(role="supervisor", region_id=street))))
        assert len(in_street.all()) == 1
