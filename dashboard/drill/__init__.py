"""Drill-down pages (/district, /street/<code>, /community/<code>, /grid/<code>): breadcrumb, the
area's map with its tickets as status-coloured points, indicators now and per week, team, people
and houses, and the ticket table. Filters (period, category, status) live in the URL query, so a
link reproduces the view; changing them rewrites the URL in place (no reload)."""

from __future__ import annotations

import logging

from dash import ClientsideFunction, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import abort, jsonify, make_response, request

from dashboard.common import asof as history
from dashboard.common.access import refusal_panel
from dashboard.common.chrome import breadcrumb, card, shell
from dashboard.common.context import db, reader, settings
from dashboard.common.fmt import count, percent
from dashboard.common.geojson import layer_url
from dashboard.common.inputs import as_dict, as_int, as_str
from dashboard.drill import export, table
from dashboard.figures import maps, theme
from dashboard.figures.charts import empty_figure, weekly_figure
from dashboard.labels import current_locale, status_label, t
from dashboard.viewer import current_viewer
from data.access import AccessDenied, NotVisible, Viewer
from data.clock import utcnow
from data.history import BadMoment
from data.read.directory import directory
from data.read.geometry import grid_geometry
from data.read.history import region_stats_at, ticket_table_at, weekly_at
from data.read.regions import RegionPage, region_page, weekly
from data.read.scope import stat_scope
from data.read.tickets import (
    PERIODS,
    STATUS_GROUPS,
    TicketFilters,
    export_table,
    main_categories,
    parse_filters,
    ticket_table,
)

log = logging.getLogger(__name__)

VIEW, WEEKLY = "drill-map-view", "drill-weekly"
DOWNLOAD, EXPORTED = "drill-download", "drill-exported"
MAP, PERIOD, CATEGORY, STATUS, TABLE, COUNT, CSV, REGION, NOTICE, SINK = (
    "drill-map",
    "drill-period",
    "drill-category",
    "drill-status",
    "drill-tickets",
    "drill-count",
    "drill-csv",
    "drill-region",
    "drill-notice",
    "drill-sink",
)
MAP_SIZE = (1080, 600)  # the map's box on a 1920-wide desk screen (assets/gcc_pages.css)
EMBED_MAX = 400  # grids whose polygons go inside the page; more come from /geo/*.json (cached)


def layout(viewer: Viewer, level: str, code: str | None = None, **query):
    cfg = settings()
    tz = cfg.gcc_timezone
    now = utcnow()
    live_href = f"/{level}" + (f"/{code}" if code else "")
    try:  # ?as_of= / ?week=: the region as it was then (issue #10)
        moment = history.moment_of(query, tz)
    except BadMoment as exc:
        return shell(viewer, [history.notice(exc, live_href)], page_class="drill")
    with reader() as session:
        if level == "district":
            district = directory(session).district()
            if district is None:
                raise NotVisible("no district")
            code = district.code
        page = region_page(session, viewer, code or "", level=level)
        main_codes = main_categories(session)
        filters, problems = parse_filters(query, {c for c, _ in main_codes})
        tickets = None
        if moment is not None:
            tree = directory(session)
            grid_ids = [tree.by_code[c].id for c in page.grid_codes if c in tree.by_code]
            page.stats = region_stats_at(session, grid_ids, moment, tz=tz, database=db())
            if viewer.can("tickets"):
                tickets = ticket_table_at(session, viewer, page.region, filters, moment.at)
        elif viewer.can("tickets"):
            tickets = ticket_table(session, viewer, page.region, filters, now=now, tz=tz)
        figure = region_figure(session, page, tickets.rows if tickets else [], cfg)
        focus_bounds = focus_of(session, page)
    title = html.Div(
        [
            html.H1(page.region.name),
            html.Span(t(f"level.{page.region.level}"), className="level-badge"),
            html.Span(t("drill.code", code=page.region.code), className="region-code"),
            dcc.Link(t("drill.back"), href=history.keep("/screen", moment), className="back-link"),
        ],
        className="page-title",
    )
    body = [
        history.banner(moment, tz, live_href) if moment else None,
        breadcrumb(page.chain, query=history.keep("", moment)),
        title,
        html.Div(", ".join(problems), id=NOTICE, className="page-notice" if problems else "page-notice is-hidden"),
        html.Div(
            [
                card(
                    t("drill.map"),
                    dcc.Graph(
                        id=MAP,
                        figure=figure,
                        config={"displayModeBar": False, "scrollZoom": True, "responsive": True},
                        className="drill-map-graph",
                    ),
                    class_name="drill-map",
                ),
                html.Div(
                    [indicator_card(page, moment), team_card(page), profile_card(page)],
                    className="drill-side",
                ),
            ],
            className="drill-top",
        ),
        card(
            t("drill.weekly"),
            # Filled in after the page shows (a whole city's twelve weeks take seconds the first time).
            dcc.Loading(
                dcc.Graph(
                    id=WEEKLY,
                    figure=empty_figure(t("drill.loading"), font=theme.DESK_FONT),
                    config={"displayModeBar": False},
                    className="drill-weekly-graph",
                ),
                type="dot",
                color=theme.ACCENT,
            )
            if viewer.can("tickets")
            else refusal_panel(viewer),
            class_name="drill-weekly",
        ),
        tickets_card(viewer, page, tickets, filters, main_codes, tz),
        dcc.Store(
            id=REGION,
            data={"level": page.region.level, "code": page.region.code, "moment": history.to_store(moment)},
        ),
        dcc.Store(id=VIEW, data={"graph": MAP, "bounds": focus_bounds}),
        html.Div(id=SINK, hidden=True),
    ]
    return shell(viewer, body, page_class="drill")


