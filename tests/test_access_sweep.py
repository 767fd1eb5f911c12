"""The access sweep (issue #6): a test that cannot go stale.

It starts the real app, reads every route, page and server-side callback the app has (the Flask
url map and the page registry through `python app.py routes --json`, the callbacks from
/_dash-dependencies), and for each role replays requests with forged inputs: another area's grid,
community and ticket ids, other tickets' tokens and photos, out-of-range values and wrong types.
A new route, page or callback is swept the day it is added, with no edit here.

Every response must be:
- never a 5xx;
- 401 (anonymous) / 403 (a role) when the permission table does not grant it;
- within scope: every ticket carries canaries (⟨T id⟩ in its description, ⟨A id⟩ at the end of
  its address, a unique reporter name 名<id>探 and phone 144<id>), so a response reveals exactly
  which tickets it shows. Revealed tickets must be visible to the viewer (data.access), raw names
  and phones never appear, full addresses only for roles that see them (data.privacy.POLICY),
  the kiosk and anonymous visitors see no phone at all, and a supervisor sees no grid code
  outside their area.

Runs on the session's shared `live` server: SQLite and, with TEST_DATABASE_URL, a throwaway
PostgreSQL database.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests
from sqlalchemy import select, update

from data.access import Viewer, ticket_clause
from data.db import Database
from data.models import Region, Ticket
from data.privacy import POLICY
from data.users import User, viewer_for
from tests import live_server
from tests.auth_helpers import login_as, open_kiosk

ACCOUNT_ROLES = ("worker", "gridhead", "property", "department", "community", "street", "dispatcher", "admin")
ROLES = ("anonymous", "kiosk", "resident", *ACCOUNT_ROLES)
NEEDS_LOGIN = ("anonymous", "resident")

pytestmark = pytest.mark.slow  # ~25 s: thousands of requests per backend

T_MARK = re.compile(r"⟨T(\d+)⟩")
A_MARK = re.compile(r"⟨A(\d+)⟩")
NAME_MARK = re.compile(r"名(\d+)探")
RAW_PHONE = re.compile(r"(?<![\d.])144\d{8}(?!\d)")  # 144: a data-only prefix no generated person has
UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
MASKED_PHONE = re.compile(r"144\*{4}\d{4}")  # a canary phone, masked
JUNK = ["x' OR 1=1 --", "../../etc/passwd", "-1", "99999999999999999999", "", "%00", "<script>alert(1)</script>"]
# Digits int() refuses although str.isdigit() accepts them, and a number of thousands of digits (issue #9).
JUNK += ["²", "9" * 5000]


# --------------------------------------------------------------------------------------------
# The world: a live server on its own database, with canaries in every ticket.


@dataclass
class RoleWorld:
    name: str
    viewer: Viewer
    visible: set[int]  # ticket ids this viewer may see
    own_grid: str | None = None
    own_ticket: int | None = None
    own_token: str | None = None
    foreign_grid: str | None = None
    foreign_community: str | None = None
    foreign_street: str | None = None
    foreign_ticket: int | None = None
    foreign_token: str | None = None
    foreign_photo: str | None = None
    allowed_grids: set[str] | None = None  # grid names this role may see; None: no check


@dataclass
class World:
    server: live_server.LiveServer
    table: dict
    dependencies: list
    roles: dict[str, RoleWorld]
    tokens: dict[str, int]  # public token -> ticket id
    grid_names: set[str]  # unique ("长征社区第01网格"), never sent in a request, so never an echo
    permissions: dict[str, frozenset] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(live):
    """The session's shared server, with canaries planted in every ticket it has."""
    table = json.loads(live.cli("routes", "--json").stdout)
    _plant_canaries(live.database)
    dependencies = requests.get(live.url + "/_dash-dependencies", timeout=30).json()
    return _build_world(live, live.database, table, dependencies)


def _plant_canaries(db: Database) -> None:
    with db.session() as s:
        rows = s.execute(select(Ticket.id, Ticket.description, Ticket.address)).all()
        s.execute(
            update(Ticket),
            [
                {
                    "id": tid,
                    "description": f"{desc or ''}⟨T{tid}⟩",
                    "address": f"{addr or '幸福小区1栋'}⟨A{tid}⟩",
                    "reporter_name": f"名{tid}探",
                    "reporter_phone": f"144{tid:08d}",
                }
                for tid, desc, addr in rows
            ],
        )


