"""Grid Command Center (网格治理指挥中心).

    python app.py                 serve: schema, demo data if empty, scheduler, web on :8050
    python app.py <command> --help
    gunicorn -w 4 -b 0.0.0.0:8050 'app:server'      the web app under gunicorn (see the README)

Every command lives in the package that owns it (data.cli, dashboard.cli, ...); this file only
collects them into one command line.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from data.settings import SettingsError, load_settings

# Packages that contribute sub-commands: each has COMMANDS, a list of cli.Command.
COMMAND_MODULES = [
    "dashboard.cli",
    "data.cli",
    "dashboard.auth.cli",
    "dashboard.api.cli",
    "data.importers.cli",
    "dashboard.reports.cli",  # the weekly report (issue #10)
]


def __getattr__(name: str):
    """`app:server` (and `app:application`): the WSGI server, made on first access, so the command
    line never builds a web app it does not need (PEP 562 module attribute)."""
    if name in ("server", "application"):
        from dashboard.wsgi import server

        return server()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python app.py", description="网格治理指挥中心 Grid Command Center")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        for command in importlib.import_module(module_name).COMMANDS:
            sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
            command.add_arguments(sub)
            sub.set_defaults(_run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["serve", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Every job run and every migration plugin at INFO would drown what an operator needs to see.
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args._run(args, settings) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
