"""Imports every module that defines tables, so `Base.metadata` is complete for Alembic and tests.
A module that adds tables adds one import line here."""

import data.alerts.models  # early warning: alerts, evidence, IoT alarm log (issue #11)
import data.intake_tables  # noqa: F401 - intake: API keys, idempotency, photos (issue #5)
from data import audit, logins, sessions, users  # noqa: F401 - access control tables (issues #6, #9)
from data.models import Base

__all__ = ["Base"]