def _build_world(server, db, table, dependencies) -> World:
    with db.reader() as s:
        regions = s.execute(select(Region.id, Region.code, Region.name, Region.level, Region.parent_id)).all()
        by_id = {r.id: r for r in regions}
        tickets = s.execute(
            select(Ticket.id, Ticket.public_token, Ticket.grid_id, Ticket.community_id, Ticket.photos)
        ).all()
        accounts = {u.username: viewer_for(u) for u in s.scalars(select(User))}
        visible_of = {}
        for name, viewer in accounts.items():
            visible_of[name] = set(s.scalars(select(Ticket.id).where(ticket_clause(viewer))))
    grids = [r for r in regions if r.level == "grid"]
    tokens = {t.public_token: t.id for t in tickets}

    def descendants(region_id):
        out, frontier = {region_id}, {region_id}
        while frontier:
            frontier = {r.id for r in regions if r.parent_id in frontier}
            out |= frontier
        return out

    def role_world(name, viewer, visible, area=None):
        rw = RoleWorld(name, viewer, visible)
        inside = descendants(area) if area else {r.id for r in regions}
        own_grids = [g for g in grids if g.id in inside]
        far_grids = [g for g in grids if g.id not in inside]
        rw.own_grid = own_grids[0].code if own_grids else grids[0].code
        rw.foreign_grid = far_grids[0].code if far_grids else None
        far = [by_id[g.parent_id] for g in far_grids]
        rw.foreign_community = far[0].code if far else None
        far_streets = [
            by_id[c.parent_id] for c in far if c.parent_id not in inside and by_id[c.parent_id].id not in inside
        ]
        rw.foreign_street = far_streets[0].code if far_streets else None
        mine = [t for t in tickets if t.id in visible]
        theirs = [t for t in tickets if t.id not in visible]
        rw.own_ticket = mine[0].id if mine else None
        rw.foreign_ticket = theirs[0].id if theirs else None
        rw.foreign_token = theirs[0].public_token if theirs else None
        rw.foreign_photo = next((t.photos[0] for t in theirs if t.photos), None)
        return rw

    roles = {}
    roles["anonymous"] = role_world("anonymous", Viewer.anonymous(), set())
    roles["kiosk"] = role_world("kiosk", Viewer.kiosk(), set())
    resident_ticket = tickets[len(tickets) // 2]
    resident = role_world(
        "resident",
        Viewer(role="resident", ticket_token=resident_ticket.public_token),
        {resident_ticket.id},
    )
    resident.own_token, resident.own_ticket = resident_ticket.public_token, resident_ticket.id
    roles["resident"] = resident
    for name in ACCOUNT_ROLES:
        viewer = accounts[name]
        area = viewer.region_id if viewer.role in ("supervisor", "grid_head") else None
        rw = role_world(name, viewer, visible_of[name], area)
        if viewer.role == "supervisor":
            rw.allowed_grids = {g.name for g in grids if g.id in descendants(viewer.region_id)}
        roles[name] = rw
    assert roles["community"].foreign_grid and roles["street"].foreign_grid, "the sweep needs a foreign area"
    return World(server, table, dependencies, roles, tokens, {g.name for g in grids})


# --------------------------------------------------------------------------------------------
# Checking one response.


def allowed(viewer: Viewer, permission: str | None) -> bool:
    if permission in ("public", "own_credential", "page", "callback", "clientside"):
        return True
    if permission == "signed_in":
        return viewer.user_id is not None
    return permission is not None and viewer.can(permission)


def problems(world: World, rw: RoleWorld, request_desc: str, response, permission: str | None, sent: str) -> list:
    out = []
    status = response.status_code
    where = f"{rw.name}: {request_desc} -> {status}"
    if status >= 500:
        return [f"{where}: server error {response.text[:200]!r}"]
    if status in (404, 405):
        return []  # the forged path routes nowhere (or not for this method): Flask's bare error page
    if permission is not None and not allowed(rw.viewer, permission):
        expected = 401 if rw.name in NEEDS_LOGIN else 403
        if status != expected:
            out.append(f"{where}: expected {expected} (needs {permission})")
        return out
    body = readable(response)
    # A token in the request is the resident's key to that one ticket.
    tokens_sent = {tid for tok, tid in world.tokens.items() if tok in sent}
    granted = set(rw.visible) | tokens_sent
    shown = {int(m) for m in T_MARK.findall(body)}
    if shown - granted:
        out.append(f"{where}: shows tickets outside scope {sorted(shown - granted)[:5]}")
    # Tickets opened by their token are shown as to their resident (data.privacy.POLICY).
    full_address = {int(m) for m in A_MARK.findall(body)} - tokens_sent
    address_rule = POLICY.get(rw.viewer.role, POLICY["anonymous"])["address"]
    if full_address and (address_rule != "raw" or full_address - granted):
        out.append(f"{where}: full address of tickets {sorted(full_address)[:5]} (policy {address_rule})")
    if NAME_MARK.search(body):
        out.append(f"{where}: raw reporter name {NAME_MARK.search(body).group(0)}")
    if RAW_PHONE.search(body):
        out.append(f"{where}: raw phone {RAW_PHONE.search(body).group(0)}")
    if rw.name in ("kiosk", "anonymous") and MASKED_PHONE.search(body) and not tokens_sent:
        out.append(f"{where}: a reporter's phone ({MASKED_PHONE.search(body).group(0)}) reaches the {rw.name}")
    if rw.allowed_grids is not None:
        foreign = {c for c in world.grid_names - rw.allowed_grids if c in body}
        if foreign:
            out.append(f"{where}: grids outside the area {sorted(foreign)[:3]}")
    return out


def readable(response) -> str:
    """The body as text with JSON's \\uXXXX escapes undone (jsonify writes ⟨ as \\u27e8)."""
    if "image" in response.headers.get("Content-Type", ""):
        return ""
    return UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), response.text)


