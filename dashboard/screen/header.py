"""The header: district name, a live clock in the district's time zone, "数据更新于 hh:mm:ss" and a
stale marker. Clock and marker run in the browser (assets/gcc_screen.js), so the marker appears
even when the server cannot be reached at all."""

from __future__ import annotations

from dash import dcc, html

from dashboard.labels import t

CLOCK, ASOF, ASOF_TEXT, STALE, TICK, CONFIG, BANNER = (
    "screen-clock",
    "screen-asof",
    "screen-asof-text",
    "screen-stale",
    "screen-tick",
    "screen-config",
    "screen-banner",
)


def asof_data(as_of_text: str, age_seconds: float | None, serial: int) -> dict:
    """What the browser needs to show freshness: the time to print, how old the data was when read,
    and a serial so the browser knows when a new value arrived (its own clock may be off)."""
    return {"text": as_of_text, "age": age_seconds, "serial": serial}


def layout(
    district: str, tz: str, stale_after: float, asof: dict, locale: str, *, banner: str = "", history: str | None = None
) -> html.Header:
    """`history`: the moment of a historical view (issue #10): the clock shows it and stands still."""
    weekdays = [t(f"weekday.{i}") for i in range(7)]
    return html.Header(
        [
            html.Div(
                [html.Span(district, className="brand-district"), html.Span(t("app.subtitle"), className="brand-name")],
                className="screen-brand",
            ),
            html.Div(history or "", id=CLOCK, className="screen-clock"),
            html.Div(
                [
                    html.Span(t("header.as_of"), className="asof-label"),
                    html.Span(asof.get("text") or "--:--:--", id=ASOF_TEXT, className="asof-time"),
                    html.Span(t("header.stale"), id=STALE, className="stale-badge is-hidden", role="status"),
                ],
                className="screen-asof",
            ),
            # Cleared by the next successful refresh (dashboard.screen.refresh).
            html.Div(banner, id=BANNER, className="screen-banner", role="status"),
            dcc.Interval(id=TICK, interval=1000, disabled=history is not None),
            dcc.Store(id=ASOF, data=asof),
            dcc.Store(
                id=CONFIG,
                data={
                    "tz": tz,
                    "staleAfter": stale_after,
                    "weekdays": weekdays,
                    "locale": locale,
                    "focusLabel": t("map.focus", name="{name}"),
                },
            ),
        ],
        className="screen-header",
    )
