"""`python app.py users|kiosk-url|audit`: accounts, the wall screen's link, and the audit log."""

from __future__ import annotations

import json
import re
import secrets
import sys
from datetime import datetime, timedelta

from data import audit, logins, users
from data.access import Viewer
from data.cli import Command, open_database
from data.clock import UTC, utcnow, zone
from data.settings import Settings


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _read_password(args) -> tuple[str, bool]:
    """From stdin with --password-stdin, else a random one (printed once). Returns (password, generated)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return secrets.token_urlsafe(12), True


def _users_args(p):
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=users.LOGIN_ROLES)
    add.add_argument("--region", help="region code of the area (street/community for a supervisor, grid for a worker)")
    add.add_argument("--staff", type=int, help="staff id: takes their area, organisation and name")
    add.add_argument("--organisation", type=int, help="organisation id (property company or department)")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    sub.add_parser("list", help="list accounts")
    for name, text in (("disable", "disable an account (its sessions end)"), ("enable", "enable an account")):
        sub.add_parser(name, help=text).add_argument("username")
    pw = sub.add_parser("set-password", help="set a new password (its sessions end, a lockout is lifted)")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


def _users(args, settings: Settings) -> int:
    with audit.acting_from("cli"):
        return _users_from_cli(args, settings)


def _users_from_cli(args, settings: Settings) -> int:
    db = open_database(settings)
    admin = Viewer.system("cli")
    try:
        with db.session() as s:
            if args.action == "list":
                _print_users(users.list_users(s), logins.locked_accounts(s))
                return 0
            if args.action == "add":
                password, generated = _read_password(args)
                user = users.create_user(
                    s,
                    args.username,
                    password,
                    args.role,
                    display_name=args.name,
                    region_code=args.region,
                    staff_id=args.staff,
                    organisation_id=args.organisation,
                )
                audit.record(
                    s, "user_add", admin, target_type="user", target_id=user.username, detail={"role": user.role}
                )
            elif args.action == "set-password":
                password, generated = _read_password(args)
                user = users.set_password(s, args.username, password)
                audit.record(s, "user_password", admin, target_type="user", target_id=user.username)
            else:
                active = args.action == "enable"
                user = users.set_active(s, args.username, active)
                action = "user_enable" if active else "user_disable"
                audit.record(s, action, admin, target_type="user", target_id=user.username)
                print(f"{user.username}: {'enabled' if active else 'disabled'}")
                return 0
    except users.UserError as exc:
        return _fail(str(exc))
    print(f"{user.username}: {users.ROLE_LABELS[user.role]} ({user.role})")
    if generated:
        print(f"password (shown once): {password}")
    return 0


def _print_users(rows, locked_from: dict[str, int]) -> None:
    print(f"{'username':<16} {'role':<12} {'active':<7} {'region':<7} {'staff':<6} {'org':<5} last login")
    for u in rows:
        count = locked_from.get(u.username, 0)
        locked = f" (locked from {count} address{'es' if count > 1 else ''})" if count else ""
        locked += " (DEMO PASSWORD)" if u.demo_password else ""
        last = u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "-"
        print(
            f"{u.username:<16} {u.role:<12} {'yes' if u.active else 'no':<7} {u.region_id or '-'!s:<7} "
            f"{u.staff_id or '-'!s:<6} {u.organisation_id or '-'!s:<5} {last}{locked}"
        )


def _kiosk_args(p):
    p.add_argument("--base-url", default="http://127.0.0.1:8050", help="the server's address as the wall PC sees it")
    p.add_argument("--label", default="大屏", help="a name for this screen")
    p.add_argument("--revoke-others", action="store_true", help="revoke every earlier kiosk token first")


def _kiosk_url(args, settings: Settings) -> int:
    if not re.match(r"^https?://[^\s/]+", args.base_url):
        return _fail("--base-url must look like http://host:port")
    with audit.acting_from("cli"):
        return _new_kiosk_url(args, settings)


def _new_kiosk_url(args, settings: Settings) -> int:
    db = open_database(settings)
    with db.session() as s:
        revoked = users.revoke_kiosk_tokens(s) if args.revoke_others else 0
        token = users.create_kiosk_token(s, args.label)
        audit.record(s, "kiosk_token", Viewer.system("cli"), detail={"label": args.label, "revoked": revoked})
    if revoked:
        print(f"revoked {revoked} earlier kiosk token(s)", file=sys.stderr)
    print(kiosk_url(args.base_url, token))
    return 0


def kiosk_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/screen?kiosk={token}"


_RELATIVE = re.compile(r"^(\d+)([dhm])$")


def parse_since(value: str, tz: str, now: datetime | None = None) -> datetime:
    """`7d`, `24h`, `30m`, a date `2026-05-01` (local midnight) or an ISO date-time (local if naive)."""
    now = now or utcnow()
    match = _RELATIVE.match(value.strip())
    if match:
        n, unit = int(match.group(1)), match.group(2)
        unit_name = {"d": "days", "h": "hours", "m": "minutes"}[unit]
        return now - timedelta(**{unit_name: n})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"cannot read {value!r}: use 7d, 24h, 30m, 2026-05-01 or 2026-05-01T08:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(tz))
    return parsed.astimezone(UTC)


def _audit_args(p):
    p.add_argument("--since", default="7d", help="7d, 24h, 30m, a date or ISO date-time (default 7d)")
    p.add_argument("--until", help="same forms as --since")
    p.add_argument("--action", choices=sorted(audit.ACTIONS), help="only this action")
    p.add_argument("--user", help="only this username")
    p.add_argument("--limit", type=int, default=1000, help="at most this many rows (default 1000)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")


def _audit(args, settings: Settings) -> int:
    try:
        since = parse_since(args.since, settings.gcc_timezone)
        until = parse_since(args.until, settings.gcc_timezone) if args.until else None
    except ValueError as exc:
        return _fail(str(exc))
    if not 1 <= args.limit <= 1_000_000:
        return _fail("--limit must be 1..1000000")
    db = open_database(settings)
    query = audit.AuditQuery(since=since, until=until, action=args.action, username=args.user, limit=args.limit)
    with db.reader() as s:
        rows = audit.entries(s, query)
        for row in rows:
            print(json.dumps(audit.as_dict(row), ensure_ascii=False) if args.json else audit.format_row(row))
    if not args.json:
        print(f"{len(rows)} row(s) since {since.isoformat(timespec='seconds')}", file=sys.stderr)
    return 0


COMMANDS = [
    Command("users", "manage login accounts: add, list, disable, enable, set-password", _users_args, _users),
    Command(
        "kiosk-url", "print a link that opens the big screen (/screen) with a new kiosk token", _kiosk_args, _kiosk_url
    ),
    Command("audit", "print the audit log: logins, state changes, unmasking, exports", _audit_args, _audit),
]


def _routes_args(p):
    p.add_argument("--json", action="store_true", help="print JSON (routes, pages and callbacks)")


def _routes(args, settings: Settings) -> int:
    from dashboard.auth.guard import describe
    from dashboard.server import create_app

    table = describe(create_app(settings, open_database(settings)))
    if args.json:
        print(json.dumps(table, ensure_ascii=False, indent=1))
        return 0
    for r in table["routes"]:
        print(f"{r['method']:<6} {r['rule']:<72} {r['permission'] or 'REFUSED (not in the table)'}")
    for page in table["pages"]:
        print(
            f"PAGE   {page['path_template'] or page['path']:<72} {page['permission'] or 'REFUSED (not in the table)'}"
        )
    for cb in table["callbacks"]:
        print(f"CB     {cb['output'][:72]:<72} {cb['permission'] or 'REFUSED (not in the table)'}")
    return 0


COMMANDS.append(
    Command("routes", "print every route, page and callback with the permission it needs", _routes_args, _routes)
)
