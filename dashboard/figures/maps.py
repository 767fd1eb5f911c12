"""Maps (Plotly `map` subplots, MapLibre): the big screen's grid map, a region's map with its
tickets, a ticket's location. Pure functions returning figure dicts.

Offline by default: the base style has no sources at all (a plain dark background), so MapLibre
fetches nothing; with GCC_TILE_URL the intranet raster tiles are a layer of that style, i.e. drawn
below every trace. No text is drawn by MapLibre (that would fetch glyphs): names are in hovers and
in the HTML around the map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dashboard.figures import theme
from dashboard.labels import text

# Trace positions in the big screen's map; dashboard.screen patches values by these indices.
TRACE_BASE = 0  # every grid, one neutral colour: a grid with no value is still drawn
TRACE_METRIC = 1  # the choropleth of the selected metric
TRACE_HEAT = 2  # density of the last 24 hours' reports
TRACE_OVERDUE = 3  # overdue orders
OVERDUE_CLUSTER_MAXZOOM = 14  # overdue points are clustered up to this zoom

TILE_SIZE = 512  # MapLibre's world is 512 px wide at zoom 0


@dataclass(frozen=True)
class MetricSpec:
    key: str
    scale: list
    rate: bool  # values are fractions 0..1 with a fixed range
    tickformat: str
    decimals: int


METRICS: dict[str, MetricSpec] = {
    "open_now": MetricSpec("open_now", theme.COUNT_SCALE, False, "d", 0),
    "overdue_now": MetricSpec("overdue_now", theme.COUNT_SCALE, False, "d", 0),
    "on_time_7d": MetricSpec("on_time_7d", theme.RATE_SCALE, True, ".0%", 3),
    "per_1000": MetricSpec("per_1000", theme.COUNT_SCALE, False, ".0f", 1),
}
RATE_RANGE = (0.5, 1.0)  # on-time rates cluster high; below 50 % is simply red


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is >= x (a colour bar's top)."""
    if x <= 0:
        return 1.0
    exponent = math.floor(math.log10(x))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= x - 1e-9:
            return float(candidate)
    return float(10 ** (exponent + 1))


def metric_values(metric: str, values) -> list:
    """Values rounded for the wire (fewer bytes, and no patch for a change in the 6th decimal)."""
    spec = METRICS[metric]
    return [None if v is None else (round(v, spec.decimals) if spec.decimals else int(v)) for v in values]


def color_range(metric: str, values) -> tuple[float, float]:
    """(zmin, zmax) for a metric: a fixed 50-100 % for rates; 0 up to a round number above the
    98th percentile for counts, so one extreme grid does not wash every other grid out."""
    spec = METRICS[metric]
    if spec.rate:
        return RATE_RANGE
    present = sorted(v for v in values if v is not None)
    if not present:
        return 0.0, 1.0
    top = present[min(len(present) - 1, math.ceil(0.98 * len(present)) - 1)]
    # At least 5 for whole counts: with a top of 2 the colour bar ticked every 0.5 and, printed as
    # integers, read "0 1 1 2 2" (seen on the wall's 超期工单 map).
    floor = 1 if spec.decimals else 5
    return 0.0, nice_ceiling(max(top, floor))


def heat_range(counts) -> float:
    nonzero = sorted(c for c in counts if c)
    if not nonzero:
        return 1.0
    return max(2.0, float(nonzero[min(len(nonzero) - 1, int(0.98 * len(nonzero)))]))


