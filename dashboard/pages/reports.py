"""/reports — the weekly report archive, newest first: status (progress while running, the reason
when failed), a thumbnail of the wall, HTML/PDF/PNG downloads through the audited
/reports/<week>/<name> route, and "generate now" (a background process, never this web worker)
for district-wide accounts with the export permission."""

from __future__ import annotations

import dash
from dash import Input, Output, State, dcc, html

from dashboard.common.chrome import shell
from dashboard.common.context import db, settings
from dashboard.common.page import render
from dashboard.labels import t
from dashboard.reports import background
from dashboard.reports.routes import district_wide
from dashboard.viewer import current_viewer
from data.access import AccessDenied, Viewer
from data.clock import zone
from data.reports import archive
from data.reports.weeks import last_finished

dash.register_page(__name__, path="/reports", title=lambda **_: t("reports.title"), name="reports")

LIST, TICK, WEEK, GO, SAID = "reports-list", "reports-tick", "reports-week", "reports-generate", "reports-said"


def size_text(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def week_options(tz: str, count: int = 8) -> list[dict]:
    week = last_finished(tz)
    out = []
    for _ in range(count):
        out.append({"label": week.label(), "value": week.name})
        week = week.previous()
    return out


def report_card(row, tz: str) -> html.Div:
    status = html.Span(t(f"reports.status.{row.status}"), className=f"report-status status-{row.status}")
    lines = [html.Div([html.Strong(row.week), " ", status], className="report-head")]
    if row.status == "running":
        lines.append(html.P(row.progress or "", className="report-progress"))
    if row.status == "failed":
        lines.append(html.P(t("reports.failed", error=row.error or "?"), className="report-error"))
        if row.files:
            lines.append(html.P(t("reports.previous"), className="report-note"))
    if row.ok_at and row.files:
        seconds = round((row.finished_at - row.started_at).total_seconds()) if row.status == "ok" else "—"
        at = row.ok_at.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")
        lines.append(html.P(t("reports.made", at=at, seconds=seconds, size=size_text(row.total_bytes or 0))))
        if row.summary:
            lines.append(html.P(row.summary, className="report-summary"))
        links = [
            html.A(f"{f['name']} ({size_text(f['bytes'])})", href=f"/reports/{row.week}/{f['name']}", target="_blank")
            for f in row.files
            if f["kind"] in ("html", "pdf", "png")
        ]
        lines.append(html.Div([html.Span(t("reports.files") + "："), *links], className="report-files"))
    thumb = None
    if row.files and any(f["name"] == "thumb-screen.png" for f in row.files):
        thumb = html.Img(src=f"/reports/{row.week}/thumbs/thumb-screen.png", className="report-thumb", alt=row.week)
    return html.Div([thumb, html.Div(lines, className="report-body")], className="report-card")


def listing(tz: str) -> list:
    rows = archive.listing(db())
    if not rows:
        return [html.P(t("reports.none"))]
    return [report_card(r, tz) for r in rows]


def build(viewer: Viewer, **_query):
    if not district_wide(viewer):
        raise AccessDenied("reports cover the whole district")
    tz = settings().gcc_timezone
    options = week_options(tz)
    return shell(
        viewer,
        [
            html.H1(t("reports.title")),
            html.P(t("reports.hint")),
            html.Div(
                [
                    dcc.Dropdown(id=WEEK, options=options, value=options[0]["value"], clearable=False),
                    html.Button(t("reports.generate"), id=GO, n_clicks=0, className="gcc-button"),
                    html.Span(id=SAID, className="reports-said"),
                ],
                className="reports-generate",
            ),
            html.Div(listing(tz), id=LIST, className="report-list"),
            dcc.Interval(id=TICK, interval=3000),
        ],
        page_class="reports-page",
    )


def layout(**query):
    return render(build, **query)


@dash.callback(Output(LIST, "children"), Input(TICK, "n_intervals"))
def refresh(_n):
    if not district_wide(current_viewer()):
        return dash.no_update
    return listing(settings().gcc_timezone)


@dash.callback(Output(SAID, "children"), Input(GO, "n_clicks"), State(WEEK, "value"), prevent_initial_call=True)
def generate_now(n_clicks, week):
    viewer = current_viewer()
    if not isinstance(n_clicks, int) or n_clicks < 1:
        return dash.no_update
    if not district_wide(viewer):
        return t("reports.not_allowed")
    if not isinstance(week, str) or not week:
        return t("reports.pick_week")  # never a default week: a forged call starts nothing
    return background.start(settings(), db(), week, who=viewer.name or str(viewer.user_id))
