"""A city for the benchmark (issue #14): 10,000 grids and millions of tickets over two years, on
PostgreSQL, written with binary COPY.

    python -m data.demo.city --url postgresql://postgres@127.0.0.1:5432/gcc_city \\
        [--tickets 10000000] [--grids 10000] [--days 730] [--reset]

The district (regions, boundaries, teams, staff, categories, calendar) is the demo's own writer
(data.demo.district). The tickets are a vectorised numpy model of data.demo.rhythm's timings:
every ticket's steps (accept or reject or duplicate, dispatch, respond, handle, send back and
handle again, verify and close, rate, escalations) are drawn for all tickets at once; a step later
than `now` has not happened, so recent tickets are open in every state. Statuses, timestamps,
deadlines, overdue flags, escalation levels, events, escalations and ratings agree with each other
as data.workflow would have written them, with two simplifications said here: deadlines are
counted in calendar hours (working-hours categories too) and no ticket is reopened.

Tickets are written in time order (ids grow with creation time), chunk by chunk, into tables
whose secondary indexes and unique constraints are dropped for the load and rebuilt after, with
foreign-key triggers off (`session_replication_role = replica`: the rows are consistent by
construction). Then ANALYZE and the full aggregate rebuild, so `python app.py serve` serves it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from time import perf_counter

import numpy as np
import psycopg
import shapely
from faker import Faker
from sqlalchemy import select

from data.clock import utcnow, zone
from data.demo import rhythm
from data.demo.city_copy import Col, copy_columns
from data.demo.district import category_weights, write_district
from data.demo.reference import DESCRIPTIONS, IOT_CATEGORIES, SOURCES
from data.models import Boundary

US = 1_000_000
MINUTE = 60 * US
HOUR = 3600 * US
CHUNK = 500_000
POINTS_PER_GRID = 64
UNASSIGNED_SHARE = 1 / 2000
SWEEP_LAG = 2 * HOUR  # as data.demo.history: the last two hours' escalations are left for the first sweep

STATUSES = ["reported", "accepted", "rejected", "duplicate", "dispatched", "in_progress", "handled", "closed", "rated"]
S = {name: i for i, name in enumerate(STATUSES)}
RATING_VALUES = list(rhythm.RATINGS)
# Steps in the order they happen: (name, action, to_status or None for "unchanged", actor).
STEPS = [
    ("report", "report", "reported", "resident"),
    ("accept", "accept", "accepted", "dispatcher"),
    ("reject", "reject", "rejected", "dispatcher"),
    ("duplicate", "mark_duplicate", "duplicate", "dispatcher"),
    ("dispatch", "dispatch", "dispatched", "system"),
    ("escalate1", "escalate", None, "system"),
    ("respond", "respond", "in_progress", "assignee"),
    ("escalate2", "escalate", None, "system"),
    ("handle1", "handle", "handled", "assignee"),
    ("send_back", "send_back", "in_progress", "dispatcher"),
    ("handle2", "handle", "handled", "assignee"),
    ("close", "verify_close", "closed", "dispatcher"),
    ("rate", "rate", "rated", "resident"),
]
# Notes of the steps that have one (an automatic escalation has none: the labels say what ran out).
NOTES = ["", "不属于受理范围", "现场核查未处理到位", "已处理完毕"]
STEP_NOTE = {"reject": 1, "send_back": 2, "handle1": 3, "handle2": 3}
DATA = [
    "{}",
    '{"level": 1, "to": "community", "reason": "response_timeout"}',
    '{"level": 2, "to": "street", "reason": "handling_overdue"}',
    '{"on_time": true}',
    '{"on_time": false}',
    '{"rating": "satisfied"}',
    '{"rating": "basic"}',
    '{"rating": "unsatisfied"}',
]
ROLES = ["resident", "dispatcher", "system", "grid_worker", "property"]
TOKEN_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8)


def pg_url(url: str) -> str:
    """A libpq URL from an SQLAlchemy one (postgresql+psycopg://... -> postgresql://...)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


def ensure_database(url: str, *, reset: bool) -> None:
    """Create the database of `url` (dropped first with `reset`)."""
    base, name = pg_url(url).rsplit("/", 1)
    name = name.split("?")[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and reset:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


class City:
    """What the ticket model needs of the written district, as arrays indexed by grid position."""

    def __init__(self, session, world, rng):
        self.grid_ids = np.array(world.grid_ids, dtype=np.int64)
        self.community = np.array([world.community_of[g] for g in world.grid_ids], dtype=np.int64)
        self.street = np.array([world.street_of[g] for g in world.grid_ids], dtype=np.int64)
        self.worker = np.array([world.worker_of[g] for g in world.grid_ids], dtype=np.int64)
        prop = [world.property_of[g] for g in world.grid_ids]
        self.has_property = np.array([p is not None for p in prop])
        self.property = np.array([p or 0 for p in prop], dtype=np.int64)
        current = dict(
            session.execute(
                select(Boundary.region_id, Boundary.id).where(
                    Boundary.region_id.in_(world.grid_ids), Boundary.valid_to.is_(None)
                )
            ).all()
        )
        self.boundary = np.array([current[g] for g in world.grid_ids], dtype=np.int64)
        self.dispatchers = np.array(world.dispatcher_ids, dtype=np.int64)
        # Where reports fall: grids weighted (busy and quiet ones, a dozen hot spots), a point drawn
        # from POINTS_PER_GRID points inside each grid.
        n = len(self.grid_ids)
        weights = rng.gamma(2.0, 1.0, n)
        weights[rng.choice(n, size=min(n, rhythm.HOT_SPOTS), replace=False)] *= 8
        self.grid_p = weights / weights.sum()
        self.points = np.stack([_inside(rng, poly, POINTS_PER_GRID) for poly in world.grid_polygons])
        _, miny, maxx, maxy = shapely.total_bounds(np.asarray(world.grid_polygons, dtype=object))
        self.outside = (maxx + 0.01, miny, maxy)
        weights_by_code = category_weights()
        cats = [c for c in world.categories if c.code in weights_by_code]
        p = np.array([weights_by_code[c.code] for c in cats], dtype=float)
        self.cat_p = p / p.sum()
        self.cat_id = np.array([c.id for c in cats], dtype=np.int64)
        self.cat_iot = np.flatnonzero([c.code in IOT_CATEGORIES for c in cats])
        self.response_h = np.array([c.response_hours for c in cats])
        self.handling_h = np.array([c.handling_hours for c in cats])
        self.property_matter = np.array([bool(c.property_matter) for c in cats])
        self.priority = np.where(self.response_h <= 2, 1, 2)
        self.descriptions: list[str] = []
        starts, counts = [], []
        for c in cats:
            texts = DESCRIPTIONS.get(c.name, (c.name,))
            starts.append(len(self.descriptions))
            counts.append(len(texts))
            self.descriptions.extend(texts)
        self.desc_start, self.desc_count = np.array(starts), np.array(counts)


def _inside(rng, polygon, k: int) -> np.ndarray:
    minx, miny, maxx, maxy = polygon.bounds
    got = np.empty((0, 2))
    while len(got) < k:
        cand = np.column_stack([rng.uniform(minx, maxx, 4 * k), rng.uniform(miny, maxy, 4 * k)])
        got = np.vstack([got, cand[shapely.contains_xy(polygon, cand[:, 0], cand[:, 1])]])
    return got[:k]


def creation_times(rng, now_us: int, days: int, n: int, tz: str) -> np.ndarray:
    """`n` sorted report times (µs since the Unix epoch, UTC) over the `days` days up to now:
    rhythm's trend, season, weekday and hour-of-day profile, today cut at now."""
    local_now = datetime.fromtimestamp(now_us / US, tz=zone(tz))
    today = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    day_starts, weights = [], []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        w = rhythm.day_volume(day, back=back, days=days, per_day=1.0) * rhythm.HOUR_SHARE
        if back == 0:
            elapsed_h = (local_now - today).total_seconds() / 3600
            w = w * np.clip(elapsed_h - np.arange(24), 0, 1)
        day_starts.append(int(day.timestamp() * US))
        weights.append(w)
    weights = np.concatenate(weights)
    cells = rng.multinomial(n, weights / weights.sum())
    cell = np.repeat(np.arange(len(cells)), cells)
    starts = np.repeat(np.array(day_starts, dtype=np.int64), 24)[cell] + (cell % 24) * HOUR
    times = starts + rng.integers(0, HOUR, size=n)
    return np.sort(np.minimum(times, now_us))


def _u(rng, n, lo, hi):
    return rng.uniform(lo, hi, n)


def lives(rng, city: City, ids: np.ndarray, created: np.ndarray, now_us: int) -> dict:
    """Every ticket's steps at once: {step: times (µs, -1 = not happened)} and the ticket columns."""
    n = len(ids)
    never = np.int64(-1)
    lag = SWEEP_LAG

    grid_pos = rng.choice(len(city.grid_ids), size=n, p=city.grid_p)
    has_grid = rng.random(n) >= UNASSIGNED_SHARE
    pts = city.points[grid_pos, rng.integers(0, POINTS_PER_GRID, n)]
    lon, lat = pts[:, 0].copy(), pts[:, 1].copy()
    ox, oy0, oy1 = city.outside
    lon[~has_grid] = ox + rng.uniform(0, 0.01, (~has_grid).sum())
    lat[~has_grid] = rng.uniform(oy0, oy1, (~has_grid).sum())
    source_names = list(SOURCES)
    source = rng.choice(len(source_names), size=n, p=np.array(list(SOURCES.values())))
    cat = rng.choice(len(city.cat_id), size=n, p=city.cat_p)
    iot = source == source_names.index("iot")
    cat[iot] = rng.choice(city.cat_iot, size=int(iot.sum()))

    t: dict[str, np.ndarray] = {}
    t["report"] = created
    at = created + (_u(rng, n, *rhythm.ACCEPT_MINUTES) * MINUTE).astype(np.int64)
    roll = rng.random(n)
    reject = roll < rhythm.REJECT_SHARE
    duplicate = ~reject & (roll < rhythm.REJECT_SHARE + rhythm.DUPLICATE_SHARE) & (ids > 1)
    accepted = ~reject & ~duplicate
    t["reject"] = np.where(reject, at, never)
    t["duplicate"] = np.where(duplicate, at, never)
    t["accept"] = np.where(accepted, at, never)
    go = accepted & has_grid
    disp = at + (_u(rng, n, *rhythm.DISPATCH_MINUTES) * MINUTE).astype(np.int64)
    t["dispatch"] = np.where(go, disp, never)
    by_property = city.property_matter[cat] & city.has_property[grid_pos]
    resp_due = disp + (city.response_h[cat] * HOUR).astype(np.int64)
    handle_due = disp + (city.handling_h[cat] * HOUR).astype(np.int64)
    in_time = rng.random(n) < np.where(
        by_property, rhythm.RESPOND_IN_TIME["property"], rhythm.RESPOND_IN_TIME["grid_worker"]
    )
    span = _u(rng, n, *rhythm.RESPOND_IN_TIME_SPAN)
    late = _u(rng, n, *rhythm.RESPOND_LATE_HOURS)
    resp = np.where(
        in_time, disp + ((resp_due - disp) * span).astype(np.int64), resp_due + (late * HOUR).astype(np.int64)
    )
    t["escalate1"] = np.where(go & ~in_time & (resp_due <= now_us - lag), resp_due, never)
    t["respond"] = np.where(go, resp, never)
    handle_late = rng.random(n) < rhythm.HANDLE_LATE_SHARE
    h1 = np.where(
        handle_late,
        handle_due + (_u(rng, n, *rhythm.HANDLE_LATE_HOURS) * HOUR).astype(np.int64),
        np.maximum(resp + 20 * MINUTE, disp + ((handle_due - disp) * _u(rng, n, *rhythm.HANDLE_SPAN)).astype(np.int64)),
    )
    overdue_planned = go & (handle_due <= now_us - lag) & (h1 > handle_due)
    t["escalate2"] = np.where(overdue_planned, np.maximum(handle_due, resp), never)
    t["handle1"] = np.where(go, h1, never)
    verify1 = h1 + (_u(rng, n, *rhythm.VERIFY_HOURS) * HOUR).astype(np.int64)
    sent_back = go & (rng.random(n) < rhythm.SEND_BACK_SHARE)
    h2 = verify1 + (_u(rng, n, *rhythm.REWORK_HOURS) * HOUR).astype(np.int64)
    t["send_back"] = np.where(sent_back, verify1, never)
    t["handle2"] = np.where(sent_back, h2, never)
    close = np.where(sent_back, h2 + (_u(rng, n, *rhythm.VERIFY_HOURS) * HOUR).astype(np.int64), verify1)
    t["close"] = np.where(go, close, never)
    rated = go & (rng.random(n) < rhythm.RATED_SHARE)
    t["rate"] = np.where(rated, close + (_u(rng, n, *rhythm.RATE_HOURS) * HOUR).astype(np.int64), never)
    rating = rng.choice(len(RATING_VALUES), size=n, p=np.array(list(rhythm.RATINGS.values())) / 100)

    happened = {k: (v >= 0) & (v <= now_us) for k, v in t.items()}
    # A step happens only after the one before it (the times grow along a ticket's life; this
    # makes it exact).
    for name, before in (
        ("dispatch", "accept"),
        ("escalate1", "dispatch"),
        ("respond", "dispatch"),
        ("escalate2", "respond"),
        ("handle1", "respond"),
        ("send_back", "handle1"),
        ("handle2", "send_back"),
    ):
        happened[name] &= happened[before]
    happened["close"] &= np.where(sent_back, happened["handle2"], happened["handle1"])
    happened["rate"] &= happened["close"]
    status = np.full(n, S["reported"], dtype=np.int64)
    updated = created.copy()
    for name, _action, to, _actor in STEPS:
        h = happened[name]
        if to is not None:
            status[h] = S[to]
        updated[h] = np.maximum(updated[h], t[name][h])

    def when(step, mask=None):
        h = happened[step] if mask is None else happened[step] & mask
        return np.where(h, t[step], never)

    dispatched = happened["dispatch"]
    handled = np.where(
        happened["handle2"], t["handle2"], np.where(happened["handle1"] & ~happened["send_back"], t["handle1"], never)
    )
    cols = dict(
        grid_pos=grid_pos,
        has_grid=has_grid,
        lon=lon,
        lat=lat,
        source=source,
        cat=cat,
        status=status,
        by_property=by_property,
        dispatched=dispatched,
        accepted_at=when("accept"),
        dispatched_at=when("dispatch"),
        responded_at=when("respond"),
        handled_at=handled,
        closed_at=when("close"),
        rated_at=when("rate"),
        updated_at=updated,
        response_due_at=np.where(dispatched, resp_due, never),
        handle_due_at=np.where(dispatched, handle_due, never),
        escalation_level=np.where(happened["escalate2"], 2, np.where(happened["escalate1"], 1, 0)),
        overdue=happened["escalate2"],
        rework_count=happened["send_back"].astype(np.int64),
        duplicate_of=np.where(happened["duplicate"], np.maximum(1, ids - rng.integers(1, 200, n)), never),
        rating=rating,
        rated=happened["rate"],
        on_time=close <= handle_due,
    )
    return {"times": t, "happened": happened, "cols": cols}


def _tokens(rng, ids: np.ndarray) -> np.ndarray:
    """16-character public tokens, unique by construction: 7 base-32 digits of the id, 9 random."""
    n = len(ids)
    out = np.empty((n, 16), dtype=np.uint8)
    v = ids.astype(np.int64)
    for k in range(7):
        out[:, 6 - k] = TOKEN_ALPHABET[v % 32]
        v //= 32
    out[:, 7:] = TOKEN_ALPHABET[rng.integers(0, 64, (n, 9))]
    return out


def write_chunk(
    cur,
    rng,
    city: City,
    people: list[tuple[str, str]],
    first_id: int,
    first_event: int,
    created: np.ndarray,
    now_us: int,
) -> tuple[int, int]:
    """COPY one chunk of tickets with their events, escalations and ratings; returns (events, other rows)."""
    n = len(created)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    life = lives(rng, city, ids, created, now_us)
    c, times, happened = life["cols"], life["times"], life["happened"]
    g = c["grid_pos"]
    nog = ~c["has_grid"]
    never = lambda a: a < 0  # noqa: E731
    source_names = list(SOURCES)
    with_person = np.isin(c["source"], [source_names.index("resident"), source_names.index("hotline")])
    person = rng.integers(0, len(people), n)
    desc = city.desc_start[c["cat"]] + (rng.random(n) * city.desc_count[c["cat"]]).astype(np.int64)
    dispatched = c["dispatched"]
    staff = np.where(dispatched & ~c["by_property"], city.worker[g], -1)
    org = np.where(dispatched & c["by_property"], city.property[g], -1)
    tickets = [
        Col("id", "i8", ids),
        Col("source", "text", c["source"], vocab=source_names),
        Col("public_token", "raw", _tokens(rng, ids)),
        Col("category_id", "i4", city.cat_id[c["cat"]]),
        Col("priority", "i4", city.priority[c["cat"]]),
        Col("description", "text", desc, vocab=city.descriptions),
        Col("reporter_name", "text", person, ~with_person, vocab=[p[0] for p in people]),
        Col("reporter_phone", "text", person, ~with_person, vocab=[p[1] for p in people]),
        Col("photos", "text", np.zeros(n, dtype=np.int64), vocab=["[]"]),
        Col("data_quality", "text", np.zeros(n, dtype=np.int64), vocab=["[]"]),
        Col("lon", "f8", c["lon"]),
        Col("lat", "f8", c["lat"]),
        Col("location_match", "text", nog.astype(np.int64), vocab=["inside", "unassigned"]),
        Col("grid_id", "i4", city.grid_ids[g], nog),
        Col("community_id", "i4", city.community[g], nog),
        Col("street_id", "i4", city.street[g], nog),
        Col("boundary_id", "i4", city.boundary[g], nog),
        Col("status", "text", c["status"], vocab=STATUSES),
        Col("assignee_staff_id", "i4", staff, staff < 0),
        Col("assignee_org_id", "i4", org, org < 0),
        Col("escalation_level", "i4", c["escalation_level"]),
        Col("overdue", "bool", c["overdue"]),
        Col("rework_count", "i4", c["rework_count"]),
        Col("duplicate_of_id", "i8", c["duplicate_of"], never(c["duplicate_of"])),
        Col("rating", "text", c["rating"], ~c["rated"], vocab=RATING_VALUES),
        Col("created_at", "ts", created),
        *[
            Col(name, "ts", c[name], never(c[name]))
            for name in ("accepted_at", "dispatched_at", "responded_at", "handled_at", "closed_at", "rated_at")
        ],
        Col("updated_at", "ts", c["updated_at"]),
        Col("response_due_at", "ts", c["response_due_at"], never(c["response_due_at"])),
        Col("handle_due_at", "ts", c["handle_due_at"], never(c["handle_due_at"])),
    ]
    copy_columns(cur, "tickets", tickets)

    # Events: one per happened step, numbered in time order within the chunk.
    parts = []
    dispatcher = city.dispatchers[ids % len(city.dispatchers)]
    worker = city.worker[g]
    status_before = np.full(n, S["reported"], dtype=np.int64)
    for k, (name, _action, to, actor) in enumerate(STEPS):
        h = np.flatnonzero(happened[name])
        before = status_before[h] if name != "report" else np.full(len(h), -1)
        after = np.full(len(h), S[to]) if to is not None else before
        if to is not None:
            status_before[h] = S[to]
        if actor == "assignee":
            role = np.where(c["by_property"][h], ROLES.index("property"), ROLES.index("grid_worker"))
            actor_staff = np.where(c["by_property"][h], -1, worker[h])
        else:
            role = np.full(len(h), ROLES.index(actor))
            actor_staff = dispatcher[h] if actor == "dispatcher" else np.full(len(h), -1)
        data = np.zeros(len(h), dtype=np.int64)
        if name == "escalate1":
            data[:] = 1
        elif name == "escalate2":
            data[:] = 2
        elif name == "close":
            data = np.where(c["on_time"][h], 3, 4)
        elif name == "rate":
            data = 5 + c["rating"][h]
        parts.append(
            dict(
                ticket=h,
                at=times[name][h],
                action=np.full(len(h), k),
                before=before,
                after=after,
                role=role,
                staff=actor_staff,
                note=np.full(len(h), STEP_NOTE.get(name, 0)),
                data=data,
            )
        )
    ev = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.lexsort((ev["action"], ev["at"]))
    ev = {key: v[order] for key, v in ev.items()}
    m = len(order)
    event_ids = np.arange(first_event, first_event + m, dtype=np.int64)
    actions = [s[1] for s in STEPS]
    tick = ev["ticket"]
    copy_columns(
        cur,
        "ticket_events",
        [
            Col("id", "i8", event_ids),
            Col("ticket_id", "i8", ids[tick]),
            Col("at", "ts", ev["at"]),
            Col("action", "text", ev["action"], vocab=actions),
            Col("from_status", "text", np.maximum(ev["before"], 0), ev["before"] < 0, vocab=STATUSES),
            Col("to_status", "text", ev["after"], vocab=STATUSES),
            Col("actor_role", "text", ev["role"], vocab=ROLES),
            Col("actor_staff_id", "i4", ev["staff"], ev["staff"] < 0),
            Col("actor_name", "text", np.zeros(m, dtype=np.int64), ev["role"] != ROLES.index("system"), vocab=["系统"]),
            Col("note", "text", ev["note"], ev["note"] == 0, vocab=NOTES),
            Col("photos", "text", np.zeros(m, dtype=np.int64), vocab=["[]"]),
            Col("data", "text", ev["data"], vocab=DATA),
            Col("grid_id", "i4", city.grid_ids[g][tick], nog[tick]),
        ],
    )
    esc = np.flatnonzero(np.isin(ev["action"], [5, 7]))
    level = np.where(ev["action"][esc] == 5, 1, 2)
    copy_columns(
        cur,
        "escalations",
        [
            Col("ticket_id", "i8", ids[tick[esc]]),
            Col("level", "i4", level),
            Col("reason", "text", level - 1, vocab=["response_timeout", "handling_overdue"]),
            Col("at", "ts", ev["at"][esc]),
            Col("event_id", "i8", event_ids[esc]),
        ],
    )
    rated = np.flatnonzero(c["rated"])
    copy_columns(
        cur,
        "ratings",
        [
            Col("ticket_id", "i8", ids[rated]),
            Col("at", "ts", c["rated_at"][rated]),
            Col("value", "text", c["rating"][rated], vocab=RATING_VALUES),
        ],
    )
    return m, len(esc) + len(rated)


BULK_TABLES = ("tickets", "ticket_events", "escalations", "ratings")


def _drop_secondary(cur) -> list[str]:
    """Drop the bulk tables' unique constraints and secondary indexes; returns the SQL that makes
    them again."""
    again = []
    for table in BULK_TABLES:
        for name, definition in cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'u'",
            (table,),
        ).fetchall():
            again.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, definition in cur.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
            (table,),
        ).fetchall():
            again.append(definition)
            cur.execute(f'DROP INDEX "{name}"')
    return again