def offline_style(tile_url: str = "", attribution: str = "", background: str = theme.MAP_BACKGROUND) -> dict:
    """A MapLibre style with nothing to fetch (no sources, no glyphs, no sprite), or with the
    intranet raster tiles of `tile_url` under everything else."""
    style = {
        "version": 8,
        "name": "gcc-offline",
        # An empty inline source rather than `{}`: Plotly drops empty objects from a figure it
        # re-renders, and MapLibre then rejects the style ("missing required property sources").
        "sources": {"none": {"type": "geojson", "data": {"type": "FeatureCollection", "features": []}}},
        "layers": [{"id": "background", "type": "background", "paint": {"background-color": background}}],
    }
    if tile_url:
        source = {"type": "raster", "tiles": [tile_url], "tileSize": 256}
        if attribution:
            source["attribution"] = attribution
        style["sources"]["intranet"] = source
        style["layers"].append(
            {"id": "intranet-tiles", "type": "raster", "source": "intranet", "paint": {"raster-opacity": 0.55}}
        )
    return style


def fit_view(bounds, width_px: float, height_px: float, *, padding: float = 0.06, max_zoom: float = 17.5) -> dict:
    """Center and zoom showing `bounds` (min lon, min lat, max lon, max lat) in a map of the
    given pixel size (Web Mercator, as MapLibre draws it)."""
    min_lon, min_lat, max_lon, max_lat = bounds
    center_lon = (min_lon + max_lon) / 2
    y0, y1 = _mercator_y(min_lat), _mercator_y(max_lat)
    center_lat = math.degrees(math.atan(math.sinh((y0 + y1) / 2)))
    usable_w = max(width_px * (1 - 2 * padding), 1)
    usable_h = max(height_px * (1 - 2 * padding), 1)
    lon_span = max(max_lon - min_lon, 1e-6)
    y_span = max(y1 - y0, 1e-8)
    zoom_w = math.log2(usable_w * 360 / (TILE_SIZE * lon_span))
    zoom_h = math.log2(usable_h * 2 * math.pi / (TILE_SIZE * y_span))
    zoom = min(zoom_w, zoom_h, max_zoom)
    return {"center": {"lon": round(center_lon, 6), "lat": round(center_lat, 6)}, "zoom": round(zoom, 3)}


def _mercator_y(lat: float) -> float:
    lat = max(min(lat, 85.0), -85.0)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def pixels_per_degree(zoom: float) -> float:
    return TILE_SIZE * 2**zoom / 360


def heat_radius(cell_deg: float, zoom: float) -> int:
    """Kernel radius in pixels that blends neighbouring heat cells at `zoom`."""
    return int(min(60, max(8, 1.6 * cell_deg * pixels_per_degree(zoom))))


def outline_layers(community_source, street_source, *, community_width: float = 1.4, street_width: float = 3.0):
    """Community and street outlines over the grids (sources: GeoJSON dicts or URLs)."""
    return [
        {
            "sourcetype": "geojson",
            "source": community_source,
            "type": "line",
            "color": theme.COMMUNITY_LINE,
            "line": {"width": community_width},
            "opacity": 0.75,
            "below": "",
        },
        {
            "sourcetype": "geojson",
            "source": street_source,
            "type": "line",
            "color": theme.STREET_LINE,
            "line": {"width": street_width},
            "opacity": 0.9,
            "below": "",
        },
    ]


def _map_layout(style: dict, view: dict, layers: list, uirevision: str) -> dict:
    return {
        **theme.base_layout(margin={"l": 0, "r": 0, "t": 0, "b": 0}),
        "map": {"style": style, "center": view["center"], "zoom": view["zoom"], "layers": layers},
        "uirevision": uirevision,
        "dragmode": "pan",
    }


def colorbar(metric: str, locale: str, *, font_size: int = 16) -> dict:
    spec = METRICS[metric]
    return {
        "title": {"text": text(f"map.metric.{metric}", locale), "font": {"size": font_size, "color": theme.TEXT}},
        "tickformat": spec.tickformat,
        "tickfont": {"size": font_size, "color": theme.TEXT},
        "thickness": 16,
        "len": 0.42,
        "x": 0.012,
        "xanchor": "left",
        "y": 0.03,
        "yanchor": "bottom",
        "bgcolor": "rgba(6,11,22,0.72)",
        "outlinewidth": 0,
        "borderwidth": 0,
        "xpad": 10,
        "ypad": 10,
    }


