"""The one refresh callback of the big screen: every `GCC_REFRESH_SECONDS` it reads one snapshot
(data.read.screen: aggregates and recent tickets only) and returns, per panel, nothing (unchanged),
a Patch (changed values) or a new component. On any failure — the database briefly unreachable,
an unexpected error — it keeps every panel as it is: the header's stale marker then appears by
itself, and the next refresh recovers."""

from __future__ import annotations

import logging

from dash import Input, Output, State, no_update
from flask import request

from dashboard.common import asof as history
from dashboard.common.context import db, reader, sent_values, settings
from dashboard.common.fmt import local
from dashboard.common.inputs import as_dict, as_int, as_str
from dashboard.labels import t
from dashboard.screen import charts, feed, header, kpis, ranking
from dashboard.screen import map as map_part
from dashboard.screen.sent import Sent
from dashboard.viewer import current_viewer
from data.access import AccessDenied
from data.read.directory import directory
from data.read.geometry import grid_geometry
from data.read.history import read_screen_at
from data.read.scope import stat_scope
from data.read.screen import METRICS
from data.read.snapshots import shared_screen

log = logging.getLogger(__name__)

INTERVAL, SENT = "screen-interval", "screen-sent"

OUTPUTS = [
    Output(kpis.CONTAINER, "children"),
    Output(map_part.GRAPH, "figure"),
    Output(map_part.META, "data"),
    Output(charts.TREND, "figure"),
    Output(charts.HOURLY, "figure"),
    Output(charts.CATEGORY, "figure"),
    Output(charts.SOURCE, "figure"),
    Output(ranking.CONTAINER, "children"),
    Output(feed.CONTAINER, "children"),
    Output(header.ASOF, "data"),
    Output(SENT, "data"),
    Output(header.BANNER, "children"),
]


def asof(snapshot_as_of, read_at, tz: str, serial: int) -> dict:
    age = (read_at - snapshot_as_of).total_seconds() if snapshot_as_of else None
    return header.asof_data(local(snapshot_as_of, tz, "%H:%M:%S") if snapshot_as_of else "", age, serial)


def refresh(n_intervals, metric, focus, sent_digests, client_meta, moment=None):
    keep = [no_update] * len(OUTPUTS)
    n_intervals = as_int(n_intervals, 0, lo=0)
    metric = as_str(metric, METRICS[0], choices=METRICS)
    sent_digests = {k: v for k, v in as_dict(sent_digests).items() if isinstance(k, str) and isinstance(v, str)}
    client_meta = as_dict(client_meta)
    viewer = current_viewer()
    if not viewer.can("aggregates"):
        keep[-1] = t("access.login_needed") if viewer.role in ("anonymous", "resident") else t("access.denied")
        return keep
    cfg = settings()
    tz = cfg.gcc_timezone
    sent = Sent(sent_digests, sent_values())
    moment = history.from_store(moment, tz)  # a historical wall (issue #10): a metric switch stays then
    try:
        with reader() as session:
            scope = stat_scope(session, viewer)
            geometry = grid_geometry(session)
            tree = directory(session)
            if moment is None:
                snapshot = shared_screen(
                    session, viewer, tz=tz, bucket_s=cfg.gcc_refresh_seconds, redis_url=cfg.gcc_redis_url
                )
            else:
                snapshot = read_screen_at(session, viewer, moment, tz=tz, database=db())
    except AccessDenied:
        keep[-1] = t("access.denied")
        return keep
    except Exception:
        log.exception("screen refresh failed; keeping the last data")
        return keep
    base_url = request.host_url.rstrip("/")
    view = map_part.MapInput(snapshot, geometry, scope, metric, cfg, base_url, focus, tree)
    figure, meta = map_part.update(view, client_meta, sent)
    chart_out = charts.update(snapshot, tz, sent)
    return [
        kpis.update(snapshot.kpis, sent),
        figure,
        meta,
        chart_out[charts.TREND],
        chart_out[charts.HOURLY],
        chart_out[charts.CATEGORY],
        chart_out[charts.SOURCE],
        ranking.update(snapshot.ranking_best, snapshot.ranking_worst, sent, query=history.keep("", moment)),
        feed.update(snapshot.feed, tz, sent),
        asof(snapshot.as_of, snapshot.read_at, tz, n_intervals),
        sent.current if sent.current != sent.previous else no_update,
        "",
    ]


def register_callbacks(app) -> None:
    app.callback(
        *OUTPUTS,
        Input(INTERVAL, "n_intervals"),
        Input(map_part.METRIC, "value"),
        Input(map_part.FOCUS_VIEW, "data"),
        State(SENT, "data"),
        State(map_part.META, "data"),
        State(history.STORE, "data"),
        prevent_initial_call=True,
    )(refresh)
