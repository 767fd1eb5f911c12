"""bench/run.py end to end with toy sizes (issue #14): not timed, it proves the suite runs and that
its table has a row for every figure of the issue, measured or said not to be; and the city
generator (data.demo.city) writes a district whose tables agree with each other."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


@pytest.mark.slow
def test_bench_run_demo_tiny_writes_every_row(tmp_path):
    import run as bench_run

    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nkept text\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--scale", "demo", "--db", "sqlite", "--tiny",
         "--out", str(out), "--root", str(tmp_path / "root")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    text = out.read_text(encoding="utf-8")
    assert "kept text" in text  # only its own section is replaced
    section = text.split("<!-- bench:run-demo-sqlite -->", 1)[1].split("<!-- /bench:run-demo-sqlite -->", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    assert len(rows) == len(bench_run.FIGURES)
    for (_key, figure, _baseline, _target), row in zip(bench_run.FIGURES, rows, strict=True):
        first = figure.split("{")[0]
        assert row.startswith(f"| {first}"), row
        assert "not measured" not in row, row  # every section ran
        assert row.count("|") >= 7, row


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith(("postgresql", "postgres:")),
    reason="the city generator writes with PostgreSQL COPY",
)
def test_city_generator_writes_a_consistent_district():
    from sqlalchemy import create_engine, text

    from data.demo.city import generate_city
    from tests.live_server import throwaway_postgres

    with throwaway_postgres("gcc_city_test") as url:
        stats = generate_city(url, tickets=3000, grids=30, days=40, say=lambda m: None)
        assert stats["tickets"] == 3000 and stats["events"] > 3000 * 4
        engine = create_engine(url)
        with engine.connect() as c:

            def one(sql):
                return c.execute(text(sql)).scalar()

            assert one("SELECT count(*) FROM tickets") == 3000
            # Every ticket was reported, once, at its creation time; events never precede it.
            assert one("SELECT count(*) FROM ticket_events WHERE action = 'report'") == 3000
            assert not one(
                "SELECT count(*) FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id WHERE e.at < t.created_at"
            )
            # Statuses agree with timestamps, flags and the other tables.
            assert not one("SELECT count(*) FROM tickets WHERE status IN ('closed', 'rated') AND closed_at IS NULL")
            assert not one(
                "SELECT count(*) FROM tickets WHERE status = 'rated' AND (rated_at IS NULL OR rating IS NULL)"
            )
            assert not one("SELECT count(*) FROM tickets WHERE dispatched_at IS NOT NULL AND handle_due_at IS NULL")
            assert not one("SELECT count(*) FROM tickets WHERE overdue AND escalation_level < 2")
            assert not one("SELECT count(*) FROM tickets WHERE closed_at < handled_at OR handled_at < responded_at")
            assert one("SELECT count(*) FROM escalations") == one(
                "SELECT count(*) FROM ticket_events WHERE action = 'escalate'"
            )
            assert one("SELECT count(*) FROM ratings") == one("SELECT count(*) FROM tickets WHERE rated_at IS NOT NULL")
            assert one("SELECT count(DISTINCT public_token) FROM tickets") == 3000
            # The aggregates were rebuilt: every ticket counted once on its creation day.
            assert one("SELECT sum(reported) FROM daily_stats") == 3000
            assert one("SELECT count(*) FROM grid_stats") == 31  # 30 grids and the unassigned queue
            # Open tickets in every state, for the wall and the sweep.
            open_states = {r[0] for r in c.execute(text("SELECT DISTINCT status FROM tickets"))}
            assert {"closed", "rated", "in_progress", "dispatched"} <= open_states
        engine.dispose()
