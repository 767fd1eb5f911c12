"""Regenerate the initial migration from the models: `python -m data.migrations.regenerate`.

Until the first release no database outside development exists, so the schema is one initial
revision generated from data.schema. After the first release, add revisions instead
(`alembic revision --autogenerate`) and delete this script.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from data.db import Database, alembic_config

VERSIONS = Path(__file__).resolve().parent / "versions"


def main() -> None:
    for old in VERSIONS.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/empty.sqlite3")
        command.revision(alembic_config(db), message="initial schema", autogenerate=True, rev_id="0001")
        db.dispose()


if __name__ == "__main__":
    main()