def generate_city(
    url: str,
    *,
    tickets: int,
    grids: int = 10_000,
    days: int = 730,
    seed: int = 2026,
    reset: bool = False,
    aggregates_too: bool = True,
    say=print,
) -> dict:
    """Create (or with `reset`, recreate) the city database at `url`; returns counts and timings."""
    from data.db import Database, upgrade_schema
    from data.demo import _demo_accounts, database_is_empty
    from data.settings import load_settings
    from geo.tiling import make_district

    timings: dict[str, float] = {}
    t0 = perf_counter()
    ensure_database(url, reset=reset)
    db = Database(url)
    upgrade_schema(db)
    if not database_is_empty(db):
        raise SystemExit(f"{url} already holds a district (use --reset)")
    settings = load_settings()
    rng = np.random.default_rng(seed)
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    communities = max(1, round(grids / 6.25))
    streets = max(1, min(communities, round(communities / 4)))
    district = make_district(seed=seed, n_streets=streets, n_communities=communities, n_grids=grids)
    say(f"district: {grids} grids, {communities} communities, {streets} streets")
    with db.session() as session:
        world = write_district(session, district, rng, faker)
        city = City(session, world, rng)
    timings["district_s"] = round(perf_counter() - t0, 1)
    people = [(faker.name(), faker.phone_number()) for _ in range(2000)]

    t1 = perf_counter()
    now_us = int(utcnow().timestamp() * US)
    created = creation_times(rng, now_us, days, tickets, settings.gcc_timezone)
    events = others = 0
    with psycopg.connect(pg_url(url)) as conn:
        cur = conn.cursor()
        cur.execute("SET session_replication_role = replica")  # no FK triggers: consistent by construction
        cur.execute("SET synchronous_commit = off")
        again = _drop_secondary(cur)
        conn.commit()
        for i in range(0, tickets, CHUNK):
            e, o = write_chunk(cur, rng, city, people, i + 1, events + 1, created[i : i + CHUNK], now_us)
            events += e
            others += o
            conn.commit()
            rate = (i + len(created[i : i + CHUNK])) / (perf_counter() - t1)
            say(f"  {i + len(created[i : i + CHUNK]):,} tickets, {events:,} events ({rate:,.0f} tickets/s)")
        timings["copy_s"] = round(perf_counter() - t1, 1)
        t2 = perf_counter()
        conn.autocommit = True
        cur.execute("SET maintenance_work_mem = '512MB'")
        for sql in again:
            cur.execute(sql)
        for table in BULK_TABLES:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"
            )
        timings["indexes_s"] = round(perf_counter() - t2, 1)
        t3 = perf_counter()
        for table in BULK_TABLES:
            cur.execute(f"VACUUM ANALYZE {table}")
        timings["analyze_s"] = round(perf_counter() - t3, 1)
    say(f"written in {perf_counter() - t1:.0f} s")
    if aggregates_too:
        from data import aggregates

        say("full aggregate rebuild")
        t4 = perf_counter()
        with db.session() as session:
            aggregates.refresh(session, "full", tz=settings.gcc_timezone)
        timings["aggregates_s"] = round(perf_counter() - t4, 1)
    _demo_accounts(db, settings, say)
    timings["total_s"] = round(perf_counter() - t0, 1)
    db.engine.dispose()
    return {"grids": grids, "tickets": tickets, "events": events, "other_rows": others, "days": days, **timings}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/gcc_city")
    p.add_argument("--tickets", type=int, default=10_000_000)
    p.add_argument("--grids", type=int, default=10_000)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--reset", action="store_true", help="drop and recreate the database first")
    p.add_argument(
        "--skip-aggregates", action="store_true", help="leave the rebuild to `python app.py aggregates --full`"
    )
    args = p.parse_args(argv)
    stats = generate_city(
        args.url,
        tickets=args.tickets,
        grids=args.grids,
        days=args.days,
        seed=args.seed,
        reset=args.reset,
        aggregates_too=not args.skip_aggregates,
        say=lambda m: print(m, flush=True),
    )
    print(stats)


if __name__ == "__main__":
    sys.exit(main())
