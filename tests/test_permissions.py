"""The permission table (dashboard/auth/permissions.py) names only what the app has: every ROUTES
rule (and each method it lists) is a Flask route, every ROUTE_PREFIXES prefix starts some route,
every PAGES key is a registered Dash page, and every CALLBACK_MODULES entry is the one the guard
picks for some server-side callback. A stale entry grants nothing today and would silently grant
its permission to whatever later takes that path.

The other direction (every route, page and callback has an entry) is the access sweep's
(tests/test_access_sweep.py)."""

from __future__ import annotations

import dash
import pytest

from dashboard.auth import permissions
from dashboard.server import create_app


@pytest.fixture
def app(db, settings):
    app = create_app(settings, db)
    app.server.test_client().get("/_dash-layout")  # lets Dash finish its setup (callbacks, pages)
    return app


def stale_entries(app: dash.Dash) -> list[str]:
    """One line per table entry that matches nothing the app serves."""
    methods: dict[str, set[str]] = {}
    for rule in app.server.url_map.iter_rules():
        methods.setdefault(rule.rule, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    pages = {p.get("path_template") or p.get("path") for p in dash.page_registry.values()}

    stale = []
    for rule, entry in permissions.ROUTES.items():
        if rule not in methods:
            stale.append(f"ROUTES[{rule!r}]: no route has this rule")
        elif isinstance(entry, dict):
            missing = [m for m in entry if m not in methods[rule]]
            stale += [f"ROUTES[{rule!r}][{m!r}]: the route does not answer {m}" for m in missing]
    for prefix in permissions.ROUTE_PREFIXES:
        if not any(rule.startswith(prefix) for rule in methods):
            stale.append(f"ROUTE_PREFIXES[{prefix!r}]: no route starts with it")
    stale += [f"PAGES[{path!r}]: no Dash page has this path" for path in permissions.PAGES if path not in pages]
    used = {governing_module(spec["callback"].__module__) for spec in server_callbacks(app)}
    used -= {None}
    stale += [
        f"CALLBACK_MODULES[{prefix!r}]: no server-side callback outside a page module is governed by it"
        for prefix in permissions.CALLBACK_MODULES
        if prefix not in used
    ]
    return stale


def server_callbacks(app: dash.Dash) -> list[dict]:
    """The callbacks that run on the server, outside page modules (those take their page's entry)."""
    page_modules = {p.get("module") for p in dash.page_registry.values()}
    return [
        spec
        for spec in app.callback_map.values()
        if spec.get("callback") is not None and spec["callback"].__module__ not in page_modules
    ]


def governing_module(module: str) -> str | None:
    """The CALLBACK_MODULES entry the guard applies to a callback of `module`: the longest prefix."""
    matches = [p for p in permissions.CALLBACK_MODULES if module == p or module.startswith(p + ".")]
    return max(matches, key=len, default=None)


def test_every_permission_entry_matches_a_real_route_page_or_callback(app):
    stale = stale_entries(app)
    assert not stale, "stale entries in dashboard/auth/permissions.py (remove them):\n" + "\n".join(stale)


def test_a_stale_entry_is_reported_by_name(app, monkeypatch):
    before = stale_entries(app)
    monkeypatch.setitem(permissions.PAGES, "/nowhere", permissions.Access("drilldown"))
    monkeypatch.setitem(permissions.ROUTES, "/login", {"GET": permissions.OPEN, "PUT": permissions.OPEN})
    monkeypatch.setitem(permissions.ROUTE_PREFIXES, "/api/v9/", permissions.Access(permissions.OWN_CREDENTIAL))
    monkeypatch.setitem(permissions.CALLBACK_MODULES, "dashboard.nothing", permissions.OPEN)
    assert [entry for entry in stale_entries(app) if entry not in before] == [
        "ROUTES['/login']['PUT']: the route does not answer PUT",
        "ROUTE_PREFIXES['/api/v9/']: no route starts with it",
        "PAGES['/nowhere']: no Dash page has this path",
        "CALLBACK_MODULES['dashboard.nothing']: no server-side callback outside a page module is governed by it",
    ]
