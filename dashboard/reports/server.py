"""The report's own web server: `python -m dashboard.reports.server PORT` serves the app on
127.0.0.1:PORT for the capture, with no scheduler and none of `serve`'s start-up side effects
(no demo generation, no new kiosk link: `serve` revokes the previous start's link, which would cut
off a running wall). Same settings and database as the process that started it."""

from __future__ import annotations

import logging
import sys


def main(argv: list[str]) -> int:
    from waitress import serve

    from dashboard.server import create_app
    from data.cli import open_database
    from data.settings import load_settings

    logging.basicConfig(level=logging.WARNING)
    port = int(argv[0])
    settings = load_settings()
    db = open_database(settings)
    app = create_app(settings, db)
    serve(app.server, host="127.0.0.1", port=port, threads=4, ident="gcc-report")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
