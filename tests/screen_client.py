"""Drive the big screen's refresh callback over HTTP the way the browser does (Flask test client,
the real app, the real callback endpoint and guard): used by tests/test_screen_refresh.py and by
bench/bench_screen.py."""

from __future__ import annotations

import json
from dataclasses import dataclass

from dashboard import screen
from dashboard.common import asof
from dashboard.screen import map as map_part
from dashboard.screen import refresh


def find(component, component_id: str):
    """The component with this id in a Dash layout tree."""
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    if children is None:
        return None
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json"):
            got = find(child, component_id)
            if got is not None:
                return got
    return None


@dataclass
class Reply:
    status: int
    raw_bytes: int
    body: dict

    def output(self, component_id: str, prop: str):
        return self.body.get("response", {}).get(component_id, {}).get(prop)

    def has(self, component_id: str) -> bool:
        return component_id in self.body.get("response", {})


class ScreenClient:
    """One browser tab on /screen: the page's stores are kept between refreshes."""

    def __init__(self, app, *, metric: str = "open_now"):
        self.app = app
        self.client = app.server.test_client()
        self.metric = metric
        self.sent: dict = {}
        self.meta: dict = {}
        self.n = 0
        self.focus = None
        self.moment = None  # the page's historical moment store (?as_of= / ?week=, issue #10)
        self.key = next(k for k in app.callback_map if "screen-sent.data" in k and "screen-kpis.children" in k)
        self.outputs = [{"id": o.component_id, "property": o.component_property} for o in refresh.OUTPUTS]

    def load(self, viewer, **query):
        """Render the page (as the pages router would) and keep its stores."""
        with self.app.server.test_request_context("/screen"):
            from flask import g

            g.viewer = viewer
            page = screen.layout(viewer, **query)
        sent, meta, metric = find(page, refresh.SENT), find(page, map_part.META), find(page, map_part.METRIC)
        self.sent = dict(sent.data or {}) if sent is not None else {}  # None: a refused page
        self.meta = dict(meta.data or {}) if meta is not None else {}
        self.metric = metric.value if metric is not None else self.metric
        moment = find(page, asof.STORE)
        self.moment = moment.data if moment is not None else None
        return page

    def refresh(self, *, metric: str | None = None, focus="keep") -> Reply:
        changed = "screen-map-metric.value" if metric and metric != self.metric else "screen-interval.n_intervals"
        self.metric = metric or self.metric
        if focus != "keep":
            self.focus = focus
        self.n += 1
        payload = {
            "output": self.key,
            "outputs": self.outputs,
            "inputs": [
                {"id": refresh.INTERVAL, "property": "n_intervals", "value": self.n},
                {"id": map_part.METRIC, "property": "value", "value": self.metric},
                {"id": map_part.FOCUS_VIEW, "property": "data", "value": self.focus},
            ],
            "changedPropIds": [changed],
            "state": [
                {"id": refresh.SENT, "property": "data", "value": self.sent},
                {"id": map_part.META, "property": "data", "value": self.meta},
                {"id": asof.STORE, "property": "data", "value": self.moment},
            ],
        }
        response = self.client.post("/_dash-update-component", json=payload)
        raw = response.get_data()
        body = json.loads(raw) if response.status_code == 200 and raw else {}
        reply = Reply(response.status_code, len(raw), body)
        sent = reply.output(refresh.SENT, "data")
        if sent is not None:
            self.sent = sent
        meta = reply.output(map_part.META, "data")
        if meta is not None:
            self.meta = meta
        return reply
