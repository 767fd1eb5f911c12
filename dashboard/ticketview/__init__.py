"""/ticket/<ticket_id>: one ticket — photos, location, deadlines with time left or overdue, the whole
event history as a timeline, and the actions this viewer may take (dashboard.desk.actions)."""

from __future__ import annotations

import logging
from urllib.parse import quote

from dash import Input, Output, State, dcc, html, no_update

from dashboard import labels
from dashboard.common.chrome import breadcrumb, card, region_href, shell
from dashboard.common.context import reader, settings
from dashboard.common.fmt import local
from dashboard.common.inputs import ticket_id as as_ticket_id
from dashboard.desk import actions
from dashboard.figures import maps
from dashboard.labels import (
    action_label,
    duration,
    match_label,
    quality_label,
    rating_label,
    role_label,
    source_label,
    status_label,
    t,
)
from dashboard.viewer import current_viewer
from data.access import AccessDenied, NotVisible, Viewer
from data.clock import utcnow
from data.models import OPEN_STATUSES
from data.read.directory import directory
from data.read.geometry import grid_geometry
from data.read.ticket_records import TicketRecord
from data.read.tickets import deadline

log = logging.getLogger(__name__)

HEAD, LEFT = "ticket-head", "ticket-left"
MAP_SIZE = (640, 300)


def photo_links(refs: list, ticket_id: int) -> html.Div:
    if not refs:
        return html.P(t("ticket.no_photos"), className="muted")
    return html.Div(
        [
            html.A(
                html.Img(src=f"/photos/{quote(str(ref))}?thumb=1&ticket={ticket_id}", alt=str(ref)),
                href=f"/photos/{quote(str(ref))}?ticket={ticket_id}",
                target="_blank",
                title=t("ticket.open_full"),
            )
            for ref in refs
        ],
        className="photos",
    )


def deadline_row(label: str, due, done, now, tz: str, *, finished: bool = False) -> html.Div:
    d = deadline(due, done, now, finished=finished)
    if d.state == "none":
        text = t("ticket.none")
    elif d.state == "ended":
        text = t("ticket.ended")
    elif d.state == "left":
        text = t("ticket.left", d=duration(d.seconds))
    elif d.state == "overdue":
        text = t("ticket.overdue_by", d=duration(d.seconds))
    elif d.state == "met":
        text = t("ticket.met", at=local(d.done, tz))
    else:
        text = t("ticket.late", d=duration(d.seconds))
    return html.Div(
        [
            html.Span(label),
            html.Span(local(due, tz) if due else "", className="muted"),
            html.Span(text, className=f"deadline-state state-{d.state}"),
        ],
        className="deadline",
    )


def quality_text(view: TicketRecord) -> str:
    return t("list.separator").join(quality_label(flag) for flag in view.data_quality)


def timeline(view: TicketRecord, tz: str) -> html.Ol:
    items = []
    for e in view.events:
        transition = ""
        if e.from_status and e.to_status and e.from_status != e.to_status:
            transition = f"{status_label(e.from_status)} → {status_label(e.to_status)}"
        elif e.to_status and not e.from_status:
            transition = status_label(e.to_status)
        role = role_label(e.actor_role)
        who = f"{role} {e.actor_name}" if e.actor_name and e.actor_name != role else role
        note = labels.event_note(e.action, e.note, e.data)
        items.append(
            html.Li(
                [
                    html.Div(
                        [
                            html.Span(local(e.at, tz, "%Y-%m-%d %H:%M:%S"), className="when"),
                            html.Span(action_label(e.action), className="what"),
                            html.Span(transition, className="muted") if transition else None,
                            html.Span(who, className="who"),
                        ]
                    ),
                    html.Div(note, className="note") if note else None,
                    photo_links(e.photos, view.id) if e.photos else None,
                ]
            )
        )
    return html.Ol(items, className="timeline")


def ticket_figure(view: TicketRecord, cfg) -> dict | None:
    with reader() as session:
        geometry = grid_geometry(session)
    feature = geometry.features.get(view.grid.code) if view.grid else None
    if view.lon is not None and view.lat is not None:
        pad = 0.0015
        bounds = (view.lon - pad, view.lat - pad, view.lon + pad, view.lat + pad)
        if view.grid and view.grid.code in geometry.index_of:
            gb = geometry.total_bounds([view.grid.code])
            bounds = (min(bounds[0], gb[0]), min(bounds[1], gb[1]), max(bounds[2], gb[2]), max(bounds[3], gb[3]))
    elif feature is not None:
        bounds = geometry.total_bounds([view.grid.code])
    else:
        return None
    return maps.ticket_map(
        lon=view.lon,
        lat=view.lat,
        grid=feature,
        style=maps.offline_style(cfg.gcc_tile_url, cfg.gcc_tile_attribution),
        view=maps.fit_view(bounds, *MAP_SIZE),
    )


