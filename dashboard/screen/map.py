"""The map panel: grid polygons coloured by the chosen metric, community and street outlines, the
last 24 hours' reports as heat, overdue orders marked. The polygons come once, as a cached URL;
a refresh patches values only (dashboard.screen.sent), and `uirevision` keeps zoom and pan."""

from __future__ import annotations

from dataclasses import dataclass

from dash import Patch, dcc, html, no_update

from dashboard.common.geojson import layer_url, scope_key
from dashboard.figures import maps, theme
from dashboard.labels import current_locale, t
from dashboard.screen.sent import Sent
from data.read.geometry import GridGeometry
from data.read.scope import StatScope
from data.read.screen import METRICS, ScreenSnapshot

FOCUS_VIEW = "screen-map-focus-view"  # bounds the rotation zooms to (None: the whole area)
GRAPH, METRIC, META, VIEW, FOCUS = (
    "screen-map",
    "screen-map-metric",
    "screen-map-meta",
    "screen-map-view",
    "screen-map-focus",
)
# The map's size on a 1920x1080 wall (assets/gcc.css); the browser refits to its real size.
ASSUMED_SIZE = (1020, 630)
GRAPH_CONFIG = {"displayModeBar": False, "scrollZoom": True, "responsive": True}


@dataclass(frozen=True)
class MapInput:
    """What the map is drawn from: one refresh's snapshot, the geometry and scope it belongs to,
    the chosen metric, the settings (tile style), the server's base URL (for the layer URLs) and
    the rotation's focus bounds (None: the whole area)."""

    snapshot: ScreenSnapshot
    geometry: GridGeometry
    scope: StatScope
    metric: str
    settings: object
    base_url: str
    focus: list[float] | None = None


def map_style(settings) -> dict:
    return maps.offline_style(settings.gcc_tile_url, settings.gcc_tile_attribution)


def build_figure(m: MapInput) -> dict:
    snapshot, geometry, scope, metric, base_url = m.snapshot, m.geometry, m.scope, m.metric, m.base_url
    codes = snapshot.grids.codes
    bounds = geometry.total_bounds(codes) or geometry.total_bounds()
    view = maps.fit_view(bounds, *ASSUMED_SIZE) if bounds else {"center": {"lon": 0, "lat": 0}, "zoom": 1}
    lattice = geometry.lattice
    return maps.screen_map(
        geojson=base_url + layer_url("grids", geometry, scope),
        codes=codes,
        names=snapshot.grids.names,
        values=snapshot.grids.metric(metric),
        metric=metric,
        heat_lon=lattice.lon if lattice else [],
        heat_lat=lattice.lat if lattice else [],
        heat=snapshot.heat,
        heat_cell=lattice.cell if lattice else 0.0025,
        overdue=snapshot.overdue_points,
        outlines=(
            base_url + layer_url("communities", geometry, scope),
            base_url + layer_url("streets", geometry, scope),
        ),
        view=view,
        style=map_style(m.settings),
        locale=current_locale(),
    )


def meta(geometry: GridGeometry, scope: StatScope, metric: str, focus=None) -> dict:
    return {"version": geometry.version, "scope": scope_key(scope), "metric": metric, "focus": focus}


def focus_bounds(value) -> list[float] | None:
    """Bounds sent back by the browser (the rotation's focus), checked: four finite numbers."""
    if not isinstance(value, list) or len(value) != 4:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and abs(v) <= 180 for v in value):
        return None
    return [round(float(v), 6) for v in value]


def view_data(geometry: GridGeometry, codes: list[str], tree) -> dict:
    """District bounds and the communities to focus on in rotation, for the browser."""
    communities: dict[str, list[str]] = {}
    for code in codes:
        communities.setdefault(geometry.community_of.get(code, code), []).append(code)
    focus = []
    for community_code, members in sorted(communities.items()):
        info = tree.by_code.get(community_code)
        focus.append({"name": info.name if info else community_code, "bounds": geometry.total_bounds(members)})
    return {"bounds": geometry.total_bounds(codes), "focus": focus}


def _remember(sent: Sent, snapshot: ScreenSnapshot, metric: str) -> None:
    values = maps.metric_values(metric, snapshot.grids.metric(metric))
    sent.remember("map.z", values)
    sent.remember("map.heat", snapshot.heat)
    sent.changed("map.overdue", snapshot.overdue_points)
    sent.changed("map.range", _ranges(values, snapshot, metric))


def _ranges(values: list, snapshot: ScreenSnapshot, metric: str):
    return [list(maps.color_range(metric, values)), maps.heat_range(snapshot.heat)]


def metric_options() -> list[dict]:
    return [{"label": t(f"map.metric.{m}"), "value": m} for m in METRICS]


