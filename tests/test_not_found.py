"""Issue #9 item 7: a path that is no page answers a real 404 (with the usual page shell, which
shows the not-found panel), not Dash's soft "404 - Page not found" with status 200; so does a
region page whose code is unknown, of another level or outside the viewer's area."""

from __future__ import annotations

import re

import pytest

from dashboard.server import create_app
from data import users
from data.read.directory import directory
from tests.page_render import page_text, render_page

PASSWORD = "notfound-pass-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HTML = {"Accept": "text/html"}


@pytest.fixture
def app(db, district, settings):
    with db.session() as s:
        users.create_demo_accounts(s, PASSWORD)
    return create_app(settings, db)


def client_as(app, username=None):
    client = app.server.test_client()
    if username:
        token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
        answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 303
    return client


def regions(db):
    with db.reader() as s:
        tree = directory(s)
        grid = tree.grids()[0]
        community = tree.get(grid.parent_id)
        street = tree.get(community.parent_id)
        return tree, grid, community, street


@pytest.mark.parametrize("path", ["/no-such-page", "/grid", "/reports", "/compare", "/not-found-404", "/a/b/c"])
def test_unknown_paths_are_a_real_404_with_the_page_shell(app, path):
    for client in (client_as(app), client_as(app, "admin")):
        answer = client.get(path, headers=HTML)
        assert answer.status_code == 404, path
        assert "_dash-renderer" in answer.get_data(as_text=True) or "dash_renderer" in answer.get_data(as_text=True)


def test_the_router_shows_the_not_found_panel(app):
    client = client_as(app, "admin")
    assert "页面不存在" in page_text(render_page(client, "/no-such-page"))


def test_known_pages_still_answer_200(db, app):
    _, grid, community, street = regions(db)
    client = client_as(app, "admin")
    for path in (
        "/",
        "/screen",
        "/district",
        f"/grid/{grid.code}",
        f"/community/{community.code}",
        f"/street/{street.code}",
    ):
        assert client.get(path, headers=HTML).status_code == 200, path


def test_region_pages_with_an_unknown_code_or_level_are_404(db, app):
    _, grid, community, street = regions(db)
    client = client_as(app, "admin")
    for path in (
        "/grid/nope",
        f"/street/{grid.code}",
        f"/grid/{community.code}",
        f"/community/{street.code}",
        "/street/",
    ):
        assert client.get(path, headers=HTML).status_code == 404, path
    assert "页面不存在" in page_text(render_page(client, "/grid/nope"))


def test_a_region_outside_the_viewers_area_is_404_and_refusals_stay_401_403(db, app):
    tree, *_ = regions(db)
    with db.reader() as s:
        community_id = users.find_user(s, "community").region_id
    foreign = next(g for g in tree.grids() if not tree.within(g.id, community_id))
    own = next(g for g in tree.grids() if tree.within(g.id, community_id))
    supervisor = client_as(app, "community")
    assert supervisor.get(f"/grid/{own.code}", headers=HTML).status_code == 200
    assert supervisor.get(f"/grid/{foreign.code}", headers=HTML).status_code == 404
    assert client_as(app).get(f"/grid/{own.code}", headers=HTML).status_code == 401  # not logged in
    assert client_as(app, "property").get(f"/grid/{own.code}", headers=HTML).status_code == 403  # no drill-down


def test_ticket_pages_with_an_unknown_or_foreign_ticket_are_404(db, app):
    from tests.helpers import new_ticket

    tree, *_ = regions(db)
    with db.reader() as s:
        community_id = users.find_user(s, "community").region_id
    foreign = next(g for g in tree.grids() if not tree.within(g.id, community_id))
    with db.session() as s:
        theirs = new_ticket(s, foreign.id).id
    admin = client_as(app, "admin")
    assert admin.get(f"/ticket/{theirs}", headers=HTML).status_code == 200
    assert admin.get(f"/desk/{theirs}", headers=HTML).status_code == 200
    for path in ("/ticket/999999", "/ticket/abc", "/ticket/²", "/desk/0", "/ticket/" + "9" * 5000):
        assert admin.get(path, headers=HTML).status_code == 404, path[:40]
    assert client_as(app, "community").get(f"/ticket/{theirs}", headers=HTML).status_code == 404


def test_the_browsers_favicon_request_gets_the_apps_icon(app):
    answer = client_as(app).get("/favicon.ico")
    assert answer.status_code == 301 and answer.headers["Location"].endswith("/_favicon.ico")
    assert client_as(app).get(answer.headers["Location"]).status_code == 200
