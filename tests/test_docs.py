"""The README stays true: its two commands, CI running the same test command, every setting."""

import re
from pathlib import Path

from data.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def first_code_block() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_first_screen_has_exactly_two_commands():
    head = README[: README.index("---")]
    assert head.count("```bash") == 1
    run, test = first_code_block()
    assert run.endswith("python app.py")
    assert "pytest" in test


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert first_code_block()[1] in ci.splitlines()


def test_the_settings_table_is_generated_from_the_settings():
    from data.settings import readme_with_table

    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in README, f"{name.upper()} is missing from the README's settings table"
    assert readme_with_table(README) == README, (
        "the README's settings table differs from data/settings.py: run python -m data.settings --write-readme"
    )


def test_every_command_is_documented():
    import app

    parser = app.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name in commands:
        assert re.search(rf"`{re.escape(name)}[ `]", README), f"command {name} is missing from the README"


def _names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_the_lock_pins_every_requirement():
    lock = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    }
    for name in _names(ROOT / "requirements.txt") | _names(ROOT / "requirements-dev.txt"):
        assert name in lock, f"{name} is not pinned in requirements.lock: regenerate it (README, Dependencies)"