def _shown(geometry, page: RegionPage) -> tuple[list[str], list[str], str | None]:
    """(grids drawn, grids to zoom to, grid highlighted): a grid is shown among its community's grids."""
    if page.region.level == "grid":
        community = geometry.community_of.get(page.region.code)
        codes = [c for c in geometry.codes if geometry.community_of.get(c) == community]
        return codes, [page.region.code], page.region.code
    codes = [c for c in page.grid_codes if c in geometry.index_of]
    return codes, codes, None


def focus_of(session, page: RegionPage):
    geometry = grid_geometry(session)
    _, focus, _ = _shown(geometry, page)
    return geometry.total_bounds(focus)


def region_figure(session, page: RegionPage, rows: list[dict], cfg) -> dict:
    geometry = grid_geometry(session)
    tree = directory(session)
    codes, focus, highlight = _shown(geometry, page)
    bounds = geometry.total_bounds(focus) or geometry.total_bounds()
    view = maps.fit_view(bounds, *MAP_SIZE) if bounds else {"center": {"lon": 0, "lat": 0}, "zoom": 1}
    located = [r for r in rows if r["lon"] is not None and r["lat"] is not None]
    tickets = {
        "id": [r["id"] for r in located],
        "lon": [round(r["lon"], 6) for r in located],
        "lat": [round(r["lat"], 6) for r in located],
        "status": [r["status"] for r in located],
        "status_label": [status_label(r["status"]) for r in located],
        "label": [f"{r['category']} · {status_label(r['status'])}" for r in located],
        "overdue": [r["overdue"] for r in located],
    }
    if len(codes) > EMBED_MAX:  # a city's district page: the browser-cached URLs of the wall
        scope = stat_scope(session, current_viewer())
        base = request.host_url.rstrip("/")
        grids = base + layer_url("grids", geometry, scope)
        outlines = (base + layer_url("communities", geometry, scope), base + layer_url("streets", geometry, scope))
    else:
        grids = geometry.grid_collection(codes)
        outlines = (geometry.outline_collection("community", codes), geometry.outline_collection("street", codes))
    return maps.region_map(
        grids=grids,
        codes=codes,
        names={c: (tree.by_code[c].name if c in tree.by_code else c) for c in codes},
        highlight=highlight,
        outlines=outlines,
        tickets=tickets,
        view=view,
        style=maps.offline_style(cfg.gcc_tile_url, cfg.gcc_tile_attribution),
        locale=current_locale(),
        uirevision=f"region-{page.region.code}",
    )


def _metric(label: str, value: str, tone: str = "") -> html.Div:
    return html.Div(
        [html.Div(label, className="metric-label"), html.Div(value, className=f"metric-value {tone}")],
        className="metric",
    )


def indicator_card(page: RegionPage, moment=None) -> html.Section:
    s = page.stats
    children = [
        html.Div(
            [
                _metric(t("kpi.open_now"), count(s.open_now)),
                _metric(t("kpi.overdue_now"), count(s.overdue_now), "tone-bad" if s.overdue_now else ""),
                _metric(t("kpi.escalated_now"), count(s.escalated_now), "tone-warn" if s.escalated_now else ""),
                _metric(t("kpi.reported_today"), count(s.reported_today)),
                _metric(t("drill.reported_30d"), count(s.reported_30d)),
                _metric(t("kpi.on_time_7d"), percent(s.on_time_7d.value)),
                _metric(t("kpi.satisfaction_30d"), percent(s.satisfaction_30d.value)),
                _metric(t("drill.grids"), count(s.grids)),
            ],
            className="metric-grid",
        )
    ]
    if page.children and page.region.level != "grid":
        level = page.children[0].level
        children.append(
            html.Div(
                [
                    html.Span(t("drill.children", level=t(f"level.{level}"), n=len(page.children)), className="muted"),
                    html.Div(
                        [
                            dcc.Link(c.name, href=history.keep(f"/{c.level}/{c.code}", moment), className="chip")
                            for c in page.children
                        ],
                        className="chips",
                    ),
                ],
                className="children",
            )
        )
    title = t("history.indicators") if moment else t("drill.indicators")
    return card(title, children, class_name="drill-indicators")