# --------------------------------------------------------------------------------------------
# What to send.


def values_for(rw: RoleWorld, name: str) -> list:
    name = name.lower()
    if name in ("code", "grid_code", "community_code", "street_code"):
        return [v for v in (rw.own_grid, rw.foreign_grid, rw.foreign_community, rw.foreign_street) if v] + JUNK[:3]
    if name in ("ticket_id", "request_id", "id"):
        ids = [rw.own_ticket, rw.foreign_ticket, 0, 2**62]
        return [v for v in ids if v is not None] + ["abc", "-5"]
    if name == "token":
        return [v for v in (rw.own_token, rw.foreign_token) if v] + ["A" * 16, *JUNK[:2]]
    if name in ("ref", "path", "filename", "fingerprinted_path"):
        return [v for v in (rw.foreign_photo,) if v] + ["../../etc/passwd", "x.jpg"]
    if name == "action":
        return ["respond", "handle", "escalate"]
    if name == "layer":
        return ["grids", "communities", "streets", "tickets", "x"]
    # The weekly report's files (issue #10). No "../" or "%2F" here: the client collapses the first
    # and the server decodes the second before routing, so the request would reach another route
    # (the Dash page shell) than the one swept; tests/browser/test_weekly_report.py tries those.
    if name == "week":
        return ["2026-W01", "9999-W99", JUNK[0]]
    if name == "name":
        return ["report.pdf", "thumb-screen.png", "gcc.sqlite3", JUNK[0]]
    return ["x", *JUNK[:2]]


RULE_VAR = re.compile(r"<(?:[^:<>]+(?:\([^)]*\))?:)?([^<>]+)>")


def expand(rule: str, rw: RoleWorld) -> list[str]:
    paths = [rule]
    for var in RULE_VAR.findall(rule):
        token = re.search(r"<(?:[^:<>]+(?:\([^)]*\))?:)?" + re.escape(var) + ">", rule).group(0)
        paths = [p.replace(token, str(v), 1) for p in paths for v in values_for(rw, var)]
    return paths[:12]


def page_paths(world: World, rw: RoleWorld) -> list[tuple[str, str | None]]:
    out = []
    for page in world.table["pages"]:
        template = page["path_template"] or page["path"]
        out += [(p, page["permission"]) for p in expand(template, rw)]
    out += [("/no-such-page", None), (f"/grid/{rw.foreign_grid}", None)]
    return out