def sections(viewer: Viewer, view: TicketRecord) -> tuple[list, list, html.Section]:
    """(head, left column, location card) of the page."""
    cfg = settings()
    tz = cfg.gcc_timezone
    now = utcnow()
    place = view.grid or view.community
    badges = [html.Span(status_label(view.status), className=f"badge status-{view.status}")]
    if view.escalation_level:
        badges.append(html.Span(t(f"escalation.{view.escalation_level}"), className="badge tone-warn"))
    finished = view.status not in OPEN_STATUSES
    if view.overdue or deadline(view.handle_due_at, view.closed_at, now, finished=finished).state == "overdue":
        badges.append(html.Span(t("kpi.overdue_now"), className="badge tone-bad"))
    if view.data_quality:
        badges.append(html.Span(t("ticket.data_quality"), className="badge tone-warn", title=quality_text(view)))
    facts = [
        (t("ticket.category"), view.category_path),
        (t("ticket.source"), source_label(view.source)),
        (t("ticket.priority"), t(f"priority.{view.priority}") if view.priority in (1, 2, 3) else str(view.priority)),
        (t("table.created"), local(view.created_at, tz)),
        (t("ticket.reporter"), " ".join(x for x in (view.reporter.name, view.reporter.phone) if x) or "—"),
        (t("ticket.address"), view.reporter.address or "—"),
        (t("ticket.grid"), dcc.Link(place.name, href=region_href(place)) if place else "—"),
        (t("ticket.match"), match_label(view.location_match)),
        (t("ticket.assignee"), view.assignee or "—"),
        (t("ticket.rating"), rating_label(view.rating) or "—"),
    ]
    if view.system is not None:  # an imported ticket: where from, as it said, what was odd
        facts += [
            (t("ticket.system"), f"{view.system} · {view.external_id}"),
            (t("ticket.source_status"), view.source_status or "—"),
            (t("ticket.data_quality"), quality_text(view) or "—"),
        ]
    figure = ticket_figure(view, cfg)
    left = [
        card(
            t("ticket.description"),
            [
                html.P(view.description or "—", className="description"),
                html.Table(html.Tbody([html.Tr([html.Th(k), html.Td(v)]) for k, v in facts]), className="kv-table"),
            ],
        ),
        card(
            t("ticket.deadlines"),
            [
                deadline_row(t("ticket.response_due"), view.response_due_at, view.responded_at, now, tz),
                deadline_row(t("ticket.handle_due"), view.handle_due_at, view.closed_at, now, tz, finished=finished),
            ],
        ),
        card(t("ticket.photos"), photo_links(view.photos, view.id)),
        card(t("ticket.history"), timeline(view, tz)),
    ]
    location = card(
        t("ticket.location"),
        dcc.Graph(figure=figure, config={"displayModeBar": False, "scrollZoom": True}, className="ticket-map-graph")
        if figure
        else html.P(t("ticket.no_location"), className="muted"),
    )
    return [html.H1(t("ticket.title", id=view.id)), *badges], left, location


def layout(viewer: Viewer, ticket_id: str | None = None, **_query):
    number = as_ticket_id(ticket_id)
    if number is None:
        raise NotVisible(f"bad ticket id {ticket_id!r:.40}")
    view, options = actions.load(viewer, number)
    chain = [r for r in (view.street, view.community, view.grid) if r is not None]
    with reader() as session:
        district = directory(session).district()
    crumbs = breadcrumb(([district] if district else []) + chain, tail=t("ticket.title", id=view.id))
    head, left, location = sections(viewer, view)
    right = [location]
    if viewer.can("ticket_actions"):
        right.append(html.Section(actions.panel(viewer, view, options), id=actions.PANEL, className="card"))
    return shell(
        viewer,
        [
            crumbs,
            html.Div(head, id=HEAD, className="ticket-head"),
            html.Div(
                [html.Div(left, id=LEFT, className="ticket-col"), html.Div(right, className="ticket-col")],
                className="ticket-grid",
            ),
            dcc.Store(id=actions.TICKET, data=view.id),
            dcc.Store(id=actions.PENDING, data=None),
            dcc.Store(id=actions.CHANGED, data=0),
        ],
        page_class="ticket",
    )


def after_action(_changed, ticket_id):
    viewer = current_viewer()
    ticket_id = as_ticket_id(ticket_id)
    if ticket_id is None:
        return no_update, no_update
    try:
        view, _ = actions.load(viewer, ticket_id)
    except AccessDenied:
        return no_update, no_update
    except Exception:
        log.exception("ticket page refresh failed")
        return no_update, no_update
    if view is None:
        return no_update, no_update
    head, left, _ = sections(viewer, view)
    return head, left


def register_callbacks(app) -> None:
    app.callback(
        Output(HEAD, "children"),
        Output(LEFT, "children"),
        Input(actions.CHANGED, "data"),
        State(actions.TICKET, "data"),
        prevent_initial_call=True,
    )(after_action)