def _limited_note(page: RegionPage):
    """On a region above the viewer's area, the team and profile cards are the area's (issue #9)."""
    if page.limited_to is None:
        return None
    return html.P(t("drill.limited_to", name=page.limited_to.name), className="muted small limited-to")


def team_card(page: RegionPage) -> html.Section:
    note = _limited_note(page)
    if not page.team:
        return card(t("drill.team"), [note, html.P(t("team.none"), className="muted")], class_name="drill-team")
    rows = [
        html.Tr(
            [
                html.Th(t(f"team.{m.role}") if m.role != "supervisor" else t("team.supervisor")),
                html.Td(m.name),
                html.Td(m.phone or "", className="muted"),
            ]
        )
        for m in page.team
    ]
    return card(t("drill.team"), [note, html.Table(html.Tbody(rows), className="kv-table")], class_name="drill-team")


def profile_card(page: RegionPage) -> html.Section:
    if page.profile is None:
        return card(t("drill.profile"), html.P(t("access.denied_hint"), className="muted"), class_name="drill-profile")
    items = [
        _metric(t(f"profile.{name}"), value if isinstance(value, str) else count(value))
        for name, value in page.profile.items()
    ]
    return card(
        t("drill.profile"),
        [
            _limited_note(page),
            html.Div(items, className="metric-grid"),
            html.P(t("profile.suppressed"), className="muted small"),
        ],
        class_name="drill-profile",
    )


def count_text(tickets) -> str:
    if tickets.truncated:
        return t("drill.rows_shown", total=f"{tickets.total:,}", shown=f"{len(tickets.rows):,}")
    return t("drill.rows", total=f"{tickets.total:,}")


def tickets_card(viewer, page: RegionPage, tickets, filters: TicketFilters, main_codes, tz: str) -> html.Section:
    if tickets is None:
        return card(t("drill.tickets"), refusal_panel(viewer), class_name="drill-tickets")
    controls = html.Div(
        [
            html.Label(
                [
                    t("filter.period"),
                    dcc.Dropdown(
                        id=PERIOD,
                        options=[{"label": t(f"period.{p}"), "value": p} for p in PERIODS],
                        value=filters.period,
                        clearable=False,
                        searchable=False,
                        className="filter-dropdown",
                    ),
                ]
            ),
            html.Label(
                [
                    t("filter.category"),
                    dcc.Dropdown(
                        id=CATEGORY,
                        options=[{"label": name, "value": code} for code, name in main_codes],
                        value=filters.category,
                        placeholder=t("filter.all"),
                        className="filter-dropdown",
                    ),
                ]
            ),
            html.Label(
                [
                    t("filter.status"),
                    dcc.Dropdown(
                        id=STATUS,
                        options=[{"label": t(f"status_group.{s}"), "value": s} for s in STATUS_GROUPS],
                        value=filters.status,
                        placeholder=t("filter.all"),
                        searchable=False,
                        className="filter-dropdown",
                    ),
                ]
            ),
            html.Span(count_text(tickets), id=COUNT, className="table-count"),
            # Only for roles with "export"; the download is made and audited on the server.
            html.Button(t("table.csv"), id=CSV, className="gcc-button small", n_clicks=0)
            if viewer.can("export")
            else None,
            html.Span(id=EXPORTED, className="table-count muted") if viewer.can("export") else None,
            dcc.Download(id=DOWNLOAD) if viewer.can("export") else None,
        ],
        className="filters",
    )
    grid = table.table(TABLE, tickets.rows, tz)
    return card(t("drill.tickets"), [controls, grid], class_name="drill-tickets")


