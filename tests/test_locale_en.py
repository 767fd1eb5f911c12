"""GCC_LOCALE=en speaks English: every page of a real server on the demo, with all data removed,
shows no Chinese character (issue #12 item 5).

One server of its own (tests/live_server.start with GCC_LOCALE=en; the session `live` server is
Chinese). The Dash pages are drawn in headless Chromium (once the page has settled: the body's
innerText, the charts' SVG text, placeholders, the document title, and every string of Dash's
component tree, so dropdown options and panels not open yet count too); the phone pages are read
over HTTP (text, the attributes a person sees, and the JSON the page hands its script); the
phone script itself carries no Chinese outside its comments.

"Data" is every string the database holds (region, category, staff, organisation and estate
names, descriptions, addresses, reporter names, event notes, comments…) and the district name
setting, also as the pages show them masked (张*, 幸福小区***) or cut short (…). What is left
must be free of Han characters; the failure lists each page's offending strings.

To check another page, add one (role, path) line to PAGES (Dash) or HTTP_PAGES (Flask).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from sqlalchemy import String, Text, select

from data.history import last_finished_week
from data.masking import mask_address, mask_identifiers, mask_name
from data.models import Region, Ticket
from data.schema import Base
from tests import live_server
from tests.auth_helpers import kiosk_url, login_as
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # ~1 min: a demo, a server and a dozen pages

ROOT = Path(__file__).resolve().parent.parent
HAN = re.compile(r"[\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A run of text holding Han characters, with the CJK punctuation around it: what the failure shows.
HAN_RUN = re.compile(r"[^\s\"'<>]*[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff][^\s\"'<>]*")

# Dash pages: (who looks, path). {grid}, {community}, {street}, {ticket} come from the demo.
PAGES = [
    ("kiosk", "/screen"),
    ("admin", "/"),
    ("admin", "/district"),
    ("admin", "/street/{street}"),
    ("admin", "/community/{community}"),
    ("admin", "/grid/{grid}"),
    ("kiosk", "/screen?week={week}"),  # a historical view (issue #10): banner, clock, notices
    ("admin", "/community/{community}?week={week}"),
    ("dispatcher", "/desk"),
    ("dispatcher", "/desk/{ticket}"),
    ("dispatcher", "/ticket/{ticket}"),
    ("grid_worker", "/"),
    ("street_supervisor", "/street/{street}"),
    ("admin", "/grid/NO-SUCH-GRID"),  # not found
    ("admin", "/no/such/page"),  # not a page: the 404 panel
    ("admin", "/users"),
    ("admin", "/audit"),
    ("grid_worker", "/district"),  # another role's page: the refusal
]
HTTP_PAGES = [
    (None, "/report"),
    (None, "/t/{token}"),
    (None, "/t/{closed_token}"),  # the rating form
    ("grid_worker", "/my"),
    ("property", "/my"),
    (None, "/login"),
    (None, "/district"),  # what a signed-out visitor of a page gets: the login form with a notice
    (None, "/logout"),
    ("admin", "/screen?week=2026-W99"),  # a bad moment: 400 with a notice (issue #10)
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = live_server.start(tmp_path_factory.mktemp("locale_en"), env={"GCC_LOCALE": "en"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def places(server) -> dict:
    with server.database.reader() as s:

        def code(level):
            return s.scalars(select(Region.code).where(Region.level == level).order_by(Region.code)).first()

        ticket = s.scalars(select(Ticket).where(Ticket.status == "dispatched").order_by(Ticket.id)).first()
        closed = s.scalars(select(Ticket).where(Ticket.status == "closed").order_by(Ticket.id)).first()
        return {
            "grid": code("grid"),
            "community": code("community"),
            "street": code("street"),
            "ticket": ticket.id,
            "token": ticket.public_token,
            "closed_token": closed.public_token,
            "week": last_finished_week(None, "Asia/Shanghai"),
        }


@pytest.fixture(scope="module")
def data_strings(server) -> list[str]:
    """Every Han-bearing string in the database, as stored and as the pages may show it, longest first."""
    found: set[str] = set()
    with server.database.reader() as s:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            for column in columns:
                for value in s.execute(select(column).distinct()).scalars():
                    if value and HAN.search(value):
                        found.add(value)
    found.add(server_setting(server, "GCC_DISTRICT_NAME", "于都县"))
    shown = set(found)
    for value in found:
        shown.update(v for v in (mask_name(value), mask_address(value), mask_identifiers(value)) if v)
    return sorted((v for v in shown if HAN.search(v)), key=len, reverse=True)


def server_setting(server, name: str, default: str) -> str:
    return server.env.get(name) or default


def leftovers(text: str, data: list[str]) -> list[str]:
    """The Han-bearing bits of `text` once every data string is cut out (a string cut short with
    "…" counts as data when it starts a data string)."""
    for value in data:
        if value in text:
            text = text.replace(value, "\u0000")
    out = []
    for run in HAN_RUN.findall(text):
        head = run.split("…")[0].split("\u0000")[-1]
        if "…" in run and head and any(v.startswith(head) for v in data):
            continue
        if HAN.search(run.replace("\u0000", " ")):
            out.append(run.replace("\u0000", "▯"))
    return sorted(set(out))


# --------------------------------------------------------------------------------------------
# Dash pages in Chromium.

SEEN = """() => {
  const svg = Array.from(document.querySelectorAll('svg text')).map(e => e.textContent);
  const names = ['placeholder', 'title', 'aria-label', 'alt'];
  const attrs = Array.from(document.querySelectorAll('[placeholder],[title],[aria-label],img[alt]'))
    .map(e => names.map(n => e.getAttribute(n)).filter(Boolean).join(' '));
  // Dash's component tree: what the page holds but does not show yet (dropdown options, hidden
  // panels, figures' hover text).
  const tree = JSON.stringify((window.store && window.store.getState().layout) || null);
  return [document.title, document.body.innerText, ...svg, ...attrs, tree].join('\\n');
}"""
SETTLED = """() => !document.querySelector('[data-dash-is-loading="true"]')
  && !!document.querySelector('#_pages_content, #react-entry-point') && document.body.innerText.trim().length > 0"""


def settled_text(page) -> str:
    """What the page shows and holds once Dash has drawn it: nothing loading and the same text
    twice in a row."""
    last = {"text": None}

    def same_twice():
        if not page.evaluate(SETTLED):
            return None
        now = page.evaluate("() => document.body.innerText")
        if now == last["text"]:
            return True
        last["text"] = now
        return None

    wait_until(same_twice, timeout=40, what="the page to settle", every=0.75)
    return page.evaluate(SEEN)


def test_dash_pages_show_no_chinese_outside_data(server, places, data_strings, browser):
    problems = {}
    by_role: dict[str, list[str]] = {}
    for role, path in PAGES:
        by_role.setdefault(role, []).append(path.format(**places))
    for role, paths in by_role.items():
        context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-US")
        try:
            page = context.new_page()
            if role == "kiosk":
                page.goto(kiosk_url(server))
            elif role:
                login_as(page, server.url, role)
            for path in paths:
                page.goto(server.url + path)
                left = leftovers(settled_text(page), data_strings)
                if left:
                    problems[f"{role or 'anonymous'} {path}"] = left
        finally:
            context.close()
    assert not problems, "Chinese outside data with GCC_LOCALE=en:\n" + "\n".join(
        f"  {where}: {left}" for where, left in problems.items()
    )


# --------------------------------------------------------------------------------------------
# Flask pages over HTTP.

SHOWN_ATTRIBUTES = {"placeholder", "title", "alt", "aria-label", "label"}


class Visible(HTMLParser):
    """The text a person sees on an HTML page, the attributes shown with it, and the JSON a
    page hands its script (<script type="application/json">)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._json = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
            self._json = tag == "script" and attrs.get("type") == "application/json"
        self.parts.extend(v for k, v in attrs.items() if v and (k in SHOWN_ATTRIBUTES or k.startswith("data-")))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
            self._json = False

    def handle_data(self, data):
        if self._json:
            self.parts.extend(_strings(json.loads(data)))
        elif not self._skip:
            self.parts.append(data)


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def visible_text(html: str) -> str:
    parser = Visible()
    parser.feed(html)
    return "\n".join(parser.parts)