def callback_bodies(world: World, rw: RoleWorld, dep: dict) -> list[dict]:
    outputs = _split_output(dep["output"])
    pathnames = [p for p, _ in page_paths(world, rw)]
    variants = [
        None,
        rw.foreign_grid,
        rw.foreign_community,
        rw.own_grid,
        rw.foreign_ticket,
        {"code": rw.foreign_grid, "ticket_id": rw.foreign_ticket},
        [rw.foreign_ticket, rw.foreign_grid],
        -1,
        10**12,
        JUNK[0],
    ]
    bodies = []
    for value in variants:
        bodies.append(_body(dep, outputs, lambda item, v=value: v))
    if any(i["property"] in ("pathname", "href", "search") for i in dep["inputs"] + dep.get("state", [])):
        for path in pathnames:
            bodies.append(_body(dep, outputs, lambda item, p=path: _location_value(item, p)))
    return bodies


def _location_value(item, path):
    if item["property"] == "search":
        return "?" + path.split("?", 1)[1] if "?" in path else ""
    if item["property"] == "href":
        return "http://127.0.0.1" + path
    if item["property"] == "pathname":
        return path
    return None


def _split_output(output: str) -> list[dict]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for part in parts:
        cid, prop = part.rsplit(".", 1)
        out.append({"id": _concrete_id(cid), "property": prop})
    return out


def _concrete_id(cid):
    if cid.startswith("{"):
        parsed = json.loads(cid)
        return {k: (0 if isinstance(v, list) else v) for k, v in parsed.items()}
    return cid


def _body(dep, outputs, value_of) -> dict:
    def items(deps):
        out = []
        for item in deps:
            cid = item["id"]
            if isinstance(cid, str) and cid.startswith("{") and '["ALL' in cid:
                out.append([{"id": _concrete_id(cid), "property": item["property"], "value": value_of(item)}])
            else:
                out.append({"id": _concrete_id(cid), "property": item["property"], "value": value_of(item)})
        return out

    inputs = items(dep["inputs"])
    first = dep["inputs"][0] if dep["inputs"] else None
    return {
        "output": dep["output"],
        "outputs": outputs if dep["output"].startswith("..") else outputs[0],
        "inputs": inputs,
        "state": items(dep.get("state", [])),
        "changedPropIds": [f"{first['id']}.{first['property']}"] if first and not first["id"].startswith("{") else [],
    }


# --------------------------------------------------------------------------------------------
# The sweep.


def session_for(world: World, role: str) -> requests.Session:
    s = requests.Session()
    if role == "kiosk":
        open_kiosk(s, world.server)
    elif role in ACCOUNT_ROLES:
        login_as(s, world.server.url, role)
    return s


def test_every_route_page_and_callback_is_in_the_permission_table(world):
    missing = [f"{r['method']} {r['rule']}" for r in world.table["routes"] if r["permission"] is None]
    missing += [f"page {p['path_template'] or p['path']}" for p in world.table["pages"] if p["permission"] is None]
    missing += [
        f"callback {c['output'][:80]} ({c['module']})" for c in world.table["callbacks"] if c["permission"] is None
    ]
    assert not missing, "add these to dashboard/auth/permissions.py:\n" + "\n".join(missing)
    served = {d["output"] for d in world.dependencies if not d.get("clientside_function")}
    described = {c["output"] for c in world.table["callbacks"] if c["permission"] != "clientside"}
    assert served <= described | {c["output"] for c in world.table["callbacks"]}