def metric_style(metric: str, locale: str = "zh") -> dict:
    """The metric trace's attributes that depend on the metric (swapped when the metric changes)."""
    spec = METRICS[metric]
    value_format = "%{z:.0%}" if spec.rate else ("%{z:.1f}" if spec.decimals else "%{z}")
    name = text(f"map.metric.{metric}", locale)
    return {
        "name": metric,
        "colorscale": spec.scale,
        "colorbar": colorbar(metric, locale),
        "hovertemplate": f"%{{customdata}}<br>{name}: {value_format}<extra></extra>",
    }


def screen_map(
    *,
    geojson,
    codes: list[str],
    names: list[str],
    values: list,
    metric: str,
    heat_lon: list[float],
    heat_lat: list[float],
    heat: list[int],
    heat_cell: float,
    overdue: dict,
    outlines: tuple,
    view: dict,
    style: dict,
    locale: str = "zh",
    uirevision: str = "screen-map",
) -> dict:
    """The wall's map. `geojson` is the grids' FeatureCollection or, better, its URL (fetched once
    by the browser and cached); `values` follow `codes`; `outlines` = (community, street) sources."""
    values = metric_values(metric, values)
    zmin, zmax = color_range(metric, values)
    line = {"color": theme.GRID_LINE, "width": 0.6}
    data = [
        {
            "type": "choroplethmap",
            "name": "grids",
            "geojson": geojson,
            "locations": codes,
            "z": [0] * len(codes),
            "zmin": 0,
            "zmax": 1,
            "colorscale": [[0, theme.NO_DATA], [1, theme.NO_DATA]],
            "showscale": False,
            "marker": {"line": line, "opacity": 1},
            "hoverinfo": "skip",
        },
        {
            "type": "choroplethmap",
            "geojson": geojson,
            "locations": codes,
            "z": values,
            "zmin": zmin,
            "zmax": zmax,
            **metric_style(metric, locale),
            "marker": {"line": line, "opacity": 0.88},
            "customdata": names,
        },
        {
            "type": "densitymap",
            "name": "heat",
            "lon": heat_lon,
            "lat": heat_lat,
            "z": heat,
            "zmin": 0,
            "zmax": heat_range(heat),
            "radius": heat_radius(heat_cell, view["zoom"]),
            "colorscale": theme.HEAT_SCALE,
            "showscale": False,
            "hoverinfo": "skip",
        },
        overdue_trace(overdue, locale),
    ]
    return {"data": data, "layout": _map_layout(style, view, outline_layers(*outlines), uirevision)}


def overdue_trace(overdue: dict, locale: str = "zh", *, size: int = 11) -> dict:
    hover = text("map.overdue_hover", locale, hours="%{customdata}")
    return {
        "type": "scattermap",
        "name": "overdue",
        "mode": "markers",
        "lon": overdue.get("lon", []),
        "lat": overdue.get("lat", []),
        "customdata": overdue.get("hours", []),
        "marker": {"size": size, "color": theme.OVERDUE_COLOR, "opacity": 0.95},
        "hovertemplate": f"{hover}<extra></extra>",
        # A city has ~1,500 overdue orders: clustered below street zoom, one circle per area
        # (bigger for more), single points once zoomed in (issue #14).
        "cluster": {
            "enabled": True,
            "maxzoom": OVERDUE_CLUSTER_MAXZOOM,
            "color": theme.OVERDUE_COLOR,
            "opacity": 0.85,
            "size": [10, 14, 19],  # circle radius in px by point count: <10, <50, more
            "step": [10, 50],
        },
    }


