"""The wall's 预警 panel and its pulsing map markers.

The panel lists the newest open alerts (kind, category, area, evidence count, strength); each
links to its area's drill-down filtered to the evidence. It refreshes on its own interval
(GCC_REFRESH_SECONDS) and hands the alerts' points to the browser (a dcc.Store), where
assets/gcc_alerts.js draws them as pulsing circles on the screen's map (a MapLibre layer of its
own, so the map's figure and its refresh are untouched); clicking one opens the same drill-down.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from dash import ClientsideFunction, Input, Output, dcc, html, no_update

from dashboard.common.context import reader, settings
from dashboard.common.fmt import local
from dashboard.labels import t
from dashboard.viewer import current_viewer
from data.alerts.read import AlertRecord, alerts_active, open_alerts
from data.history import Moment

log = logging.getLogger(__name__)

CONTAINER, INTERVAL, POINTS, SINK = (
    "screen-alerts",
    "screen-alerts-interval",
    "screen-alerts-points",
    "screen-alerts-sink",
)
SHOWN = 6  # rows in the panel
MARKED = 50  # points on the map
HISTORY_WINDOW = timedelta(days=7)  # a historical wall's alerts: evidence in the week before its moment


def item(a: AlertRecord, tz: str, linked: bool = True) -> html.Li:
    area = a.area_name or (a.device_id or "")
    hint = " ".join(x for x in (a.device_id, a.area_name, f"{a.score:g}") if x)
    body = [
        html.Span(t(f"alerts.kind.{a.kind}"), className=f"alert-kind alert-kind-{a.kind}"),
        html.Span(a.category or "", className="alert-category"),
        html.Span(area, className="alert-area"),
        html.Span(t("alerts.evidence", n=a.evidence_count), className="alert-count"),
        html.Span(local(a.last_seen, tz, "%H:%M"), className="alert-time"),
    ]
    inner = html.A(body, href=a.drill_url, className="alert-link") if a.drill_url and linked else html.Span(body)
    return html.Li(inner, className=f"alert-item alert-state-{a.state}", title=hint)


def render(items: list[AlertRecord], tz: str, linked: bool = True) -> list:
    """The panel's rows; `linked` (the viewer may open drill-downs: not the kiosk) makes them links."""
    if not items:
        return [html.P(t("alerts.empty"), className="panel-empty")]
    return [item(a, tz, linked) for a in items[:SHOWN]]


def points(items: list[AlertRecord], linked: bool = True) -> list[dict]:
    """The markers: where, how strong (the circle's size), and the drill-down to open (if allowed)."""
    return [
        {
            "lon": a.lon,
            "lat": a.lat,
            "kind": a.kind,
            "score": a.score,
            "n": a.evidence_count,
            "url": (a.drill_url or "") if linked else "",
        }
        for a in items
        if a.lon is not None and a.lat is not None
    ]


def read(viewer, moment: Moment | None = None) -> list[AlertRecord]:
    """The open alerts now; for a historical wall (issue #10) the alerts with evidence in the seven
    days up to that moment (strongest first), never today's alerts under an old date."""
    with reader() as session:
        if moment is None:
            return open_alerts(session, viewer, order="newest", limit=MARKED)
        return alerts_active(session, viewer, moment.at - HISTORY_WINDOW, moment.at, limit=MARKED)


def layout(viewer, moment: Moment | None = None) -> html.Div:
    cfg = settings()
    linked = viewer.can("drilldown")
    items: list[AlertRecord] = []
    try:
        items = read(viewer, moment)
    except Exception:
        log.exception("screen: alerts read failed")
    return html.Div(
        [
            html.H2([t("alerts.title"), html.Span(className="alert-dot")], className="panel-title"),
            html.Ul(render(items, cfg.gcc_timezone, linked), id=CONTAINER, className="alert-list"),
            dcc.Interval(id=INTERVAL, interval=cfg.gcc_refresh_seconds * 1000, disabled=moment is not None),
            dcc.Store(id=POINTS, data=points(items, linked)),
            html.Div(id=SINK, hidden=True),
        ],
        className="panel screen-alerts-panel",
    )


def refresh(_n):
    viewer = current_viewer()
    if not viewer.can("aggregates"):
        return no_update, no_update
    try:
        items = read(viewer)
    except Exception:
        log.exception("screen alerts refresh failed; keeping the last list")
        return no_update, no_update
    linked = viewer.can("drilldown")
    return render(items, settings().gcc_timezone, linked), points(items, linked)


def register_callbacks(app) -> None:
    app.callback(
        Output(CONTAINER, "children"), Output(POINTS, "data"), Input(INTERVAL, "n_intervals"), prevent_initial_call=True
    )(refresh)
    app.clientside_callback(
        ClientsideFunction("gccAlerts", "mark"),
        Output(SINK, "children"),
        Input(POINTS, "data"),
    )
