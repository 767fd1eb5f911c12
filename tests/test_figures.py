"""dashboard.figures: pure functions, checked without a browser. Every figure dict is validated by
Plotly's own schema (go.Figure raises on an unknown or misspelt attribute)."""

from __future__ import annotations

import math
import re
import string
from datetime import date, timedelta

import plotly.graph_objects as go
import pytest

from dashboard import labels
from dashboard.figures import charts, maps, theme

GRID = {
    "type": "Feature",
    "id": "G1",
    "properties": {"code": "G1"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[115.40, 25.90], [115.41, 25.90], [115.41, 25.91], [115.40, 25.90]]],
    },
}


def validate(fig: dict) -> go.Figure:
    return go.Figure(fig)


def screen_map(**overrides):
    kwargs = dict(
        geojson="/geo/grids.json?v=1",
        codes=["G1", "G2", "G3"],
        names=["一网格", "二网格", "三网格"],
        values=[3, 0, 12],
        metric="open_now",
        heat_lon=[115.4, 115.41],
        heat_lat=[25.9, 25.91],
        heat=[0, 4],
        heat_cell=0.0025,
        overdue={"lon": [115.405], "lat": [25.905], "hours": [3.5]},
        outlines=("/geo/communities.json", "/geo/streets.json"),
        view={"center": {"lon": 115.4, "lat": 25.9}, "zoom": 12},
        style=maps.offline_style(),
    )
    kwargs.update(overrides)
    return maps.screen_map(**kwargs)


def test_screen_map_traces_in_their_documented_places():
    fig = screen_map()
    validate(fig)
    data = fig["data"]
    assert [t["type"] for t in data] == ["choroplethmap", "choroplethmap", "densitymap", "scattermap"]
    base, metric, heat, overdue = (
        data[i] for i in (maps.TRACE_BASE, maps.TRACE_METRIC, maps.TRACE_HEAT, maps.TRACE_OVERDUE)
    )
    assert base["locations"] == metric["locations"] == ["G1", "G2", "G3"]
    assert base["z"] == [0, 0, 0]  # every grid drawn, value or not
    assert metric["z"] == [3, 0, 12] and metric["zmin"] == 0 and metric["zmax"] >= 12
    assert heat["z"] == [0, 4] and heat["radius"] >= 8
    assert overdue["lon"] == [115.405]
    assert fig["layout"]["uirevision"] == "screen-map"
    community, street = fig["layout"]["map"]["layers"]
    assert community["source"] == "/geo/communities.json" and street["type"] == "line"


def test_screen_map_rates_use_the_fixed_range_and_keep_gaps():
    fig = screen_map(metric="on_time_7d", values=[0.91234, None, 0.5])
    validate(fig)
    metric = fig["data"][maps.TRACE_METRIC]
    assert metric["z"] == [0.912, None, 0.5]
    assert (metric["zmin"], metric["zmax"]) == maps.RATE_RANGE
    assert metric["colorscale"] == theme.RATE_SCALE
    assert metric["colorbar"]["tickformat"] == ".0%"
    assert "%{z:.0%}" in metric["hovertemplate"]


@pytest.mark.parametrize("metric", list(maps.METRICS))
def test_metric_style_is_a_valid_patch_for_every_metric(metric):
    fig = screen_map(metric=metric)
    for key, value in maps.metric_style(metric, "en").items():
        fig["data"][maps.TRACE_METRIC][key] = value
    validate(fig)


def test_offline_style_fetches_nothing():
    style = maps.offline_style()
    assert all(source["type"] == "geojson" and isinstance(source["data"], dict) for source in style["sources"].values())
    assert "glyphs" not in style and "sprite" not in style
    assert [layer["type"] for layer in style["layers"]] == ["background"]
    assert not re.search(r"https?://", repr(style))