@pytest.mark.parametrize("role", ROLES)
def test_sweep(world, role):
    rw = world.roles[role]
    session = session_for(world, role)
    base = world.server.url
    callback_permission = {c["output"]: c["permission"] for c in world.table["callbacks"]}
    jobs = []  # (description, method, url, kwargs, permission, sent)

    for route in world.table["routes"]:
        rule, method, permission = route["rule"], route["method"], route["permission"]
        if rule in ("/", "/<path:path>", "/_dash-update-component") or rule.startswith("/_dash-component-suites"):
            continue  # pages and callbacks are swept below; component scripts are static files
        if rule == "/logout" and method == "POST":
            continue  # would end this role's session halfway through
        for path in expand(rule, rw):
            if method == "GET":
                jobs.append((f"GET {path}", "GET", path, {}, permission))
                jobs.append((f"GET {path}?forged", "GET", path, {"params": _forged_params(rw)}, permission))
            else:
                form = {"csrf_token": "forged", **{k: str(v) for k, v in _forged_params(rw).items()}}
                jobs.append((f"{method} {path} form", method, path, {"data": form}, permission))
                jobs.append((f"{method} {path} json", method, path, {"json": _forged_params(rw)}, permission))
                jobs.append(
                    (f"{method} {path} junk", method, path, {"data": b"\xff\x00{", "headers": _ctype()}, permission)
                )
    for path, _ in page_paths(world, rw):
        jobs.append((f"page {path}", "GET", path, {"headers": {"Accept": "text/html"}}, _page_permission(world, path)))
    for dep in world.dependencies:
        if dep.get("clientside_function"):
            continue
        permission = callback_permission.get(dep["output"], "callback")
        router = "_pages_content.children" in dep["output"]
        for body in callback_bodies(world, rw, dep):
            expected = _router_permission(world, body) if router else permission
            desc = f"callback {dep['output'][:60]} {json.dumps(body['inputs'], ensure_ascii=False)[:120]}"
            jobs.append((desc, "POST", "/_dash-update-component", {"json": body}, expected))
    jobs.append(("malformed callback", "POST", "/_dash-update-component", {"json": {"output": 1}}, None))
    jobs.append(("callback without inputs", "POST", "/_dash-update-component", {"json": {"output": "x.y"}}, None))

    def run(job):
        desc, method, path, kwargs, permission = job
        sent = path + json.dumps(kwargs.get("json") or kwargs.get("params") or "", default=str)
        try:
            response = session.request(method, base + path, timeout=60, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            return [f"{role}: {desc}: {exc}"]
        if desc.startswith(("malformed", "callback without")):
            ok = response.status_code in (400, 401, 403, 404)
            return [] if ok else [f"{role}: {desc} -> {response.status_code}"]
        if response.status_code == 200 and allowed(rw.viewer, permission):
            served.append((desc, len(response.content), {int(m) for m in T_MARK.findall(readable(response))}))
        return problems(world, rw, desc, response, permission, sent)

    served = []  # (request, size, tickets shown) of granted 200 answers: the sweep is not vacuous
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = [p for result in pool.map(run, jobs) for p in result]
    print(f"sweep {role}: {len(jobs)} requests in {time.perf_counter() - started:.1f}s")
    # Positive controls: the role really received data, so "no foreign data" means something.
    callbacks_served = [d for d, size, _ in served if d.startswith("callback") and size > 500]
    if rw.viewer.can("aggregates"):
        assert any("screen-" in d for d in callbacks_served), f"{role} got no big-screen data"
    if role in ("dispatcher", "admin", "community", "worker", "resident"):
        assert any(shown for _, _, shown in served), f"{role} was shown none of its tickets anywhere"
    assert not found, (
        f"{len(found)} problem(s) for {role}:\n" + "\n".join(found[:40]) + "\n" + world.server.log()[-3000:]
    )


def _forged_params(rw: RoleWorld) -> dict:
    return {
        "grid": rw.foreign_grid,
        "code": rw.foreign_grid,
        "community": rw.foreign_community,
        "street": rw.foreign_street,
        "ticket_id": rw.foreign_ticket,
        "service_request_id": rw.foreign_ticket,
        "token": rw.foreign_token,
        "t": rw.foreign_token,
        "limit": "100000000",
        "page": "-3",
        "lat": "1e999",
        "long": "nan",
        "start_date": "not-a-date",
    }


def _ctype():
    return {"Content-Type": "application/json"}


def _router_permission(world: World, body: dict) -> str | None:
    pathname = next((i["value"] for i in body["inputs"] if isinstance(i, dict) and i["property"] == "pathname"), None)
    if not isinstance(pathname, str):
        return None  # a non-string pathname is refused as a bad request
    return _page_permission(world, pathname)


def _page_permission(world: World, pathname: str) -> str | None:
    """The permission of the page Dash renders for this path (its 404 page: public)."""
    if not pathname.startswith("/"):
        return None  # not a path of this app: refused as a bad request
    for page in world.table["pages"]:
        template = page["path_template"] or page["path"]
        pattern = "^" + re.sub(r"<[^>]+>", "[^/]+", template.rstrip("/")) + "/?$"
        if re.match(pattern, pathname.split("?")[0]):
            return page["permission"]
    return "public"  # Dash's 404 layout
