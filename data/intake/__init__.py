"""The intake: one path from a report, an action or a rating to the workflow, shared by /api/v1,
/open311/v2, the phone pages and the desk, so every way in behaves the same.

- models       what callers send (Report, Action, RatingIn; they also write the OpenAPI schemas)
- transaction  Caller, Outcome, IntakeError and `run`: one retried, idempotent write transaction;
               `notice(code, **values)`: what the submitter should know (words: dashboard.labels)
- reports      submit: a report becomes a ticket (placement, duplicates, photos)
- iot          repeated alarms of one device fold into its open ticket
- actions      act and rate on existing tickets
"""

from data.intake.actions import act, current_status, rate, ticket_id_for_token
from data.intake.models import COORD_SYSTEMS, LINE, MAX_ID, SOURCES, TEXT, Action, RatingIn, Report
from data.intake.reports import submit
from data.intake.transaction import Caller, IntakeError, Outcome, notice, wgs84_point

__all__ = [
    "COORD_SYSTEMS",
    "LINE",
    "MAX_ID",
    "SOURCES",
    "TEXT",
    "Action",
    "Caller",
    "IntakeError",
    "Outcome",
    "RatingIn",
    "Report",
    "act",
    "current_status",
    "notice",
    "rate",
    "submit",
    "ticket_id_for_token",
    "wgs84_point",
]
