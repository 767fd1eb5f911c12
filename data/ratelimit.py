"""Rate limits shared by every process: fixed-window counters in the database.

The default deployment is one SQLite process, and a PostgreSQL deployment runs several web
workers; a counter in the database is right for both with no other service to run. One hit is one
upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), atomic on both backends.
A fixed window lets a client spend its limit at the end of one window and again at the start of
the next: at most twice the limit in a short burst, which is acceptable for abuse control.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from data.db import Database
from data.intake_tables import RateCounter


@dataclass(frozen=True)
class Limit:
    bucket: str  # e.g. "report:client:10.0.0.7" or "report:global"
    limit: int
    seconds: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    bucket: str
    hits: int
    limit: int
    retry_after: int  # seconds until the window resets (when refused)


def hit(db: Database, limits: list[Limit], *, now: float | None = None) -> Verdict:
    """Count one hit against the limits in order (one transaction); the first limit exceeded
    refuses and the later ones are not counted. So put the client's own limit first: a client
    hammering past its limit keeps counting against itself (no reset by persistence) but does not
    use up the global allowance everybody else shares."""
    now = time.time() if now is None else now
    insert = sqlite.insert if db.is_sqlite else postgresql.insert
    with db.session() as session:
        for limit in limits:
            start = int(now // limit.seconds) * limit.seconds
            stmt = insert(RateCounter).values(bucket=limit.bucket[:128], window_start=start, hits=1)
            stmt = stmt.on_conflict_do_update(
                index_elements=["bucket", "window_start"], set_={"hits": RateCounter.hits + 1}
            ).returning(RateCounter.hits)
            hits = session.execute(stmt).scalar_one()
            if hits == 1 and random.random() < 0.05:
                # A new window began: now and then forget windows that ended a day ago or more.
                session.execute(delete(RateCounter).where(RateCounter.window_start < now - 86400 - limit.seconds))
            if hits > limit.limit:
                return Verdict(False, limit.bucket, hits, limit.limit, max(1, int(start + limit.seconds - now)))
    return Verdict(True, "", 0, 0, 0)
