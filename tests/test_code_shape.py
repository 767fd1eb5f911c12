"""The shape the code promises in docs/architecture.md, checked on the source (issue #12):
arrows point one way (dashboard → data → geo), the API is a field mapper that builds no SQL, and no
function takes more than eight positional parameters."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dashboard", "data", "geo")
# What a layer may not import: the layers above it.
FORBIDDEN = {"data": ("dashboard",), "geo": ("dashboard", "data")}
# SQL builders: what an SQL statement is made with (sqlalchemy.text cannot come in: the import check).
SQL_CALLS = {"select", "insert", "update", "delete", "execute", "scalar", "scalars", "exec_driver_sql"}


def sources(*roots: str) -> list[Path]:
    out = []
    for root in roots:
        path = ROOT / root
        out += [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))
    return [p for p in out if "migrations/versions" not in p.as_posix()]


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(module: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downwards(layer):
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources(layer)
        for name in sorted(imported_modules(tree(path)))
        if name.split(".")[0] in FORBIDDEN[layer]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_api_builds_no_sql():
    """dashboard/api maps records from data/read and hands writes to data/intake: it may name a
    Session in a signature or catch sqlalchemy's errors, but it makes no statement of its own."""
    wrong = []
    for path in sources("dashboard/api"):
        module = tree(path)
        for name in imported_modules(module):
            if name.startswith("sqlalchemy") and name not in ("sqlalchemy.exc", "sqlalchemy.orm"):
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
        for node in ast.walk(module):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in SQL_CALLS:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {called}()")
    assert not wrong, "\n".join(wrong)


def test_no_function_takes_more_than_eight_positional_parameters():
    wrong = []
    for path in sources("app.py", *PACKAGES):
        for node in ast.walk(tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                count = len(node.args.posonlyargs) + len(node.args.args)
                if count > 8:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}() takes {count}")
    assert not wrong, "\n".join(wrong)
