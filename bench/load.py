"""A bounded load generator for the wall and the drill-downs (bench/run.py), on httpx + asyncio.

It talks only to 127.0.0.1 (`Target` refuses any other host), and every run is bounded in time
and in requests. It replays what the browsers send: the wall's refresh callback (POST
/_dash-update-component with the stores the previous answer left, as tests/screen_client.py and
bench/bench_screen.py do) and the pages router's callback that renders a drill-down page
(/district, /street/<code>, ...) for a logged-in supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
import re
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from dashboard.screen import map as map_part
from dashboard.screen import refresh as refresh_part

TIMEOUT = 30.0
# One connection per request: `python app.py serve` (waitress) serves at most 100 connections at
# once (its connection_limit); 200 tabs each holding a keep-alive connection starve the rest.
LIMITS = httpx.Limits(max_keepalive_connections=0)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Target:
    base_url: str
    kiosk_token: str
    dependencies: list = field(default_factory=list)

    def __post_init__(self):
        if urlsplit(self.base_url).hostname not in LOOPBACK:
            raise ValueError(f"the load generator sends only to 127.0.0.1, not {self.base_url}")


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, seconds: float, size: int) -> None:
        self.latencies.append(seconds)
        self.sizes.append(size)

    def pct(self, p: float) -> float:
        return pct(self.latencies, p)


def pct(values, p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


# ----------------------------------------------------------------------------------------------
# Callback payloads from /_dash-dependencies.


def callback(dependencies: list, output_has: str) -> dict:
    for dep in dependencies:
        if output_has in dep["output"]:
            return dep
    raise LookupError(f"no callback with output {output_has}")


def _outputs(dep: dict) -> list[dict]:
    out = dep["output"]
    parts = out[2:-2].split("...") if out.startswith("..") and out.endswith("..") else [out]
    result = []
    for part in parts:
        cid, prop = part.rsplit(".", 1)
        result.append({"id": cid, "property": prop})
    return result


def refresh_payload(dep: dict, n: int, metric: str, sent: dict, meta: dict) -> dict:
    """The wall refresh as the browser sends it; inputs and state the bench does not know (a
    store added later) go as None, as a fresh page has them."""
    known = {
        f"{refresh_part.INTERVAL}.n_intervals": n,
        f"{map_part.METRIC}.value": metric,
        f"{map_part.FOCUS_VIEW}.data": None,
        f"{refresh_part.SENT}.data": sent,
        f"{map_part.META}.data": meta,
    }

    def values(items):
        return [{"id": i["id"], "property": i["property"], "value": known.get(f"{i['id']}.{i['property']}")}
                for i in items]  # fmt: skip

    return {
        "output": dep["output"],
        "outputs": _outputs(dep),
        "inputs": values(dep["inputs"]),
        "changedPropIds": [f"{refresh_part.INTERVAL}.n_intervals"],
        "state": values(dep["state"]),
    }


def page_payload(dep: dict, path: str) -> dict:
    values = {"pathname": path, "search": "", "hash": "", "href": f"http://127.0.0.1{path}"}
    inputs = [{"id": i["id"], "property": i["property"], "value": values.get(i["property"])} for i in dep["inputs"]]
    state = [{"id": s["id"], "property": s["property"], "value": values.get(s["property"])} for s in dep["state"]]
    return {
        "output": dep["output"],
        "outputs": _outputs(dep),
        "inputs": inputs,
        "changedPropIds": [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"],
        "state": state,
    }


# ----------------------------------------------------------------------------------------------
# Sessions.


async def kiosk_client(target: Target) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=target.base_url, timeout=TIMEOUT, headers={"Accept-Encoding": "gzip"}, limits=LIMITS
    )
    try:
        # Opening the page is not what is measured: a busy server gets longer.
        r = await client.get(f"/screen?kiosk={target.kiosk_token}", follow_redirects=True, timeout=4 * TIMEOUT)
        r.raise_for_status()
    except BaseException:
        await client.aclose()
        raise
    return client


@contextlib.asynccontextmanager
async def kiosk(target: Target):
    """A wall tab's HTTP session (kiosk link opened), closed afterwards."""
    client = await kiosk_client(target)
    try:
        yield client
    finally:
        await client.aclose()


async def login_client(target: Target, username: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=target.base_url, timeout=TIMEOUT, headers={"Accept-Encoding": "gzip"}, limits=LIMITS
    )
    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    r = await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1) if token else "", "next": ""},
    )
    if r.status_code not in (302, 303):
        raise RuntimeError(f"login as {username} failed: {r.status_code}")
    return client


async def dependencies(client: httpx.AsyncClient) -> list:
    r = await client.get("/_dash-dependencies")
    r.raise_for_status()
    return r.json()


@dataclass
class Screen:
    """One wall tab: its stores, kept between refreshes."""

    sent: dict
    meta: dict
    n: int = 0


async def refresh(client, dep, screen: Screen, metric: str = "open_now") -> tuple[float, int, dict]:
    screen.n += 1
    t0 = time.perf_counter()
    payload = refresh_payload(dep, screen.n, metric, screen.sent, screen.meta)
    r = await client.post("/_dash-update-component", json=payload)
    seconds = time.perf_counter() - t0
    r.raise_for_status()
    size = int(r.headers.get("content-length") or len(r.content))
    body = r.json() if r.content else {}
    response = body.get("response", {})
    if response.get(refresh_part.SENT, {}).get("data") is not None:
        screen.sent = response[refresh_part.SENT]["data"]
    if response.get(map_part.META, {}).get("data") is not None:
        screen.meta = response[map_part.META]["data"]
    return seconds, size, body