def test_phone_pages_show_no_chinese_outside_data(server, places, data_strings):
    problems = {}
    for role, path in HTTP_PAGES:
        with requests.Session() as session:
            if role:
                login_as(session, server.url, role)
            response = session.get(server.url + path.format(**places), headers={"Accept": "text/html"}, timeout=30)
            assert response.status_code in (200, 400, 401, 403), (path, response.status_code, response.text[:300])
            left = leftovers(visible_text(response.text), data_strings)
            if left:
                problems[f"{role or 'anonymous'} {path}"] = left
    assert not problems, "Chinese outside data with GCC_LOCALE=en:\n" + "\n".join(
        f"  {where}: {left}" for where, left in problems.items()
    )


def test_the_phone_script_says_nothing_of_its_own():
    """phone.js shows only the strings its page hands it (in the page's locale)."""
    script = (ROOT / "dashboard/phone/static/phone.js").read_text()
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", script, flags=re.S)
    assert not HAN_RUN.findall(code)


def test_the_check_finds_chinese_and_forgives_data():
    data = ["幸福小区3栋", "幸福小区***", "张三丰", "张*丰"]
    assert leftovers("Reported at 幸福小区3栋 by 张*丰", data) == []
    assert leftovers("Status: 待受理 (幸福小区3栋)", data) == ["待受理"]
    assert leftovers("Grid 幸福小… 12", data) == []
    assert leftovers("提交", data) == ["提交"]
    assert "提交" in visible_text('<p title="提交">x</p><script type="application/json">{"a": "提交"}</script>')


