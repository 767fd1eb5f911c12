"""Imports every module that defines tables, so `Base.metadata` is complete for Alembic and tests.
A module that adds tables adds one import line here."""

import data.history_stats  # grid_history: the grids at a past week's end (issue #10)
import data.intake_tables  # intake: API keys, idempotency, photos (issue #5)
import data.shared  # noqa: F401 - values shared by every process: geometry, snapshots (issue #14)
from data import audit, logins, sessions, users  # noqa: F401 - access control tables (issues #6, #9)
from data.models import Base
from data.reports import models as _reports  # noqa: F401 - the weekly report archive (issue #10)

__all__ = ["Base"]
