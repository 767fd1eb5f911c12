"""The bottom row: 30-day trend, today by hour, category and channel breakdowns."""

from __future__ import annotations

from dash import Patch, dcc, html, no_update

from dashboard.figures import theme
from dashboard.figures.charts import breakdown_figure, empty_figure, hourly_figure, trend_figure
from dashboard.labels import current_locale, source_label, t
from dashboard.screen.sent import Sent
from data.clock import zone
from data.read.screen import ScreenSnapshot

TREND, HOURLY, CATEGORY, SOURCE = "screen-trend", "screen-hourly", "screen-category", "screen-source"
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}


def _current_hour(snapshot: ScreenSnapshot, tz: str) -> int:
    return snapshot.read_at.astimezone(zone(tz)).hour


def figures(snapshot: ScreenSnapshot | None, tz: str) -> dict:
    locale = current_locale()
    if snapshot is None:
        empty = empty_figure(t("error.unavailable"))
        return {TREND: empty, HOURLY: empty, CATEGORY: empty, SOURCE: empty}
    return {
        TREND: trend_figure(snapshot.trend_days, snapshot.trend_reported, snapshot.trend_closed, locale=locale),
        HOURLY: hourly_figure(
            snapshot.hourly_today, snapshot.hourly_yesterday, current_hour=_current_hour(snapshot, tz), locale=locale
        ),
        CATEGORY: breakdown_figure(snapshot.categories, color=theme.BLUE, locale=locale),
        SOURCE: breakdown_figure(
            [(source_label(s), n) for s, n in snapshot.sources], color=theme.PURPLE, top=6, locale=locale
        ),
    }


def _panel(graph_id: str, title: str, figure: dict, extra_class: str) -> html.Div:
    return html.Div(
        [
            html.H2(title, className="panel-title"),
            dcc.Graph(id=graph_id, figure=figure, config=GRAPH_CONFIG, className="panel-graph"),
        ],
        className=f"panel {extra_class}",
    )


def layout(snapshot: ScreenSnapshot | None, tz: str, sent: Sent) -> list:
    figs = figures(snapshot, tz)
    if snapshot is not None:
        _changed(snapshot, tz, sent)
    return [
        _panel(TREND, t("trend.title"), figs[TREND], "screen-trend-panel"),
        _panel(HOURLY, t("hourly.title"), figs[HOURLY], "screen-hourly-panel"),
        _panel(CATEGORY, t("category.title"), figs[CATEGORY], "screen-category-panel"),
        _panel(SOURCE, t("source.title"), figs[SOURCE], "screen-source-panel"),
    ]


def _changed(snapshot: ScreenSnapshot, tz: str, sent: Sent) -> dict[str, bool]:
    return {
        TREND: sent.changed(
            "trend", [[d.isoformat() for d in snapshot.trend_days], snapshot.trend_reported, snapshot.trend_closed]
        ),
        HOURLY: sent.changed("hourly", [snapshot.hourly_today, snapshot.hourly_yesterday, _current_hour(snapshot, tz)]),
        CATEGORY: sent.changed("category", snapshot.categories),
        SOURCE: sent.changed("source", snapshot.sources),
    }


def update(snapshot: ScreenSnapshot, tz: str, sent: Sent, *, rebuild: bool = False) -> dict:
    """Output values per graph id: a Patch of the changed series, a whole figure for the small
    breakdowns (their bars change in number), or no_update."""
    fresh = {TREND: "trend" not in sent.previous, HOURLY: "hourly" not in sent.previous}
    changed = _changed(snapshot, tz, sent)
    figs = figures(snapshot, tz)
    if rebuild:
        return figs
    out = {}
    if fresh[TREND]:
        out[TREND] = figs[TREND]
    elif changed[TREND]:
        patch = Patch()
        for i in (0, 1):
            patch["data"][i]["x"] = figs[TREND]["data"][i]["x"]
            patch["data"][i]["y"] = figs[TREND]["data"][i]["y"]
        out[TREND] = patch
    else:
        out[TREND] = no_update
    if fresh[HOURLY]:
        out[HOURLY] = figs[HOURLY]
    elif changed[HOURLY]:
        patch = Patch()
        for i in (0, 1):
            patch["data"][i]["y"] = figs[HOURLY]["data"][i]["y"]
        out[HOURLY] = patch
    else:
        out[HOURLY] = no_update
    out[CATEGORY] = figs[CATEGORY] if changed[CATEGORY] else no_update
    out[SOURCE] = figs[SOURCE] if changed[SOURCE] else no_update
    return out
