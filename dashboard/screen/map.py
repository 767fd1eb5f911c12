"""The map panel: grid polygons coloured by the chosen metric, community and street outlines, the
last 24 hours' reports as heat, overdue orders marked (clustered below street zoom). The polygons
come once, as a cached URL; a refresh patches values only (dashboard.screen.sent), and
`uirevision` keeps zoom and pan. A city seen whole is coloured by street, and by grid once zoomed
in (dashboard.screen.lod; the level is kept in the meta store, and a zoom that crosses it swaps
the layer)."""

from __future__ import annotations

from dataclasses import dataclass

from dash import Input, Output, Patch, State, dcc, html, no_update

from dashboard.common.geojson import layer_url, scope_key
from dashboard.figures import maps, theme
from dashboard.labels import current_locale, t
from dashboard.screen import lod
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
    tree: object = None  # the region directory (street names at city zoom)


def map_style(settings) -> dict:
    return maps.offline_style(settings.gcc_tile_url, settings.gcc_tile_attribution)


def _bounds(m: MapInput):
    return m.geometry.total_bounds(m.snapshot.grids.codes) or m.geometry.total_bounds()


def level_at(m: MapInput, zoom: float | None) -> str:
    """The level of detail at `zoom` (None: the whole scope in view)."""
    bounds = _bounds(m)
    if not bounds:
        return lod.GRID
    codes = m.snapshot.grids.codes
    streets = len({m.geometry.street_of.get(c, c) for c in codes})
    return lod.level_for(len(codes), streets, maps.fit_view(bounds, *ASSUMED_SIZE)["zoom"], zoom)


def layer(m: MapInput, level: str) -> tuple[str, list[str], list[str], list]:
    """(GeoJSON URL, locations, hover names, metric values) of the map at this level."""
    grids = m.snapshot.grids
    if level == lod.STREET:
        codes, values = lod.street_values(m.metric, grids, m.geometry.street_of)
        by_code = getattr(m.tree, "by_code", {})
        names = [by_code[c].name if c in by_code else c for c in codes]
        url = layer_url("street_areas", m.geometry, m.scope)
    else:
        codes, names, values = grids.codes, grids.names, grids.metric(m.metric)
        url = layer_url("grids", m.geometry, m.scope)
    return m.base_url + url, codes, names, maps.metric_values(m.metric, values)


