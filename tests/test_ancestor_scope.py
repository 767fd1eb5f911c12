"""Issue #9 item 5: a viewer scoped to a grid (or a community) opening a page of a region above
their area — /district, /street/<code>, /community/<code> — sees every card limited to their
area: the indicators, the 人口房屋 counts (低保, 残疾人, 独居老人) and the team are their grid's,
never the whole region's; other branches are not listed. Read layer and rendered page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dashboard.server import create_app
from data import users
from data.access import Viewer
from data.models import Region, Staff
from data.read.directory import directory
from data.read.regions import region_page
from tests.page_render import dump, page_text, render_page

PASSWORD = "ancestor-pass-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
GRID_PROFILE = {
    "population": 1234,
    "households": 456,
    "houses": 321,
    "low_income": 7,
    "disabled": 8,
    "elderly_alone": 9,
}


def _mark_profiles(db, grid_id):
    """The worker's grid gets small distinct counts; every other region large ones (9xx)."""
    with db.session() as s:
        for region in s.scalars(select(Region)):
            values = GRID_PROFILE if region.id == grid_id else {k: 900 + i for i, k in enumerate(GRID_PROFILE)}
            for key, value in values.items():
                setattr(region, key, value)


def _area(db, grid_id):
    with db.reader() as s:
        tree = directory(s)
        return list(tree.chain(grid_id))  # district, street, community, grid


@pytest.fixture
def worker(db, district):
    with db.session() as s:
        users.create_demo_accounts(s, PASSWORD)
        account = users.find_user(s, "worker")
        viewer = users.viewer_for(account)
        street_staff = [st.name for st in s.scalars(select(Staff).where(Staff.role == "supervisor"))]
    assert viewer.region_id is not None
    _mark_profiles(db, viewer.region_id)
    return viewer, street_staff


def test_read_layer_limits_ancestor_pages_to_the_viewers_grid(db, district, worker):
    viewer, _ = worker
    district_r, street, community, grid = _area(db, viewer.region_id)
    with db.reader() as s:
        own = region_page(s, viewer, grid.code, level="grid")
        pages = [
            region_page(s, viewer, street.code, level="street"),
            region_page(s, viewer, community.code, level="community"),
            region_page(s, viewer, district_r.code, level="district"),
        ]
    assert own.limited_to is None and own.profile["low_income"] == 7
    for page in pages:
        assert page.limited_to is not None and page.limited_to.code == grid.code
        assert page.profile == GRID_PROFILE, page.region.level  # the grid's, never the area's 9xx
        assert page.team == own.team
        assert page.grid_codes == [grid.code] and page.stats.grids == 1
        # Only the branch leading to the viewer's grid is listed.
        assert {c.code for c in page.children} <= {street.code, community.code, grid.code}


def test_a_community_supervisor_on_the_street_page_sees_the_community(db, district):
    grid_id = district.grid_ids[0]
    community_id = district.community_of[grid_id]
    _mark_profiles(db, -1)
    with db.session() as s:
        s.get(Region, community_id).low_income = 42
    _, street, community, _ = _area(db, grid_id)
    viewer = Viewer(role="supervisor", region_id=community_id)
    with db.reader() as s:
        page = region_page(s, viewer, street.code, level="street")
        whole = region_page(s, Viewer(role="dispatcher"), street.code, level="street")
    assert page.limited_to.code == community.code and page.profile["low_income"] == 42
    assert whole.limited_to is None and whole.profile["low_income"] == 900 + 3
    assert [c.code for c in page.children] == [community.code]
    assert len(whole.children) > 1


@pytest.fixture
def client(db, settings, worker):
    client = create_app(settings, db).server.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    answer = client.post("/login", data={"username": "worker", "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303
    return client


def test_rendered_ancestor_pages_show_the_grids_numbers_to_a_grid_worker(db, district, worker, client):
    viewer, street_staff = worker
    _, street, community, grid = _area(db, viewer.region_id)
    assert street_staff, "the demo district has street/community supervisors"
    for path in ("/district", f"/street/{street.code}", f"/community/{community.code}"):
        layout = render_page(client, path)
        text = page_text(layout)
        assert "1,234" in text or "1234" in text, path  # the grid's population
        for value in ("7", "8", "9"):
            assert value in text.split("\n"), (path, value)
        assert not re.search(r"\b90[0-5]\b", dump(layout)), path  # no count of the whole area
        assert not any(name in text for name in street_staff), path  # not the area's team
        assert grid.name in text