def apply_filters(period, category, status, region):
    """Filters changed: new rows, count and map points for the same region."""
    viewer = current_viewer()
    cfg = settings()
    region = as_dict(region)
    code = as_str(region.get("code"), "", max_len=64)
    level = as_str(region.get("level"), None, choices=("district", "street", "community", "grid"))
    period, category, status = (as_str(v, None, max_len=32) for v in (period, category, status))
    moment = history.from_store(region.get("moment"), cfg.gcc_timezone)
    try:
        with reader() as session:
            page = region_page(session, viewer, code, level=level)
            main_codes = main_categories(session)
            filters, _ = parse_filters(
                {"period": period, "category": category, "status": status}, {c for c, _ in main_codes}
            )
            if moment is None:
                tickets = ticket_table(session, viewer, page.region, filters, tz=cfg.gcc_timezone)
            else:
                tickets = ticket_table_at(session, viewer, page.region, filters, moment.at)
            figure = region_figure(session, page, tickets.rows, cfg)
    except AccessDenied:
        return no_update, t("access.denied"), no_update
    except Exception:
        log.exception("drill-down filter failed")
        return no_update, t("error.unavailable"), no_update
    return table.row_data(tickets.rows, cfg.gcc_timezone), count_text(tickets), figure


def load_weekly(region):
    """The weekly chart of the page's region, read after the page is on screen."""
    viewer = current_viewer()
    region = as_dict(region)
    code = as_str(region.get("code"), "", max_len=64)
    level = as_str(region.get("level"), None, choices=("district", "street", "community", "grid"))
    tz = settings().gcc_timezone
    moment = history.from_store(region.get("moment"), tz)  # the twelve weeks up to a historical moment
    try:
        with reader() as session:
            page = region_page(session, viewer, code, level=level)
            if moment is None:
                week = weekly(session, viewer, page.region, tz=tz)
            else:
                week = weekly_at(session, viewer, page.region, moment, tz=tz)
    except AccessDenied:
        return empty_figure(t("access.denied"), font=theme.DESK_FONT)
    except Exception:
        log.exception("weekly indicators failed")
        return empty_figure(t("error.unavailable"), font=theme.DESK_FONT)
    return weekly_figure(week.weeks, week.reported, week.closed, week.on_time, locale=current_locale())


def download_csv(n_clicks, period, category, status, region):
    """The table as CSV, made here from the read layer and audited; refused (403) for a role
    without the "export" permission, whatever the browser sends."""
    if as_int(n_clicks, 0, lo=0) < 1:
        raise PreventUpdate
    viewer = current_viewer()
    if not viewer.can("export"):
        abort(make_response(jsonify(error="forbidden", message=f"{viewer.role} may not export"), 403))
    cfg = settings()
    region = as_dict(region)
    code = as_str(region.get("code"), "", max_len=64)
    level = as_str(region.get("level"), None, choices=("district", "street", "community", "grid"))
    period, category, status = (as_str(v, None, max_len=32) for v in (period, category, status))
    try:
        with db().session() as session:
            page = region_page(session, viewer, code, level=level)
            main_codes = main_categories(session)
            filters, _ = parse_filters(
                {"period": period, "category": category, "status": status}, {c for c, _ in main_codes}
            )
            result = export_table(session, viewer, page.region, filters)
            export.record(session, viewer, page.region, filters, result)
    except AccessDenied:
        return no_update, t("access.denied")
    content = export.csv_text(result.rows, cfg.gcc_timezone)
    sent = {"content": content, "filename": export.file_name(page.region, filters), "type": "text/csv"}
    return sent, t("drill.export_done", n=f"{len(result.rows):,}")


def register_callbacks(app) -> None:
    app.callback(Output(WEEKLY, "figure"), Input(REGION, "data"))(load_weekly)
    app.callback(
        Output(TABLE, "rowData"),
        Output(COUNT, "children"),
        Output(MAP, "figure"),
        Input(PERIOD, "value"),
        Input(CATEGORY, "value"),
        Input(STATUS, "value"),
        State(REGION, "data"),
        prevent_initial_call=True,
    )(apply_filters)
    app.callback(
        Output(DOWNLOAD, "data"),
        Output(EXPORTED, "children"),
        Input(CSV, "n_clicks"),
        State(PERIOD, "value"),
        State(CATEGORY, "value"),
        State(STATUS, "value"),
        State(REGION, "data"),
        prevent_initial_call=True,
    )(download_csv)
    # The filters in the address bar (history.replaceState: no reload, shareable).
    app.clientside_callback(
        ClientsideFunction("gcc", "syncQuery"),
        Output(SINK, "children"),
        Input(PERIOD, "value"),
        Input(CATEGORY, "value"),
        Input(STATUS, "value"),
        prevent_initial_call=True,
    )
    app.clientside_callback(ClientsideFunction("gcc", "fitMap"), Output(SINK, "role"), Input(VIEW, "data"))
    # A grid polygon opens its page; a ticket point opens the ticket.
    app.clientside_callback(
        ClientsideFunction("gcc", "openFromRegionMap"),
        Output(SINK, "title"),
        Input(MAP, "clickData"),
        prevent_initial_call=True,
    )
