"""The `reports` table: one row per ISO week. The row is also the claim that makes the scheduled
job run once per week with several scheduler processes: a run takes the week by moving its row to
"running" in one conditional UPDATE (or by inserting it; the week is unique)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from data.models import Base

STATUSES = ("running", "ok", "failed")


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(10), unique=True)  # 2026-W47
    status: Mapped[str] = mapped_column(String(16))  # running | ok | failed
    # The archived files: [{"name": "report.pdf", "kind": "pdf", "bytes": 123456, "caption": "..."}]
    files: Mapped[list] = mapped_column(default=list)
    total_bytes: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[str] = mapped_column(String(255), default="")  # the step a running report is at
    trigger: Mapped[str] = mapped_column(String(32), default="cli")  # cli | schedule | web:<user>
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    runner: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    ok_at: Mapped[datetime | None]  # when the archived files were last (re)written successfully
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")  # the Chinese summary of the archived files
    delivery: Mapped[dict] = mapped_column(default=dict)  # {"email": "sent", "webhook": "failed: ..."}