def test_tile_url_is_a_raster_layer_below_everything():
    style = maps.offline_style("http://tiles.intra/{z}/{x}/{y}.png", "内网底图")
    assert style["sources"]["intranet"]["tiles"] == ["http://tiles.intra/{z}/{x}/{y}.png"]
    assert style["sources"]["intranet"]["attribution"] == "内网底图"
    assert [layer["id"] for layer in style["layers"]] == ["background", "intranet-tiles"]
    validate(screen_map(style=style))


def _project(lon, lat, view, w, h):
    scale = maps.TILE_SIZE * 2 ** view["zoom"]

    def xy(lo, la):
        return (lo + 180) / 360 * scale, (
            1 - math.log(math.tan(math.pi / 4 + math.radians(la) / 2)) / math.pi
        ) / 2 * scale

    cx, cy = xy(view["center"]["lon"], view["center"]["lat"])
    x, y = xy(lon, lat)
    return x - cx + w / 2, y - cy + h / 2


@pytest.mark.parametrize(
    "bounds", [(115.36, 25.92, 115.45, 25.98), (114.0, 25.0, 116.0, 26.5), (115.4, 25.9, 115.402, 25.9005)]
)
@pytest.mark.parametrize("size", [(1020, 630), (400, 900)])
def test_fit_view_shows_the_whole_box_and_fills_one_side(bounds, size):
    w, h = size
    view = maps.fit_view(bounds, w, h, max_zoom=22)
    x0, y0 = _project(bounds[0], bounds[3], view, w, h)
    x1, y1 = _project(bounds[2], bounds[1], view, w, h)
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    fill = max((x1 - x0) / w, (y1 - y0) / h)
    assert fill == pytest.approx(0.88, abs=0.02)  # 6 % padding each side


def test_fit_view_caps_the_zoom():
    assert maps.fit_view((115.4, 25.9, 115.40001, 25.90001), 1000, 600)["zoom"] == 17.5


@pytest.mark.parametrize(
    ("x", "expected"), [(0, 1), (0.3, 0.5), (1, 1), (7, 10), (12, 20), (21, 25), (240, 250), (251, 500)]
)
def test_nice_ceiling(x, expected):
    assert maps.nice_ceiling(x) == expected


def test_color_range_ignores_one_outlier():
    values = [1] * 60 + [2] * 37 + [3, 3, 400]
    zmin, zmax = maps.color_range("open_now", values)
    assert zmin == 0 and zmax == 5  # the 98th percentile (3), not the outlier (400)
    assert maps.color_range("open_now", [None, None]) == (0.0, 1.0)
    assert maps.color_range("on_time_7d", [0.1, 0.2]) == maps.RATE_RANGE


def test_metric_values_are_rounded_for_the_wire():
    assert maps.metric_values("per_1000", [1.26, None, 3.0]) == [1.3, None, 3.0]
    assert maps.metric_values("open_now", [2, 0]) == [2, 0]


def test_heat_radius_grows_with_zoom_within_limits():
    assert maps.heat_radius(0.0025, 10) == 8
    assert maps.heat_radius(0.0025, 14) > maps.heat_radius(0.0025, 13)
    assert maps.heat_radius(0.0025, 20) == 60


def test_region_map_one_trace_per_status_and_overdue_ring():
    fig = maps.region_map(
        grids={"type": "FeatureCollection", "features": [GRID]},
        names={"G1": "一网格"},
        highlight="G1",
        outlines=({"type": "FeatureCollection", "features": []}, {"type": "FeatureCollection", "features": []}),
        tickets={
            "id": [1, 2, 3],
            "lon": [115.401, 115.402, 115.403],
            "lat": [25.901, 25.902, 25.903],
            "status": ["reported", "closed", "reported"],
            "status_label": ["待受理", "已结案", "待受理"],
            "label": ["a", "b", "c"],
            "overdue": [False, False, True],
        },
        view={"center": {"lon": 115.4, "lat": 25.9}, "zoom": 14},
        style=maps.offline_style(),
    )
    validate(fig)
    names = [t.get("name") for t in fig["data"][1:]]
    assert names == ["待受理", "已结案", "超期工单"]
    assert fig["data"][1]["customdata"] == [1, 3]
    assert fig["data"][0]["z"] == [1]