def build_figure(m: MapInput, level: str | None = None) -> dict:
    snapshot, geometry, scope, metric, base_url = m.snapshot, m.geometry, m.scope, m.metric, m.base_url
    bounds = _bounds(m)
    view = maps.fit_view(bounds, *ASSUMED_SIZE) if bounds else {"center": {"lon": 0, "lat": 0}, "zoom": 1}
    level = level or level_at(m, view["zoom"])
    url, codes, names, values = layer(m, level)
    lattice = geometry.lattice
    figure = maps.screen_map(
        geojson=url,
        codes=codes,
        names=names,
        values=values,
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
    for trace in (maps.TRACE_BASE, maps.TRACE_METRIC):
        figure["data"][trace]["meta"] = level  # the browser opens /street/ or /grid/ on a click
    layers = figure["layout"].get("map", {}).get("layers") or []
    if layers and len(codes) > 1 and level_at(m, None) == lod.STREET:
        # A city's 1,600 community outlines are a tangle at street zoom: drawn from near the
        # zoom where grids take over (MapLibre hides the layer below its minzoom by itself).
        layers[0]["minzoom"] = round(lod.switch_zoom(len(m.snapshot.grids.codes), view["zoom"]) - 0.5, 2)
    return figure


def _set_layer(patch: Patch, m: MapInput, level: str) -> list:
    """Swap the base and metric traces to this level's polygons; returns the metric values."""
    url, codes, names, values = layer(m, level)
    for trace, z in ((maps.TRACE_BASE, [0] * len(codes)), (maps.TRACE_METRIC, values)):
        target = patch["data"][trace]
        target["geojson"] = url
        target["locations"] = codes
        target["z"] = z
        target["meta"] = level
    patch["data"][maps.TRACE_METRIC]["customdata"] = names
    (zmin, zmax) = maps.color_range(m.metric, values)
    patch["data"][maps.TRACE_METRIC]["zmin"] = zmin
    patch["data"][maps.TRACE_METRIC]["zmax"] = zmax
    return values


def meta(geometry: GridGeometry, scope: StatScope, metric: str, focus=None, level: str = lod.GRID) -> dict:
    return {"version": geometry.version, "scope": scope_key(scope), "metric": metric, "focus": focus, "lod": level}


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


def _remember(sent: Sent, m: MapInput, level: str) -> None:
    snapshot, metric = m.snapshot, m.metric
    values = layer(m, level)[3]
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
        level = level_at(m, None)
        figure = build_figure(m, level)
        _remember(sent, m, level)
        meta_data = meta(m.geometry, m.scope, m.metric, level=level)
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
    client_meta = client_meta or {}
    level = client_meta.get("lod") if client_meta.get("lod") in (lod.GRID, lod.STREET) else lod.GRID
    if client_meta.get("version") != geometry.version or client_meta.get("scope") != scope_key(m.scope):
        level = level_at(m, None)
        _remember(sent, m, level)
        return build_figure(m, level), meta(geometry, m.scope, metric, focus, level)
    patch = Patch()
    touched = False
    moved = client_meta.get("focus") != focus
    view = None
    if moved:
        bounds = focus or _bounds(m)
        if bounds:
            view = maps.fit_view(bounds, *ASSUMED_SIZE)
            patch["layout"]["map"]["center"] = view["center"]
            patch["layout"]["map"]["zoom"] = view["zoom"]
            touched = True
            level = level_at(m, view["zoom"])
    swapped = level != client_meta.get("lod", lod.GRID)
    if swapped:
        values = _set_layer(patch, m, level)
        sent.remember("map.z", values)
        touched = True
    else:
        values = layer(m, level)[3]
    if client_meta.get("metric") != metric:
        trace = patch["data"][maps.TRACE_METRIC]
        for key, value in maps.metric_style(metric, current_locale()).items():
            trace[key] = value
        if not swapped:
            sent.remember("map.z", values)
            trace["z"] = values
        touched = True
    elif not swapped:
        touched |= sent.array("map.z", values, patch, ("data", maps.TRACE_METRIC, "z"))
    ranges = _ranges(values, snapshot, metric)
    if sent.changed("map.range", ranges) or client_meta.get("metric") != metric or swapped:
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
    if touched:
        # A new revision makes Plotly redraw the traces whose arrays changed in place.
        patch["layout"]["datarevision"] = sent.current.get("map.z", "") + sent.current.get("map.heat", "")
    wanted = meta(geometry, m.scope, metric, focus, level)
    changed_meta = client_meta.get("metric") != metric or moved or swapped
    return (patch if touched else no_update), (wanted if changed_meta else no_update)


def zoomed(m: MapInput, zoom, client_meta: dict | None):
    """A zoom by hand (the map's relayoutData): swap grids and streets when it crosses the level.
    Returns (figure output, meta output)."""
    client_meta = client_meta or {}
    if not isinstance(zoom, int | float) or isinstance(zoom, bool) or not client_meta.get("version"):
        return no_update, no_update
    if client_meta.get("version") != m.geometry.version or client_meta.get("scope") != scope_key(m.scope):
        return no_update, no_update  # the next refresh sends a new figure
    level = level_at(m, float(zoom))
    if level == client_meta.get("lod", lod.GRID):
        return no_update, no_update
    patch = Patch()
    _set_layer(patch, m, level)
    return patch, {**client_meta, "lod": level}


def on_relayout(relayout, metric, client_meta):
    """The callback behind `zoomed`: reads the scope's shared snapshot (a lookup, see
    data.read.snapshots) and the geometry, as the refresh does."""
    from dashboard.common.context import reader, settings
    from dashboard.viewer import current_viewer
    from data.read.directory import directory
    from data.read.geometry import grid_geometry
    from data.read.scope import stat_scope
    from data.read.snapshots import shared_screen

    zoom = relayout.get("map.zoom") if isinstance(relayout, dict) else None
    viewer = current_viewer()
    if zoom is None or not viewer.can("aggregates") or metric not in METRICS:
        return no_update, no_update
    cfg = settings()
    with reader() as session:
        scope = stat_scope(session, viewer)
        geometry = grid_geometry(session)
        tree = directory(session)
        snapshot = shared_screen(
            session, viewer, tz=cfg.gcc_timezone, bucket_s=cfg.gcc_refresh_seconds, redis_url=cfg.gcc_redis_url
        )
    from flask import request

    m = MapInput(snapshot, geometry, scope, metric, cfg, request.host_url.rstrip("/"), tree=tree)
    return zoomed(m, zoom, client_meta if isinstance(client_meta, dict) else None)


def register_callbacks(app) -> None:
    app.callback(
        Output(GRAPH, "figure", allow_duplicate=True),
        Output(META, "data", allow_duplicate=True),
        Input(GRAPH, "relayoutData"),
        State(METRIC, "value"),
        State(META, "data"),
        prevent_initial_call=True,
    )(on_relayout)
