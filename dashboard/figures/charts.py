"""Charts: trends, today by hour, breakdowns, weekly indicators. Pure functions, figure dicts.

Trace order is part of each function's contract: dashboard.screen patches `data[i].y` in place.
"""

from __future__ import annotations

from datetime import date

from dashboard.figures import theme
from dashboard.labels import text


def empty_figure(message: str, *, font: dict | None = None) -> dict:
    font = font or theme.WALL_FONT
    layout = theme.base_layout(font=font)
    layout.update(
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": message,
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "font": {"size": font["title"], "color": theme.MUTED},
            }
        ],
    )
    return {"data": [], "layout": layout}


def _legend(font: dict) -> dict:
    return {
        "orientation": "h",
        "x": 0,
        "y": 1.02,
        "xanchor": "left",
        "yanchor": "bottom",
        "font": {"size": font["tick"], "color": theme.MUTED},
        "bgcolor": "rgba(0,0,0,0)",
    }


def trend_figure(days: list[date], reported: list[int], closed: list[int], *, locale: str = "zh") -> dict:
    """Reported vs closed per day. Traces: 0 reported, 1 closed."""
    font = theme.WALL_FONT
    x = [d.isoformat() for d in days]
    layout = theme.base_layout(margin={"l": 52, "r": 12, "t": 34, "b": 34})
    layout.update(
        showlegend=True,
        legend=_legend(font),
        xaxis=theme.axis(type="date", tickformat="%m-%d", dtick=7 * 86400000, showgrid=False),
        yaxis=theme.axis(rangemode="tozero", nticks=4),
        hovermode="x unified",
    )
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": text("trend.reported", locale),
                "x": x,
                "y": reported,
                "line": {"color": theme.ACCENT, "width": 3},
                "fill": "tozeroy",
                "fillcolor": "rgba(47,212,255,0.12)",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": text("trend.closed", locale),
                "x": x,
                "y": closed,
                "line": {"color": theme.GREEN, "width": 3},
            },
        ],
        "layout": layout,
    }


def hourly_figure(today: list[int], yesterday: list[int], *, current_hour: int, locale: str = "zh") -> dict:
    """Reports per hour: bars today (hours to come left empty), a line for yesterday.
    Traces: 0 today, 1 yesterday."""
    font = theme.WALL_FONT
    hours = list(range(24))
    today_shown = [n if h <= current_hour else None for h, n in zip(hours, today, strict=True)]
    layout = theme.base_layout(margin={"l": 44, "r": 8, "t": 34, "b": 34})
    layout.update(
        showlegend=True,
        legend=_legend(font),
        xaxis=theme.axis(tickvals=[0, 6, 12, 18, 23], ticktext=["0", "6", "12", "18", "23"], showgrid=False),
        yaxis=theme.axis(rangemode="tozero", nticks=4),
        bargap=0.25,
    )
    return {
        "data": [
            _bars(text("hourly.today", locale), hours, today_shown, theme.ACCENT),
            {
                "type": "scatter",
                "mode": "lines",
                "name": text("hourly.yesterday", locale),
                "x": hours,
                "y": yesterday,
                "line": {"color": theme.MUTED, "width": 2, "dash": "dot", "shape": "spline"},
            },
        ],
        "layout": layout,
    }


def _bars(name: str, x: list, y: list, color: str) -> dict:
    """A named vertical bar trace in one colour."""
    return {"type": "bar", "name": name, "x": x, "y": y, "marker": {"color": color}}


def breakdown_figure(
    items: list[tuple[str, int]], *, color: str = theme.BLUE, top: int = 6, locale: str = "zh"
) -> dict:
    """Horizontal bars, largest on top, each labelled with its count. Trace 0."""
    if not items:
        return empty_figure(text("chart.empty", locale))
    shown = list(items[:top])
    if len(items) > top:
        shown[-1] = (text("chart.other", locale), sum(n for _, n in items[top - 1 :]))
    names = [name for name, _ in shown][::-1]
    counts = [n for _, n in shown][::-1]
    layout = theme.base_layout(margin={"l": 8, "r": 56, "t": 6, "b": 6})
    layout.update(
        xaxis=theme.axis(visible=False, rangemode="tozero"),
        yaxis=theme.axis(tickfont={"size": theme.WALL_FONT["tick"], "color": theme.TEXT}, showgrid=False),
        bargap=0.28,
    )
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": counts,
                "y": names,
                "text": counts,
                "textposition": "outside",
                "cliponaxis": False,
                "textfont": {"size": theme.WALL_FONT["tick"], "color": theme.TEXT},
                "marker": {"color": color},
                "hovertemplate": "%{y}: %{x}<extra></extra>",
            }
        ],
        "layout": layout,
    }


def weekly_figure(
    weeks: list[date], reported: list[int], closed: list[int], on_time: list[float | None], *, locale: str = "zh"
) -> dict:
    """A region's weeks: reported and closed bars, on-time closure rate as a line (right axis)."""
    font = theme.DESK_FONT
    x = [w.isoformat() for w in weeks]
    layout = theme.base_layout(font=font, margin={"l": 44, "r": 48, "t": 30, "b": 30})
    layout.update(
        showlegend=True,
        legend=_legend(font),
        barmode="group",
        bargap=0.3,
        xaxis=theme.axis(font, type="date", tickformat="%m-%d", showgrid=False),
        yaxis=theme.axis(font, rangemode="tozero", nticks=5),
        yaxis2=theme.axis(
            font,
            overlaying="y",
            side="right",
            range=[0, 1.05],
            tickvals=[0, 0.25, 0.5, 0.75, 1],
            tickformat=".0%",
            showgrid=False,
        ),
        hovermode="x unified",
    )
    return {
        "data": [
            _bars(text("weekly.reported", locale), x, reported, theme.BLUE),
            _bars(text("weekly.closed", locale), x, closed, theme.GREEN),
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": text("weekly.on_time", locale),
                "x": x,
                "y": on_time,
                "yaxis": "y2",
                "line": {"color": theme.AMBER, "width": 2.5},
                "connectgaps": False,
            },
        ],
        "layout": layout,
    }
