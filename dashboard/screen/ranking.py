"""Grid ranking by on-time closure rate (7 days), best and worst five, each with the volume behind
its rate; the grid's name links to its page."""

from __future__ import annotations

from dash import dcc, html, no_update

from dashboard.common.fmt import percent
from dashboard.labels import t
from dashboard.screen.sent import Sent
from data.read.screen import RANKING_MIN_VOLUME, RankRow

CONTAINER = "screen-ranking"


def _rows(rows: list[RankRow], tone: str, query: str = "") -> html.Ol:
    return html.Ol(
        [
            html.Li(
                [
                    html.Span(str(i + 1), className="rank-no"),
                    dcc.Link(r.name, href=f"/grid/{r.code}{query}", className="rank-name"),
                    html.Span(percent(r.rate, 0), className=f"rank-rate tone-{tone}"),
                    html.Span(t("ranking.volume", n=r.volume), className="rank-volume"),
                ]
            )
            for i, r in enumerate(rows)
        ],
        className="rank-list",
    )


def render(best: list[RankRow], worst: list[RankRow], query: str = "") -> list:
    """`query`: added to the grid links (a historical wall's moment, issue #10)."""
    if not best and not worst:
        return [html.P(t("ranking.empty", n=RANKING_MIN_VOLUME), className="panel-empty")]
    return [
        html.Div([html.H3(t("ranking.best"), className="rank-head tone-good"), _rows(best, "good", query)]),
        html.Div([html.H3(t("ranking.worst"), className="rank-head tone-bad"), _rows(worst, "bad", query)]),
    ]


def _key(best, worst):
    return [[r.code, r.rate, r.volume] for r in best] + [None] + [[r.code, r.rate, r.volume] for r in worst]


def layout(best, worst, sent: Sent, query: str = "") -> html.Div:
    children = []
    if best is not None:
        sent.changed("ranking", _key(best, worst))
        children = render(best, worst, query)
    return html.Div(
        [html.H2(t("ranking.title"), className="panel-title"), html.Div(children, id=CONTAINER, className="rank-body")],
        className="panel screen-ranking-panel",
    )


def update(best, worst, sent: Sent, query: str = ""):
    return render(best, worst, query) if sent.changed("ranking", _key(best, worst)) else no_update