def legend() -> html.Div:
    return html.Div(
        [
            html.Span([html.I(className="swatch swatch-heat"), t("map.legend.heat")]),
            html.Span([html.I(className="swatch swatch-overdue"), t("map.legend.overdue")]),
            html.Span([html.I(className="swatch swatch-nodata"), t("map.legend.nodata")]),
        ],
        className="map-legend",
    )


def layout(m: MapInput | None, tree, sent: Sent, metric: str) -> html.Div:
    """The panel; `m` None (the first read failed) gives an empty map that the refresh fills."""
    if m is not None:
        figure = build_figure(m)
        _remember(sent, m.snapshot, m.metric)
        meta_data = meta(m.geometry, m.scope, m.metric)
        view = view_data(m.geometry, m.snapshot.grids.codes, tree)
    else:
        figure = {
            "data": [],
            "layout": {
                "paper_bgcolor": theme.MAP_BACKGROUND,
                "plot_bgcolor": theme.MAP_BACKGROUND,
                "xaxis": {"visible": False},
                "yaxis": {"visible": False},
            },
        }
        meta_data, view = {}, {}
    return html.Div(
        [
            html.Div(
                [
                    html.H2(t("map.title"), className="panel-title"),
                    dcc.RadioItems(
                        id=METRIC, options=metric_options(), value=metric, className="metric-switch", inline=True
                    ),
                    html.Span("", id=FOCUS, className="map-focus"),
                ],
                className="map-head",
            ),
            html.Div(
                [dcc.Graph(id=GRAPH, figure=figure, config=GRAPH_CONFIG, className="map-graph"), legend()],
                className="map-body",
            ),
            dcc.Store(id=META, data=meta_data),
            dcc.Store(id=VIEW, data=view),
            dcc.Store(id=FOCUS_VIEW, data=None),
        ],
        className="panel screen-map-panel",
    )


def update(m: MapInput, client_meta: dict | None, sent: Sent):
    """(figure output, meta output): a new figure when the geometry or scope changed (or the page
    has none yet), otherwise a Patch with what changed. `m.focus`: bounds to zoom to (the
    rotation), applied through the figure so the next patch does not undo it."""
    snapshot, geometry, metric = m.snapshot, m.geometry, m.metric
    focus = focus_bounds(m.focus)
    wanted = meta(geometry, m.scope, metric, focus)
    client_meta = client_meta or {}
    if client_meta.get("version") != wanted["version"] or client_meta.get("scope") != wanted["scope"]:
        _remember(sent, snapshot, metric)
        return build_figure(m), wanted
    patch = Patch()
    touched = False
    values = maps.metric_values(metric, snapshot.grids.metric(metric))
    if client_meta.get("metric") != metric:
        trace = patch["data"][maps.TRACE_METRIC]
        for key, value in maps.metric_style(metric, current_locale()).items():
            trace[key] = value
        sent.remember("map.z", values)
        trace["z"] = values
        touched = True
    else:
        touched |= sent.array("map.z", values, patch, ("data", maps.TRACE_METRIC, "z"))
    ranges = _ranges(values, snapshot, metric)
    if sent.changed("map.range", ranges) or client_meta.get("metric") != metric:
        (zmin, zmax), heat_max = ranges
        patch["data"][maps.TRACE_METRIC]["zmin"] = zmin
        patch["data"][maps.TRACE_METRIC]["zmax"] = zmax
        patch["data"][maps.TRACE_HEAT]["zmax"] = heat_max
        touched = True
    touched |= sent.array("map.heat", snapshot.heat, patch, ("data", maps.TRACE_HEAT, "z"))
    if sent.changed("map.overdue", snapshot.overdue_points):
        trace = maps.overdue_trace(snapshot.overdue_points, current_locale())
        for key in ("lon", "lat", "customdata"):
            patch["data"][maps.TRACE_OVERDUE][key] = trace[key]
        touched = True
    moved = client_meta.get("focus") != focus
    if moved:
        bounds = focus or geometry.total_bounds(snapshot.grids.codes) or geometry.total_bounds()
        if bounds:
            view = maps.fit_view(bounds, *ASSUMED_SIZE)
            patch["layout"]["map"]["center"] = view["center"]
            patch["layout"]["map"]["zoom"] = view["zoom"]
            touched = True
    if touched:
        # A new revision makes Plotly redraw the traces whose arrays changed in place.
        patch["layout"]["datarevision"] = sent.current.get("map.z", "") + sent.current.get("map.heat", "")
    changed_meta = client_meta.get("metric") != metric or moved
    return (patch if touched else no_update), (wanted if changed_meta else no_update)
