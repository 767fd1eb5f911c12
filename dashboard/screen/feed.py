"""The live feed: the newest reports, with no reporter identity at all (time, category, grid,
channel, status, an address masked to the estate)."""

from __future__ import annotations

from dash import html, no_update

from dashboard.common.fmt import local
from dashboard.labels import source_label, status_label, t
from dashboard.screen.sent import Sent
from data.read.screen import FeedItem

CONTAINER = "screen-feed"


def render(items: list[FeedItem], tz: str) -> list:
    if not items:
        return [html.P(t("feed.empty"), className="panel-empty")]
    return [
        html.Li(
            [
                html.Span(local(item.at, tz, "%H:%M"), className="feed-time"),
                html.Span(item.category, className="feed-category"),
                html.Span(item.grid, className="feed-grid"),
                html.Span(status_label(item.status), className=f"feed-status status-{item.status}"),
                html.Span(source_label(item.source), className="feed-source"),
            ],
            className="feed-item",
        )
        for item in items
    ]


def _key(items: list[FeedItem]):
    return [[i.id, i.status] for i in items]


def layout(items, tz: str, sent: Sent) -> html.Div:
    children = []
    if items is not None:
        sent.changed("feed", _key(items))
        children = render(items, tz)
    return html.Div(
        [
            html.H2([t("feed.title"), html.Span(className="live-dot")], className="panel-title"),
            html.Ul(children, id=CONTAINER, className="feed-list"),
        ],
        className="panel screen-feed-panel",
    )


def update(items, tz: str, sent: Sent):
    return render(items, tz) if sent.changed("feed", _key(items)) else no_update