def region_map(
    *,
    grids: dict | str,
    names: dict[str, str],
    highlight: str | None,
    outlines: tuple,
    tickets: dict,
    view: dict,
    style: dict,
    locale: str = "zh",
    uirevision: str = "region-map",
    codes: list[str] | None = None,
) -> dict:
    """A drill-down page's map: the region's grids, the one being viewed highlighted, and its
    tickets as points coloured by status (one trace per status, so the legend explains the colours).
    `grids` is a FeatureCollection (a street or community is small) or the URL of one with its
    `codes` given (the whole district of a city)."""
    if codes is None:
        codes = [f["id"] for f in grids.get("features", [])]
    z = [1 if c == highlight else 0 for c in codes]
    data = [
        {
            "type": "choroplethmap",
            "name": "grids",
            "geojson": grids,
            "locations": codes,
            "z": z,
            "zmin": 0,
            "zmax": 1,
            "colorscale": [[0, theme.NO_DATA], [1, "#24406b"]],
            "showscale": False,
            "marker": {"line": {"color": theme.COMMUNITY_LINE, "width": 0.8}, "opacity": 0.9},
            "customdata": [names.get(c, c) for c in codes],
            "hovertemplate": "%{customdata}<extra></extra>",
            "showlegend": False,
        }
    ]
    by_status: dict[str, list[int]] = {}
    for i, status in enumerate(tickets.get("status", [])):
        by_status.setdefault(status, []).append(i)
    order = [s for s in theme.STATUS_COLORS if s in by_status]
    for status in order:
        idx = by_status[status]
        data.append(
            {
                "type": "scattermap",
                "mode": "markers",
                "name": tickets["status_label"][idx[0]] if tickets.get("status_label") else status,
                "lon": [tickets["lon"][i] for i in idx],
                "lat": [tickets["lat"][i] for i in idx],
                "customdata": [tickets["id"][i] for i in idx],
                "text": [tickets["label"][i] for i in idx] if tickets.get("label") else None,
                "hovertemplate": "#%{customdata} %{text}<extra></extra>",
                "marker": {"size": 9, "color": theme.STATUS_COLORS[status], "opacity": 0.9},
            }
        )
    overdue_idx = [i for i, o in enumerate(tickets.get("overdue", [])) if o]
    if overdue_idx:
        data.append(
            {
                "type": "scattermap",
                "mode": "markers",
                "name": text("map.legend.overdue", locale),
                "lon": [tickets["lon"][i] for i in overdue_idx],
                "lat": [tickets["lat"][i] for i in overdue_idx],
                "customdata": [tickets["id"][i] for i in overdue_idx],
                "hovertemplate": "#%{customdata}<extra></extra>",
                "marker": {"size": 15, "color": theme.OVERDUE_COLOR, "opacity": 0.45},
            }
        )
    layout = _map_layout(style, view, outline_layers(*outlines, community_width=1.6, street_width=2.6), uirevision)
    layout["showlegend"] = True
    layout["legend"] = {
        "x": 0.01,
        "y": 0.99,
        "xanchor": "left",
        "yanchor": "top",
        "bgcolor": "rgba(6,11,22,0.75)",
        "font": {"size": 13, "color": theme.TEXT},
    }
    return {"data": data, "layout": layout}


def ticket_map(*, lon: float | None, lat: float | None, grid: dict | None, style: dict, view: dict) -> dict:
    """One ticket's point on its grid."""
    data = []
    if grid:
        data.append(
            {
                "type": "choroplethmap",
                "geojson": {"type": "FeatureCollection", "features": [grid]},
                "locations": [grid["id"]],
                "z": [1],
                "colorscale": [[0, "#24406b"], [1, "#24406b"]],
                "showscale": False,
                "marker": {"line": {"color": theme.COMMUNITY_LINE, "width": 1.5}, "opacity": 0.8},
                "hoverinfo": "skip",
            }
        )
    if lon is not None and lat is not None:
        data.append(
            {
                "type": "scattermap",
                "mode": "markers",
                "lon": [lon],
                "lat": [lat],
                "marker": {"size": 16, "color": theme.AMBER},
                "hoverinfo": "skip",
            }
        )
    return {"data": data, "layout": _map_layout(style, view, [], "ticket-map")}
