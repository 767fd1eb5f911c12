"""A wall tab whose refreshes land on different web workers (issue #14): what one worker sent is
known to the others through the shared store, so the other worker still answers with a patch of
the changed entries, not the whole array."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.figures import maps
from dashboard.server import create_app
from data import aggregates
from data.access import Viewer
from data.clock import utcnow
from data.read import recent
from tests.helpers import new_ticket
from tests.screen_client import ScreenClient

PATCH = "__dash_patch_update"


@pytest.fixture(autouse=True)
def _fresh_caches():
    recent.clear()


def _worker(settings, db):
    app = create_app(settings, db)
    app.server.config["GCC_VIEWER_RESOLVER"] = Viewer.kiosk
    return app


def test_another_worker_patches_what_the_first_one_sent(db, district, settings):
    with db.session() as s:
        for i, grid in enumerate(district.grid_ids[:6]):
            new_ticket(s, grid, at=utcnow().replace(microsecond=0) - timedelta(hours=i))
        aggregates.refresh(s, "full", tz=settings.gcc_timezone)
    first, second = _worker(settings, db), _worker(settings, db)
    tab = ScreenClient(first)
    tab.load(Viewer.kiosk())
    assert first.server.extensions["gcc_sent_values"] is not second.server.extensions.get("gcc_sent_values")

    with db.session() as s:
        new_ticket(s, district.grid_ids[7], at=utcnow())
        aggregates.refresh(s, "incremental", tz=settings.gcc_timezone)
    tab.client = second.server.test_client()  # the load balancer sends this refresh elsewhere
    reply = tab.refresh()
    assert reply.status == 200
    figure = reply.output("screen-map", "figure")
    assert figure.get(PATCH) == PATCH, figure
    z_ops = [op for op in figure["operations"] if op["location"][:3] == ["data", maps.TRACE_METRIC, "z"]]
    assert len(z_ops) == 1 and len(z_ops[0]["location"]) == 4  # one grid's value, not all twelve
