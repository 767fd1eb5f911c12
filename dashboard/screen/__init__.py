"""The big screen (/screen): a dark 16:9 wall for 1920x1080 (3840x2160 with a device scale factor
of 2), no navigation chrome, refreshing itself.

Parts, each a layout plus (where it has its own behaviour) callbacks; ids are prefixed `screen-`:
    header   district, clock, data as-of and the stale marker
    kpis     the eight KPI cards
    map      the grid map (choropleth, outlines, heat, overdue), metric switch, rotation
    charts   trend, today by hour, category and channel breakdowns
    ranking  best and worst grids by on-time closure rate
    feed     the newest reports, no personal data
    refresh  the one interval callback that updates them all
"""

from __future__ import annotations

import logging

from dash import ClientsideFunction, Input, Output, State, dcc, html
from flask import request

from dashboard.common import asof as history
from dashboard.common.access import refusal
from dashboard.common.context import db, reader, sent_values, settings
from dashboard.labels import current_locale, t
from dashboard.screen import charts, feed, header, kpis, ranking, refresh
from dashboard.screen import map as map_part
from dashboard.screen.sent import Sent
from data.history import BadMoment
from data.read.directory import directory
from data.read.geometry import grid_geometry
from data.read.history import read_screen_at
from data.read.scope import stat_scope
from data.read.screen import METRICS
from data.read.snapshots import shared_screen

log = logging.getLogger(__name__)

ROTATE, ROTATE_STEP, NOTICE = "screen-rotate", "screen-rotate-step", "screen-notice"
SINK_CLICK = "screen-sink-click"  # output of a browser-only callback
ROTATE_RANGE = (10, 3600)


def parse_rotate(value) -> tuple[int, str]:
    """Seconds between rotation steps from `?rotate=N` (0: off), and a notice if N was invalid."""
    if value in (None, ""):
        return 0, ""
    try:
        seconds = int(str(value))
    except ValueError:
        return 0, f"rotate={value!s:.20}: {ROTATE_RANGE[0]}-{ROTATE_RANGE[1]}"
    if not ROTATE_RANGE[0] <= seconds <= ROTATE_RANGE[1]:
        return 0, f"rotate={seconds}: {ROTATE_RANGE[0]}-{ROTATE_RANGE[1]}"
    return seconds, ""


def layout(viewer, rotate=None, metric=None, as_of=None, week=None, **_query) -> html.Div:
    denied = refusal(viewer, "aggregates", "regions")
    if denied is not None:
        return html.Div(denied, className="screen screen-denied")
    cfg = settings()
    tz = cfg.gcc_timezone
    try:  # ?as_of= / ?week=: the wall as it was then (issue #10), not refreshing
        moment = history.moment_of({"as_of": as_of, "week": week}, tz)
    except BadMoment as exc:
        return html.Div(history.notice(exc, "/screen"), className="screen screen-denied")
    rotate_seconds, notice = parse_rotate(rotate)
    if metric not in METRICS:
        if metric:
            notice = (notice + " " if notice else "") + f"metric={metric!s:.20}: {', '.join(METRICS)}"
        metric = METRICS[0]
    sent = Sent({}, sent_values())
    snapshot = geometry = scope = tree = None
    try:
        with reader() as session:
            scope = stat_scope(session, viewer)
            geometry = grid_geometry(session)
            if moment is None:
                snapshot = shared_screen(
                    session, viewer, tz=tz, bucket_s=cfg.gcc_refresh_seconds, redis_url=cfg.gcc_redis_url
                )
            else:
                snapshot = read_screen_at(session, viewer, moment, tz=tz, database=db())
            tree = directory(session)
    except Exception:
        log.exception("screen: first read failed")
    district = (snapshot.district if snapshot else "") or cfg.gcc_district_name
    asof = refresh.asof(snapshot.as_of, snapshot.read_at, tz, 0) if snapshot else header.asof_data("", None, 0)
    stale_after = 2 * cfg.gcc_refresh_seconds + cfg.gcc_aggregate_seconds
    base_url = request.host_url.rstrip("/")
    body = html.Div(
        [
            kpis.layout(snapshot.kpis if snapshot else None, sent),
            map_part.layout(
                map_part.MapInput(snapshot, geometry, scope, metric, cfg, base_url, tree=tree)
                if snapshot and geometry
                else None,
                tree,
                sent,
                metric,
            ),
            html.Div(
                [
                    ranking.layout(
                        snapshot.ranking_best if snapshot else None,
                        snapshot.ranking_worst if snapshot else None,
                        sent,
                        query=history.keep("", moment),
                    ),
                    feed.layout(snapshot.feed if snapshot else None, tz, sent),
                ],
                className="screen-side",
            ),
            html.Div(charts.layout(snapshot, tz, sent), className="screen-bottom"),
        ],
        className="screen-body",
    )
    return html.Div(
        [
            header.layout(
                district,
                tz,
                stale_after,
                asof,
                current_locale(),
                banner=t("error.unavailable") if snapshot is None else "",
                history=moment.label(tz, current_locale()) if moment else None,
            ),
            history.banner(moment, tz, "/screen") if moment else None,
            dcc.Store(id=history.STORE, data=history.to_store(moment)),
            html.Div(notice, id=NOTICE, className="screen-notice" if notice else "screen-notice is-hidden"),
            body,
            dcc.Interval(id=refresh.INTERVAL, interval=cfg.gcc_refresh_seconds * 1000, disabled=moment is not None),
            dcc.Interval(
                id=ROTATE, interval=max(rotate_seconds, 1) * 1000, disabled=not rotate_seconds or moment is not None
            ),
            dcc.Store(id=ROTATE_STEP, data=0),
            dcc.Store(id=refresh.SENT, data=sent.current),
            html.Div(id=SINK_CLICK, hidden=True),
        ],
        className="screen is-history" if moment else "screen",
        id="screen",
    )


def register_callbacks(app) -> None:
    refresh.register_callbacks(app)
    map_part.register_callbacks(app)  # level of detail: streets or grids by zoom (issue #14)
    # Clock and stale marker, every second, in the browser.
    app.clientside_callback(
        ClientsideFunction("gcc", "tick"),
        Output(header.CLOCK, "children"),
        Output(header.ASOF_TEXT, "children"),
        Output(header.STALE, "className"),
        Input(header.TICK, "n_intervals"),
        # State, not Input: Dash holds a callback whose input is the output of a pending one, and a
        # refresh hanging on a stopped server would then freeze the clock and the stale marker too.
        State(header.ASOF, "data"),
        State(header.CONFIG, "data"),
    )
    # Clicking a grid opens its page.
    app.clientside_callback(
        ClientsideFunction("gcc", "openGrid"),
        Output(SINK_CLICK, "children"),
        Input(map_part.GRAPH, "clickData"),
        prevent_initial_call=True,
    )
    # ?rotate=N: every N seconds the next metric, and every other step a community in focus.
    app.clientside_callback(
        ClientsideFunction("gcc", "rotate"),
        Output(map_part.METRIC, "value"),
        Output(map_part.FOCUS, "children"),
        Output(map_part.FOCUS_VIEW, "data"),
        Output(ROTATE_STEP, "data"),
        Input(ROTATE, "n_intervals"),
        State(ROTATE_STEP, "data"),
        State(map_part.VIEW, "data"),
        State(map_part.METRIC, "options"),
        State(header.CONFIG, "data"),
        prevent_initial_call=True,
    )
