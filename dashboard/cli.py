"""`python app.py serve`: schema, demo data when the database is empty, scheduler, web server."""

from __future__ import annotations

import sys

from data.cli import Command, open_database
from data.settings import Settings


def _serve_args(p):
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    p.add_argument("--no-scheduler", action="store_true", help="do not start the scheduler in this process")
    p.add_argument("--threads", type=int, default=8, help="web server threads (default 8)")


def serve(args, settings: Settings) -> int:
    from dashboard.auth.announce import announce
    from dashboard.labels import text
    from dashboard.server import create_app
    from data.demo import database_is_empty, generate
    from data.jobs import start_scheduler
    from data.users import DemoPasswordInProduction, refuse_demo_passwords_in_production

    db = open_database(settings)
    try:  # issue #9: production never serves the published demo password
        with db.reader() as session:
            refuse_demo_passwords_in_production(session, settings)  # before minutes of demo generation
        if database_is_empty(db):
            print("empty database: generating the demo district (once)", file=sys.stderr, flush=True)
            stats = generate(db, settings, progress=lambda m: print(f"demo: {m}", file=sys.stderr, flush=True))
            print(f"demo ready: {stats}", file=sys.stderr, flush=True)
        app = create_app(settings, db)  # checks again: accounts the demo may just have made
    except DemoPasswordInProduction as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    simulate = settings.gcc_simulate and _is_demo(db)
    scheduler = lock = None
    if settings.gcc_scheduler and not args.no_scheduler:
        scheduler, lock = start_scheduler(db, settings, simulate_demo=simulate)
    print(f"{text('app.title', settings.gcc_locale)} on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    announce(db, settings, args.host, args.port)  # the kiosk link and demo logins (issue #6)
    try:
        if settings.gcc_debug:
            app.run(host=args.host, port=args.port, debug=settings.gcc_debug, use_reloader=False)
        else:
            from waitress import serve as waitress_serve

            waitress_serve(app.server, host=args.host, port=args.port, threads=args.threads, ident="gcc")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
            lock.release()
    return 0


def _is_demo(db) -> bool:
    from sqlalchemy import select

    from data.models import Boundary

    with db.reader() as session:
        return session.scalar(select(Boundary.source).limit(1)) == "demo"


COMMANDS = [Command("serve", "start the web app (and the scheduler) — the default command", _serve_args, serve)]
