"""The intake service against a real database: placement, coordinates, duplicates, IoT alarms,
idempotency, external ids, actions with photos, ratings, rate limits and API keys."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from data import apikeys, intake, photos, ratelimit, workflow
from data.access import AccessDenied, Viewer
from data.clock import utcnow
from data.duplicates import distance_m, suggestions_for
from data.idempotency import IdempotencyConflict
from data.intake_tables import DuplicateSuggestion, UploadedPhoto
from data.models import Ticket, TicketEvent
from geo.coords import from_wgs84
from tests.helpers import DESK, assignee_viewer, grid_point

RESIDENT = Viewer(role="resident", name="居民")


def jpeg(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, "JPEG")
    return out.getvalue()


def clean(raw: bytes) -> photos.CleanPhoto:
    return photos.clean(raw, max_bytes=10_000_000, max_pixels=40_000_000)


def report(db, district, **kw) -> intake.Report:
    with db.reader() as s:
        lon, lat = grid_point(s, district.grid_ids[kw.pop("grid", 0)])
    return intake.Report(**{"category": "0101", "description": "垃圾堆积", "lon": lon, "lat": lat, **kw})


def count(db, model) -> int:
    with db.reader() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_report_is_placed_in_its_grid(db, settings, district):
    out = intake.submit(db, settings, intake.Caller(RESIDENT), report(db, district, grid=3))
    with db.reader() as s:
        ticket = s.get(Ticket, out.ticket_id)
        assert ticket.grid_id == district.grid_ids[3]
        assert ticket.status == "reported" and ticket.source == "resident"
        assert ticket.public_token == out.token
        assert [e.action for e in ticket.events] == ["report"]


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_chinese_map_coordinates_are_stored_as_wgs84(db, settings, district, system):
    with db.reader() as s:
        lon, lat = grid_point(s, district.grid_ids[5])
    x, y = from_wgs84(lon, lat, system)
    out = intake.submit(
        db,
        settings,
        intake.Caller(RESIDENT),
        intake.Report(category="0101", lon=float(x), lat=float(y), coord_system=system),
    )
    with db.reader() as s:
        ticket = s.get(Ticket, out.ticket_id)
        assert distance_m(ticket.lon, ticket.lat, lon, lat) < 0.5
        assert ticket.grid_id == district.grid_ids[5]


def test_point_outside_every_grid_goes_to_the_unassigned_queue(db, settings, district):
    out = intake.submit(db, settings, intake.Caller(RESIDENT), intake.Report(category="0101", lon=10.0, lat=10.0))
    with db.reader() as s:
        ticket = s.get(Ticket, out.ticket_id)
        assert ticket.grid_id is None and ticket.location_match == "unassigned"
    assert {"code": "outside_grids"} in out.notices  # words: dashboard.labels "notice.outside_grids"


def test_unknown_category_and_missing_category_are_refused(db, settings, district):
    with pytest.raises(intake.IntakeError) as e:
        intake.submit(db, settings, intake.Caller(RESIDENT), report(db, district, category="01"))  # a 大类
    assert e.value.code == "unknown_category"
    with pytest.raises(intake.IntakeError) as e:
        intake.submit(db, settings, intake.Caller(RESIDENT), report(db, district, category=None))
    assert e.value.code == "category_required"
    assert count(db, Ticket) == 0


def test_same_category_nearby_is_suggested_as_duplicate(db, settings, district):
    first = intake.submit(db, settings, intake.Caller(RESIDENT), report(db, district))
    second = intake.submit(db, settings, intake.Caller(RESIDENT), report(db, district, description="又有垃圾"))
    assert [d["ticket_id"] for d in second.duplicates] == [first.ticket_id]
    assert second.duplicates[0]["distance_m"] == 0.0
    other_category = intake.submit(db, settings, intake.Caller(RESIDENT), report(db, district, category="0201"))
    assert other_category.duplicates == []
    with db.reader() as s:
        assert [x["ticket_id"] for x in suggestions_for(s, DESK, second.ticket_id)] == [first.ticket_id]
        assert suggestions_for(s, Viewer.anonymous(), second.ticket_id) == []
    # The desk links it: a duplicate is no longer open and is not suggested again.
    with db.session() as s:
        workflow.apply(s, DESK, second.ticket_id, workflow.ActionInput("mark_duplicate", duplicate_of=first.ticket_id))
        assert s.get(Ticket, second.ticket_id).status == "duplicate"
    third = intake.submit(db, settings, intake.Caller(RESIDENT), report(db, district))
    assert [d["ticket_id"] for d in third.duplicates] == [first.ticket_id]


def test_duplicates_respect_radius_and_window(db, settings, district):
    base = report(db, district)
    old = intake.submit(db, settings, intake.Caller(RESIDENT), base, now=utcnow() - timedelta(hours=25))
    assert old.ticket_id
    # ~80 m north: outside the default 50 m.
    far = base.model_copy(update={"lat": base.lat + 80 / 111_195})
    intake.submit(db, settings, intake.Caller(RESIDENT), far)
    near = intake.submit(db, settings, intake.Caller(RESIDENT), base)
    assert near.duplicates == []  # the old one is outside 24 h, the other outside 50 m
    wide = settings.model_copy(update={"gcc_duplicate_radius_m": 100.0, "gcc_duplicate_hours": 48.0})
    again = intake.submit(db, wide, intake.Caller(RESIDENT), base)
    assert len(again.duplicates) == 3
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(DuplicateSuggestion)) == 3


def test_repeated_iot_alarms_update_one_ticket(db, settings, district):
    alarm = report(db, district, category=None, source="iot", device_id="MH-0017", alarm_type="manhole_displaced")
    first = intake.submit(db, settings, intake.Caller(Viewer.system("物联平台")), alarm)
    assert first.created and not first.repeat_alarm
    second = intake.submit(db, settings, intake.Caller(Viewer.system("物联平台")), alarm)
    third = intake.submit(db, settings, intake.Caller(Viewer.system("物联平台")), alarm)
    assert (second.ticket_id, third.ticket_id) == (first.ticket_id, first.ticket_id)
    assert second.repeat_alarm and not second.created
    other_type = alarm.model_copy(update={"alarm_type": "pm25"})
    assert intake.submit(db, settings, intake.Caller(Viewer.system()), other_type).ticket_id != first.ticket_id
    with db.reader() as s:
        ticket = s.get(Ticket, first.ticket_id)
        assert ticket.category.code == "0602"  # from the alarm table
        assert [e.action for e in ticket.events] == ["report", "comment", "comment"]
        assert ticket.events[-1].data["repeat_alarm"]["alarms"] == 3  # worded by dashboard.labels.event_note
    # After the window, or once the ticket is closed, an alarm opens a new ticket.
    later = intake.submit(db, settings, intake.Caller(Viewer.system()), alarm, now=utcnow() + timedelta(minutes=61))
    assert later.created and later.ticket_id != first.ticket_id


def test_iot_alarm_table_per_device_and_unknown_types(db, settings, district):
    table = {**settings.gcc_iot_alarm_categories, "MH-9/pm25": "0102"}
    custom = settings.model_copy(update={"gcc_iot_alarm_categories": table})
    alarm = report(db, district, category=None, source="iot", device_id="MH-9", alarm_type="pm25")
    out = intake.submit(db, custom, intake.Caller(Viewer.system()), alarm)
    with db.reader() as s:
        assert s.get(Ticket, out.ticket_id).category.code == "0102"
    with pytest.raises(intake.IntakeError) as e:
        intake.submit(db, custom, intake.Caller(Viewer.system()), alarm.model_copy(update={"alarm_type": "ufo"}))
    assert e.value.code == "unknown_alarm_type"
    with pytest.raises(intake.IntakeError) as e:
        intake.submit(db, custom, intake.Caller(Viewer.system()), alarm.model_copy(update={"device_id": None}))
    assert e.value.code == "iot_needs_device"


def test_idempotency_key_replays_and_refuses_a_different_body(db, settings, district):
    body = report(db, district)
    a = intake.submit(db, settings, intake.Caller(RESIDENT, scope="key:1", idempotency_key="abc-1"), body)
    b = intake.submit(db, settings, intake.Caller(RESIDENT, scope="key:1", idempotency_key="abc-1"), body)
    assert b.ticket_id == a.ticket_id and b.replayed and not b.created
    with pytest.raises(IdempotencyConflict):
        intake.submit(
            db,
            settings,
            intake.Caller(RESIDENT, scope="key:1", idempotency_key="abc-1"),
            body.model_copy(update={"description": "x"}),
        )
    # Another client's identical key is its own.
    c = intake.submit(db, settings, intake.Caller(RESIDENT, scope="key:2", idempotency_key="abc-1"), body)
    assert c.ticket_id != a.ticket_id
    assert count(db, Ticket) == 2


def test_external_id_is_unique_per_source(db, settings, district):
    intake.submit(
        db, settings, intake.Caller(RESIDENT, default_source="hotline"), report(db, district, external_id="12345-001")
    )
    with pytest.raises(intake.IntakeError) as e:
        intake.submit(
            db,
            settings,
            intake.Caller(RESIDENT, default_source="hotline"),
            report(db, district, external_id="12345-001"),
        )
    assert e.value.status == 409
    intake.submit(db, settings, intake.Caller(RESIDENT), report(db, district, external_id="12345-001"))  # other source


def test_external_ids_of_imported_systems_are_their_own(db, settings, district):
    """Imported tickets are known by (system, external_id) (python app.py import-tickets --system);
    tickets made here have no system and stay unique per channel, in the database too."""
    from sqlalchemy.exc import IntegrityError

    from tests.helpers import new_ticket

    with db.session() as s:
        imported = new_ticket(s, district.grid_ids[0], source="hotline", external_id="GD-7")
        imported.system = "12345"
    out = intake.submit(
        db, settings, intake.Caller(RESIDENT, default_source="hotline"), report(db, district, external_id="GD-7")
    )
    with db.reader() as s:
        made_here = s.get(Ticket, out.ticket_id)
        assert (made_here.system, made_here.source, made_here.external_id) == (None, "hotline", "GD-7")
    with pytest.raises(intake.IntakeError):
        intake.submit(
            db, settings, intake.Caller(RESIDENT, default_source="hotline"), report(db, district, external_id="GD-7")
        )
    with pytest.raises(IntegrityError), db.session() as s:  # the partial unique index, not only the check
        new_ticket(s, district.grid_ids[1], source="hotline", external_id="GD-7")


def test_photos_are_stored_recorded_and_visible_only_to_who_may_see_the_ticket(db, settings, district):
    out = intake.submit(
        db, settings, intake.Caller(RESIDENT), report(db, district), uploads=[clean(jpeg()), clean(jpeg())]
    )
    with db.reader() as s:
        ticket = s.get(Ticket, out.ticket_id)
        assert len(ticket.photos) == 2
        ref = ticket.photos[0]
        assert s.get(UploadedPhoto, ref).stage == "report"
        assert photos.resolve(settings, ref).is_file()
        assert photos.visible_ticket(s, DESK, ref) is not None
        assert photos.visible_ticket(s, Viewer(role="resident", ticket_token=out.token), ref) is not None
        assert photos.visible_ticket(s, Viewer(role="resident", ticket_token="x" * 16), ref) is None
        assert photos.visible_ticket(s, Viewer.anonymous(), ref) is None
    assert not (settings.gcc_instance_dir / "photos" / ref).is_relative_to(settings.gcc_instance_dir / "static")


def test_too_many_photos_stores_nothing(db, settings, district):
    with pytest.raises(intake.IntakeError) as e:
        intake.submit(db, settings, intake.Caller(RESIDENT), report(db, district), uploads=[clean(jpeg())] * 10)
    assert e.value.code == "too_many_photos"
    assert count(db, Ticket) == 0
    assert not (settings.gcc_instance_dir / "photos" / "u").exists()


def test_a_failed_submission_leaves_no_photo_file(db, settings, district):
    with pytest.raises(intake.IntakeError):
        intake.submit(
            db, settings, intake.Caller(RESIDENT), report(db, district, category="9999"), uploads=[clean(jpeg())]
        )
    files = (
        list((settings.gcc_instance_dir / "photos").rglob("*.jpg"))
        if (settings.gcc_instance_dir / "photos").exists()
        else []
    )
    assert files == []


def test_field_worker_accepts_and_handles_with_a_photo(db, settings, district):
    out = intake.submit(db, settings, intake.Caller(RESIDENT), report(db, district))
    with db.session() as s:
        workflow.apply(s, DESK, out.ticket_id, workflow.ActionInput("accept"))
        workflow.apply(s, DESK, out.ticket_id, workflow.ActionInput("dispatch"))
        worker = assignee_viewer(s, s.get(Ticket, out.ticket_id))
    intake.act(db, settings, intake.Caller(worker), out.ticket_id, intake.Action(action="respond"))
    with pytest.raises(workflow.WorkflowError):
        intake.act(db, settings, intake.Caller(worker), out.ticket_id, intake.Action(action="handle", note="无照片"))
    intake.act(
        db,
        settings,
        intake.Caller(worker),
        out.ticket_id,
        intake.Action(action="handle", note="已清理"),
        uploads=[clean(jpeg())],
    )
    with db.reader() as s:
        ticket = s.get(Ticket, out.ticket_id)
        assert ticket.status == "handled" and len(ticket.photos) == 1
        assert s.get(UploadedPhoto, ticket.photos[0]).stage == "result"
    stranger = Viewer(role="grid_worker", staff_id=999999)
    with pytest.raises(AccessDenied):
        intake.act(db, settings, intake.Caller(stranger), out.ticket_id, intake.Action(action="comment", note="x"))


def test_rating_and_reopen_by_the_residents_token(db, settings, district):
    out = intake.submit(db, settings, intake.Caller(RESIDENT), report(db, district))
    with db.session() as s:
        for action in ("accept", "dispatch"):
            workflow.apply(s, DESK, out.ticket_id, workflow.ActionInput(action))
        worker = assignee_viewer(s, s.get(Ticket, out.ticket_id))
        workflow.apply(s, worker, out.ticket_id, workflow.ActionInput("respond"))
        workflow.apply(s, worker, out.ticket_id, workflow.ActionInput("handle", photos=["demo/site-1.jpg"]))
        workflow.apply(s, DESK, out.ticket_id, workflow.ActionInput("verify_close"))
    with pytest.raises(AccessDenied):  # another ticket's token
        intake.rate(
            db,
            settings,
            intake.Caller(Viewer.anonymous()),
            out.ticket_id,
            intake.RatingIn(rating="basic", token="Z" * 16),
        )
    rating = intake.RatingIn(rating="unsatisfied", comment="没修好", reopen=True, token=out.token)
    intake.rate(db, settings, intake.Caller(Viewer.anonymous()), out.ticket_id, rating)
    with db.reader() as s:
        ticket = s.get(Ticket, out.ticket_id)
        assert ticket.rating == "unsatisfied" and ticket.status == "dispatched"
        actions = [e.action for e in s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))]
        assert actions[-2:] == ["rate", "reopen"]
    with pytest.raises(ValueError):
        intake.RatingIn(rating="satisfied", reopen=True)


def test_rate_limits_count_per_client_and_globally(db):
    limits = lambda ip: [  # noqa: E731
        ratelimit.Limit(f"t:client:{ip}", 3, 60),
        ratelimit.Limit("t:global", 5, 60),
    ]
    now = 1_000_020.0
    verdicts = [ratelimit.hit(db, limits("a"), now=now).allowed for _ in range(4)]
    assert verdicts == [True, True, True, False]
    # a's refused hit did not use up the global allowance: 3 so far.
    assert ratelimit.hit(db, limits("b"), now=now).allowed  # global 4th
    assert ratelimit.hit(db, limits("c"), now=now).allowed  # global 5th
    refused = ratelimit.hit(db, limits("d"), now=now)  # global 6th
    assert not refused.allowed and refused.bucket == "t:global" and 1 <= refused.retry_after <= 60
    assert ratelimit.hit(db, limits("a"), now=now + 60).allowed  # the next window


def test_api_keys_are_stored_hashed_and_can_be_revoked(db):
    with db.session() as s:
        key = apikeys.create(s, "12345热线", role="dispatcher", source="hotline")
    with db.reader() as s:
        rows = apikeys.listing(s)
        assert [r.name for r in rows] == ["12345热线"]
        assert key not in (rows[0].key_hash, rows[0].prefix) and rows[0].key_hash == apikeys.hash_key(key)
        client = apikeys.authenticate(s, key)
        assert client.viewer.role == "dispatcher" and client.source == "hotline"
        assert apikeys.authenticate(s, key + "x") is None
    with db.session() as s, pytest.raises(apikeys.ApiKeyError):
        apikeys.create(s, "12345热线")
    with db.session() as s:
        assert apikeys.revoke(s, "12345热线")
        assert not apikeys.revoke(s, "12345热线")
    with db.reader() as s:
        assert apikeys.authenticate(s, key) is None
    with db.session() as s:
        apikeys.create(s, "12345热线")  # the name is free again


def test_old_idempotency_keys_can_be_pruned(db, settings, district):
    from data import idempotency

    body = report(db, district)
    first = intake.submit(db, settings, intake.Caller(RESIDENT, scope="key:1", idempotency_key="old"), body)
    with db.session() as s:
        assert idempotency.prune(s, utcnow() - timedelta(hours=1)) == 0
        assert idempotency.prune(s, utcnow() + timedelta(seconds=1)) == 1
    again = intake.submit(db, settings, intake.Caller(RESIDENT, scope="key:1", idempotency_key="old"), body)
    assert again.ticket_id != first.ticket_id and again.created
