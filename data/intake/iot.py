"""IoT alarms: an alarm type maps to a category (GCC_IOT_ALARM_CATEGORIES), and a device's
repeated alarm within GCC_IOT_REPEAT_MINUTES updates the open ticket its first alarm opened
instead of flooding the queue."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from data import workflow
from data.access import Viewer
from data.intake.models import Report
from data.intake.transaction import IntakeError, Outcome, notice
from data.intake_tables import IotAlarmState
from data.models import OPEN_STATUSES, Ticket
from data.settings import Settings


def category_code(settings: Settings, report: Report) -> str:
    table = settings.gcc_iot_alarm_categories
    code = table.get(f"{report.device_id}/{report.alarm_type}") or table.get(report.alarm_type)
    if code is None:
        raise IntakeError("unknown_alarm_type", f"alarm type {report.alarm_type!r} is not in the alarm table")
    return code


def lock_state(session: Session, report: Report) -> IotAlarmState | None:
    """The device's alarm state, locked until commit (None: its first alarm)."""
    return session.get(IotAlarmState, (report.device_id, report.alarm_type), with_for_update=True)


def repeat(
    session: Session, settings: Settings, actor: Viewer, report: Report, state: IotAlarmState | None, now: datetime
) -> Outcome | None:
    """If this device's alarm of this type opened a ticket that is still open and last alarmed
    less than the window ago, add the alarm to it (a comment event) and return it."""
    if state is None or now - state.last_at > timedelta(minutes=settings.gcc_iot_repeat_minutes):
        return None
    ticket = session.get(Ticket, state.ticket_id)
    if ticket is None or ticket.status not in OPEN_STATUSES:
        return None
    state.alarms += 1
    state.last_at = now
    # The event says which device alarmed again as codes (the dashboard words them:
    # dashboard.labels.event_note); the note is the alarm's own text, if any.
    alarm = {"device_id": report.device_id, "alarm_type": report.alarm_type, "alarms": state.alarms}
    given = workflow.ActionInput("comment", note=report.description or None, at=now, data={"repeat_alarm": alarm})
    event = workflow.apply(session, Viewer.system(actor.name), ticket.id, given)
    return Outcome(
        ticket_id=ticket.id,
        token=ticket.public_token,
        created=False,
        repeat_alarm=True,
        event_id=event.id,
        notices=[notice("repeat_alarm", ticket_id=ticket.id, alarms=state.alarms)],
    )


def remember(session: Session, report: Report, state: IotAlarmState | None, ticket_id: int, now: datetime) -> None:
    """Point the device's alarm at its new ticket. `state` is the row read (and locked) before
    the ticket was made; None means there was none, and a concurrent first alarm that inserts it
    first makes our insert fail, so the whole submission retries and finds that alarm's ticket
    (in READ COMMITTED a second read here could already see the other one's row: never re-read)."""
    if state is None:
        session.add(
            IotAlarmState(
                device_id=report.device_id,
                alarm_type=report.alarm_type,
                ticket_id=ticket_id,
                first_at=now,
                last_at=now,
                alarms=1,
            )
        )
    else:
        state.ticket_id, state.first_at, state.last_at, state.alarms = ticket_id, now, now, 1
    session.flush()  # a concurrent first alarm of the same device fails here and retries
