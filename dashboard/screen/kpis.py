"""KPI cards: today reported / dispatched / closed, open, overdue, escalated, on-time closure rate
(7 days) and satisfaction (30 days), each with its change against the previous period or its share."""

from __future__ import annotations

from dash import html, no_update

from dashboard.common.fmt import count, percent, signed
from dashboard.labels import t
from dashboard.screen.sent import Sent
from data.read.screen import Kpis

CONTAINER = "screen-kpis"


def cards(k: Kpis) -> list[dict]:
    """The cards as plain data (label, value, note, tone): what is compared between refreshes."""

    def vs_count(now: int, before: int) -> tuple[str, str]:
        arrow, size = signed(now - before)
        return f"{t('kpi.vs_yesterday')} {arrow}{size}", ("up" if arrow == "▲" else "down" if arrow else "")

    def vs_rate(now, before, label) -> tuple[str, str]:
        if now is None or before is None:
            return f"{label} {t('kpi.no_rate')}", ""
        arrow, size = signed((now - before) * 100, 1)
        return f"{label} {t('kpi.points', sign=arrow, value=size)}", (
            "good" if arrow == "▲" else "bad" if arrow else ""
        )

    def share(part: int, whole: int, key: str) -> str:
        return t(key, share=percent(part / whole if whole else None, 0))

    rep_note, rep_tone = vs_count(k.reported_today, k.reported_yesterday_same_time)
    clo_note, clo_tone = vs_count(k.closed_today, k.closed_yesterday_same_time)
    on_note, on_tone = vs_rate(k.on_time_7d.value, k.on_time_prev_7d.value, t("kpi.vs_prev_7d"))
    sat_note, sat_tone = vs_rate(k.satisfaction_30d.value, k.satisfaction_prev_30d.value, t("kpi.vs_prev_30d"))
    return [
        dict(key="reported_today", value=count(k.reported_today), note=rep_note, tone=rep_tone),
        dict(
            key="dispatched_today",
            value=count(k.dispatched_today),
            note=share(k.dispatched_today, k.reported_today, "kpi.dispatch_share"),
            tone="",
        ),
        dict(key="closed_today", value=count(k.closed_today), note=clo_note, tone=clo_tone.replace("up", "good")),
        dict(key="open_now", value=count(k.open_now), note=t("kpi.awaiting", n=count(k.awaiting_acceptance)), tone=""),
        dict(
            key="overdue_now",
            value=count(k.overdue_now),
            note=share(k.overdue_now, k.open_now, "kpi.share_of_open"),
            tone="alert" if k.overdue_now else "",
        ),
        dict(
            key="escalated_now",
            value=count(k.escalated_now),
            note=share(k.escalated_now, k.open_now, "kpi.share_of_open"),
            tone="warn" if k.escalated_now else "",
        ),
        dict(key="on_time_7d", value=percent(k.on_time_7d.value), note=on_note, tone=on_tone),
        dict(key="satisfaction_30d", value=percent(k.satisfaction_30d.value), note=sat_note, tone=sat_tone),
    ]


def render(card_list: list[dict]) -> list:
    out = []
    for c in card_list:
        value_class = "kpi-value" + (f" tone-{c['tone']}" if c["tone"] in ("alert", "warn") else "")
        out.append(
            html.Div(
                [
                    html.Div(t(f"kpi.{c['key']}"), className="kpi-label"),
                    html.Div(c["value"], className=value_class, id=f"screen-kpi-{c['key']}"),
                    html.Div(c["note"], className=f"kpi-note tone-{c['tone']}" if c["tone"] else "kpi-note"),
                ],
                className="kpi-card",
            )
        )
    return out


def layout(k: Kpis | None, sent: Sent) -> html.Div:
    if k is None:
        return html.Div([], id=CONTAINER, className="screen-kpis")
    data = cards(k)
    sent.changed("kpis", data)
    return html.Div(render(data), id=CONTAINER, className="screen-kpis")


def update(k: Kpis, sent: Sent):
    data = cards(k)
    return render(data) if sent.changed("kpis", data) else no_update