# --------------------------------------------------------------------------------------------
# What the phone script says, and what the API and Open311 tell people.


def test_the_report_page_speaks_english_from_tap_to_notice(server, data_strings, browser):
    """Two reports of the same kind on the same spot: the second one's page tells, in English,
    that it may be a duplicate (a notice worded by the dashboard from the intake's code)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="en-US")
    try:
        page = context.new_page()
        said = []
        for _ in range(2):
            page.goto(server.url + "/report")
            page.wait_for_selector("#map svg path")
            page.select_option("#category", "0101")
            box = page.locator("#map svg").bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            said.append(page.inner_text("#where"))
            page.click("#submit")
            page.wait_for_selector("#done:not(.hidden)", timeout=20000)
            said.append(page.inner_text("body"))
        assert said[0].startswith("Picked on the map: ")
        assert "may be a duplicate" in page.inner_text("#done-notes")
        assert not leftovers("\n".join(said), data_strings)
    finally:
        context.close()


def test_the_api_and_open311_answer_in_english(server, data_strings):
    key = server.api_key("dispatcher")
    api = requests.post(
        server.url + "/api/v1/tickets",
        json={"category": "0101", "description": "x", "lon": 10.0, "lat": 10.0},
        headers={"X-Api-Key": key},
        timeout=30,
    ).json()
    assert api["notices"] == ["The location is in no grid: the ticket waits in the unassigned queue"]
    assert api["ticket"]["status_label"] == "New"
    detail = requests.get(f"{server.url}/api/v1/tickets/{api['ticket_id']}", headers={"X-Api-Key": key}, timeout=30)
    o311 = requests.post(
        server.url + "/open311/v2/requests.json",
        data={"api_key": key, "service_code": "0101", "lat": "10", "long": "10", "media_url": "http://x/y.jpg"},
        timeout=30,
    ).json()
    token = o311[0]["token"]

    def get(path):
        return requests.get(server.url + path, timeout=30).json()

    seen = {
        "POST /api/v1/tickets": api,
        "GET /api/v1/tickets/<id>": detail.json(),
        "POST /open311/v2/requests": o311,
        "GET /open311/v2/requests/<token>": get(f"/open311/v2/requests/{token}.json"),
        "GET /open311/v2/services": get("/open311/v2/services.json"),
        "GET /open311/v2/discovery": get("/open311/v2/discovery.json"),
    }
    problems = {}
    for where, body in seen.items():
        if left := leftovers("\n".join(_strings(body)), data_strings):
            problems[where] = left
    assert not problems, problems
    assert "media_url is not fetched" in o311[0]["service_notice"]
