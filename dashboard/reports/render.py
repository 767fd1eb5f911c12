"""The HTML report (Jinja2, dashboard/reports/templates/report.html) and its PDF (Chromium's own
print: the text stays text and the CJK font is embedded, subset)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from data.clock import utcnow, zone
from data.reports.content import FORMULA_NOTE, FORMULAS, HOURS, RATES, WeekContent
from data.reports.summary import pct, sentences

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATUS = {
    "reported": "已上报",
    "accepted": "已立案",
    "dispatched": "已派遣",
    "in_progress": "处置中",
    "handled": "待核查",
    "suspended": "挂起",
    "closed": "已结案",
    "rated": "已评价",
}


def value_text(key: str, value) -> str:
    if value is None:
        return "—"
    if key in RATES:
        return pct(value)
    if key in HOURS:
        return f"{value:.1f}"
    return f"{value:,}"


def change_text(key: str, change) -> Markup:
    if change is None or change == 0:
        return Markup('<span class="d">持平</span>' if change == 0 else '<span class="d">—</span>')
    if key in RATES:
        text = f"{change * 100:+.1f}pt"
    elif key in HOURS:
        text = f"{change:+.1f}"
    else:
        text = f"{change:+,}"
    return Markup(f'<span class="d">{text}</span>')


def points(change) -> str:
    return "—" if change is None else f"{change * 100:+.1f}pt"


def table(rows, level: str, parent: bool = False) -> Markup:
    head = [f'<th class="name">{level}</th>'] + (['<th class="name">街道</th>'] if parent else [])
    head += [f'{label}<sup><a href="#f-{key}">{FORMULA_NOTE[key]}</a></sup>' for key, label, _ in FORMULAS]
    out = ["<table><tr>", *(h if h.startswith("<th") else f"<th>{h}</th>" for h in head), "</tr>"]
    for row in rows:
        cells = [f'<td class="name">{Markup.escape(row.name)}</td>']
        if parent:
            cells.append(f'<td class="name">{Markup.escape(row.parent)}</td>')
        for key, _, _ in FORMULAS:
            cells.append(f"<td>{value_text(key, row.value(key))}{change_text(key, row.change(key))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return Markup("".join(out))


def html(content: WeekContent, *, district: str, shots: list[dict], generated: datetime | None = None) -> str:
    """The report as one HTML page; `shots` are {"file": "screen.png", "caption": ...} beside it."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    tz = content.week.tz

    def local(at: datetime) -> str:
        return at.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")

    return env.get_template("report.html").render(
        district=district,
        week=content.week,
        tz=tz,
        start_text=local(content.week.start),
        end_text=local(content.week.end),
        generated_text=local(generated or utcnow()),
        sentences=sentences(content),
        district_rows=[content.district, *content.streets],
        communities=content.communities,
        red=content.red,
        black=content.black,
        min_volume=content.min_volume,
        overdue=content.overdue,
        overdue_at_end=content.overdue_status_at_end,
        worsened=content.worsened,
        shots=shots,
        formulas=FORMULAS,
        note=FORMULA_NOTE,
        table=table,
        pct=pct,
        points=points,
        local=local,
        status=lambda s: STATUS.get(s, s),
    )


def pdf(html_path: Path, pdf_path: Path, chromium: str) -> None:
    """Print html_path to pdf_path with Chromium (A4, backgrounds, page numbers in the footer)."""
    from playwright.sync_api import sync_playwright

    from dashboard.reports.capture import CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(html_path.resolve().as_uri(), wait_until="load")
            page.evaluate("() => document.fonts.ready.then(() => true)")
            page.pdf(
                path=str(pdf_path),
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template='<div style="font-size:8px;width:100%;text-align:center;color:#777">'
                '<span class="pageNumber"></span> / <span class="totalPages"></span></div>',
                margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
            )
        finally:
            browser.close()
