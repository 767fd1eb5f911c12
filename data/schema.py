"""Imports every module that defines tables, so `Base.metadata` is complete for Alembic and tests.
A module that adds tables adds one import line here."""

import data.intake_tables  # intake: API keys, idempotency, photos (issue #5)
import data.shared  # noqa: F401 - values shared by every process: geometry, snapshots (issue #14)
from data import audit, logins, sessions, users  # noqa: F401 - access control tables (issues #6, #9)
from data.models import Base

__all__ = ["Base"]