async def first_refresh(target: Target) -> tuple[Screen, int, int, dict]:
    """A new tab's first refresh (the whole figure): (its state after, bytes as sent, raw bytes, body)."""
    async with kiosk(target) as client:
        dep = callback(target.dependencies, "screen-sent.data")
        screen = Screen({}, {})
        screen.n += 1
        payload = refresh_payload(dep, screen.n, "open_now", {}, {})
        r = await client.post("/_dash-update-component", json=payload)
        r.raise_for_status()
        sent_bytes = int(r.headers.get("content-length") or len(r.content))
        body = r.json()
        response = body.get("response", {})
        screen.sent = response.get(refresh_part.SENT, {}).get("data") or {}
        screen.meta = response.get(map_part.META, {}).get("data") or {}
        return screen, sent_bytes, len(r.content), body


# ----------------------------------------------------------------------------------------------
# Load.


async def realistic_load(target: Target, *, screens: int, every_s: float, supervisors: int, click_s: float,
                         paths: list[str], seconds: float, login: tuple[str, str], start: Screen) -> dict:  # fmt: skip
    """`screens` wall tabs refreshing every `every_s` (random phase) and `supervisors` logged-in
    users opening a random drill-down page every ~`click_s`, for `seconds`. Every tab starts from
    the same state (`start`: a tab that already has the figure), as walls opened on one page do."""
    wall, drill = Samples(), Samples()
    dep = callback(target.dependencies, "screen-sent.data")
    page_dep = callback(target.dependencies, "_pages_content.children")
    stop = 0.0

    async def one_screen(i: int, client):
        rng = random.Random(i)
        screen = Screen(copy.deepcopy(start.sent), copy.deepcopy(start.meta), start.n)
        await asyncio.sleep(rng.uniform(0, every_s))
        while time.perf_counter() < stop:
            began = time.perf_counter()
            try:
                s, size, _ = await refresh(client, dep, screen)
                wall.add(s, size)
            except (httpx.HTTPError, ValueError) as e:
                wall.errors.append(type(e).__name__)
            await asyncio.sleep(max(0.0, every_s - (time.perf_counter() - began)))

    async def one_supervisor(i: int, client):
        rng = random.Random(1000 + i)
        await asyncio.sleep(rng.uniform(0, click_s))
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                r = await client.post("/_dash-update-component", json=page_payload(page_dep, rng.choice(paths)))
                r.raise_for_status()
                drill.add(time.perf_counter() - t0, len(r.content))
            except httpx.HTTPError as e:
                drill.errors.append(type(e).__name__)
            await asyncio.sleep(rng.uniform(0.5, 1.5) * click_s)

    # Every tab opens its page and every supervisor logs in before the measured time.
    clients = [await login_client(target, *login) for _ in range(supervisors)]
    tabs = []
    try:
        for _ in range(screens):
            try:
                tabs.append(await kiosk_client(target))
            except httpx.HTTPError as e:
                wall.errors.append(f"open: {type(e).__name__}")
        stop = time.perf_counter() + seconds
        began = time.perf_counter()
        await asyncio.gather(
            *[one_screen(i, c) for i, c in enumerate(tabs)], *[one_supervisor(i, c) for i, c in enumerate(clients)]
        )
        wall_s = time.perf_counter() - began
    finally:
        for c in clients + tabs:
            await c.aclose()
    return {"wall": wall, "drill": drill, "seconds": wall_s}


async def closed_loop(target: Target, *, clients: int, seconds: float, start: Screen) -> dict:
    """`clients` tabs refreshing back to back for `seconds`: the requests/s the server sustains."""
    samples = Samples()
    dep = callback(target.dependencies, "screen-sent.data")

    async def one(client):
        screen = Screen(copy.deepcopy(start.sent), copy.deepcopy(start.meta), start.n)
        while time.perf_counter() < stop:
            try:
                s, size, _ = await refresh(client, dep, screen)
                samples.add(s, size)
            except (httpx.HTTPError, ValueError) as e:
                samples.errors.append(type(e).__name__)

    tabs = [await kiosk_client(target) for _ in range(clients)]
    try:
        stop = time.perf_counter() + seconds
        began = time.perf_counter()
        await asyncio.gather(*[one(c) for c in tabs])
        wall = time.perf_counter() - began
    finally:
        for c in tabs:
            await c.aclose()
    return {"samples": samples, "rps": len(samples.latencies) / wall, "seconds": wall}


def summary(samples: Samples) -> str:
    if not samples.latencies:
        return "no answers"
    return (
        f"{len(samples.latencies):,} requests, p50 {samples.pct(50) * 1000:.0f} ms, "
        f"p95 {samples.pct(95) * 1000:.0f} ms, max {max(samples.latencies) * 1000:.0f} ms, "
        f"mean {statistics.mean(samples.latencies) * 1000:.0f} ms, errors {len(samples.errors)}"
    )