def test_ticket_map_without_coordinates_is_still_a_figure():
    validate(
        maps.ticket_map(
            lon=None, lat=None, grid=GRID, style=maps.offline_style(), view={"center": {"lon": 0, "lat": 0}, "zoom": 1}
        )
    )
    fig = maps.ticket_map(
        lon=115.405,
        lat=25.905,
        grid=None,
        style=maps.offline_style(),
        view={"center": {"lon": 115.4, "lat": 25.9}, "zoom": 15},
    )
    validate(fig)
    assert fig["data"][0]["lon"] == [115.405]


def test_trend_and_hourly_figures():
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(30)]
    fig = charts.trend_figure(days, list(range(30)), list(range(30, 0, -1)))
    validate(fig)
    assert fig["data"][0]["x"][0] == "2026-11-01" and fig["data"][1]["y"][0] == 30
    hourly = charts.hourly_figure(list(range(24)), [1] * 24, current_hour=9, locale="en")
    validate(hourly)
    assert hourly["data"][0]["y"][9] == 9 and hourly["data"][0]["y"][10] is None  # hours to come stay empty
    assert hourly["data"][1]["name"] == "Yesterday"


def test_breakdown_puts_the_largest_on_top_and_folds_the_rest():
    items = [(f"c{i}", 100 - i) for i in range(9)]
    fig = charts.breakdown_figure(items, top=6)
    validate(fig)
    bar = fig["data"][0]
    assert bar["y"][-1] == "c0" and bar["y"][0] == "其他"
    assert bar["x"][0] == sum(100 - i for i in range(5, 9))
    assert sum(bar["x"]) == sum(n for _, n in items)
    empty = charts.breakdown_figure([], locale="en")
    validate(empty)
    assert empty["data"] == [] and empty["layout"]["annotations"][0]["text"] == "No data"


def test_weekly_figure_puts_the_rate_on_the_right_axis():
    weeks = [date(2026, 9, 7) + timedelta(weeks=i) for i in range(12)]
    fig = charts.weekly_figure(weeks, [5] * 12, [4] * 12, [None] + [0.8] * 11)
    validate(fig)
    assert fig["data"][2]["yaxis"] == "y2" and fig["layout"]["yaxis2"]["tickformat"] == ".0%"


def test_figures_name_the_local_font():
    assert "Noto Sans CJK SC" in screen_map()["layout"]["font"]["family"]


def test_both_locales_have_the_same_labels_and_placeholders():
    def fields(template):
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    assert set(labels.ZH) == set(labels.EN)
    for key in labels.ZH:
        assert fields(labels.ZH[key]) == fields(labels.EN[key]), key
    assert labels.text("kpi.points", "zh", sign="▲", value="1.2") == "▲1.2个点"
    assert labels.text("map.focus", "en", name="X") == "Focus: X"
    with pytest.raises(KeyError):
        labels.text("no.such.label")


@pytest.mark.parametrize(
    ("seconds", "zh", "en"),
    [
        (59, "0分钟", "0 min"),
        (3 * 3600 + 5 * 60, "3小时5分", "3 h 5 min"),
        (-(2 * 86400 + 3600 * 4), "2天4小时", "2 d 4 h"),
    ],
)
def test_durations(seconds, zh, en):
    assert labels.duration(seconds, "zh") == zh and labels.duration(seconds, "en") == en


def test_whole_count_colour_bars_never_tick_between_integers():
    # Overdue counts of 0-2 once gave a bar labelled "0 1 1 2 2".
    assert maps.color_range("overdue_now", [0, 1, 2, 0]) == (0.0, 5.0)
    assert maps.color_range("open_now", [3, 17, 9]) == (0.0, 20.0)
