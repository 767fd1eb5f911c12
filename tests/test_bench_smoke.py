"""bench/run.py end to end with toy sizes (issue #14): not timed, it proves the suite runs and that
its table has a row for every figure of the issue, measured or said not to be."""

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
