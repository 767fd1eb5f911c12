"""`python app.py api-keys create NAME | list | revoke NAME`: the clients of /api/v1 and
/open311/v2. A new key is printed once; only its SHA-256 is stored."""

from __future__ import annotations

import sys

from data.cli import Command, open_database
from data.settings import Settings


def _args(p):
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="create a key and print it (once)")
    create.add_argument("name", help="who uses the key, e.g. hotline-12345")
    create.add_argument(
        "--role",
        default="resident",
        choices=("resident", "dispatcher", "system"),
        help="resident: submit only, read by token (default); dispatcher: read and act on the district "
        "(or --region); system: everything, personal data unmasked",
    )
    create.add_argument(
        "--source",
        default="resident",
        choices=("resident", "patrol", "hotline", "iot", "leader", "import"),
        help="the source of its reports when they name none (default resident)",
    )
    create.add_argument("--region", help="limit a dispatcher key to this region code (street, community, grid)")
    sub.add_parser("list", help="list keys (names, roles, prefixes; never the keys)")
    revoke = sub.add_parser("revoke", help="revoke the active key with this name")
    revoke.add_argument("name")


def _run(args, settings: Settings) -> int:
    from data import apikeys

    db = open_database(settings)
    if args.action == "create":
        try:
            with db.session() as session:
                key = apikeys.create(session, args.name, role=args.role, source=args.source, region_code=args.region)
        except apikeys.ApiKeyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(
            f"API key for {args.name} ({args.role}, source {args.source}); shown once, store it now:", file=sys.stderr
        )
        print(key)
        return 0
    if args.action == "list":
        with db.reader() as session:
            rows = apikeys.listing(session)
            print(f"{'name':<28} {'role':<10} {'source':<9} {'prefix':<11} {'created':<17} {'last used':<17} state")
            for r in rows:
                print(
                    f"{r.name:<28} {r.role:<10} {r.source:<9} {r.prefix:<11} {r.created_at:%Y-%m-%d %H:%M}  "
                    f"{r.last_used_at.strftime('%Y-%m-%d %H:%M') if r.last_used_at else '-':<17} "
                    f"{'revoked' if r.revoked_at else 'active'}"
                )
        return 0
    with db.session() as session:
        revoked = apikeys.revoke(session, args.name)
    if not revoked:
        print(f"error: no active key named {args.name!r}", file=sys.stderr)
        return 1
    print(f"revoked {args.name}")
    return 0


COMMANDS = [Command("api-keys", "API keys of /api/v1 and /open311/v2: create NAME | list | revoke NAME", _args, _run)]
