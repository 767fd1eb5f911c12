"""The report's Chinese summary: fixed sentence templates filled from data.reports.content's
numbers (so it never says what the tables do not)."""

from __future__ import annotations

from data.reports.content import WeekContent


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def change_phrase(now: float | int, before: float | int) -> str:
    """环比上升 12.5% / 环比下降 3.0% / 与上周持平 / 上周为 0"""
    if not before:
        return "上周为 0" if now else "与上周持平"
    ratio = (now - before) / before
    if abs(ratio) < 0.0005:
        return "与上周持平"
    return f"环比{'上升' if ratio > 0 else '下降'} {abs(ratio) * 100:.1f}%"


def points_phrase(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "上周无可比数据"
    d = (now - before) * 100
    if abs(d) < 0.05:
        return "与上周持平"
    return f"较上周{'提高' if d > 0 else '下降'} {abs(d):.1f} 个百分点"


def sentences(c: WeekContent) -> list[str]:
    w, p = c.district.week, c.district.prev
    out = [
        f"本周全区共上报工单 {w.reported} 件，{change_phrase(w.reported, p.reported)}；"
        f"立案 {w.accepted} 件，结案 {w.closed} 件。",
        f"应结案 {w.should_close} 件，结案率 {pct(w.closure_rate)}，按期结案率 {pct(w.on_time_rate)}，"
        f"{points_phrase(w.on_time_rate, p.on_time_rate)}；到期未结（超期）{w.due_unclosed} 件。",
    ]
    if w.rated:
        out.append(f"本周收到评价 {w.rated} 条，满意率 {pct(w.satisfaction_rate)}。")
    if c.streets:
        busiest = max(c.streets, key=lambda r: (r.week.reported, r.code))
        out.append(f"上报量最多的街道为{busiest.name}（{busiest.week.reported} 件）。")
    if c.red:
        row, rate, vol = c.red[0]
        out.append(f"按期结案率最高的社区为{row.name}（{pct(rate)}，应结案 {vol} 件）。")
    if c.black:
        row, rate, vol = c.black[0]
        out.append(f"按期结案率最低的社区为{row.name}（{pct(rate)}，应结案 {vol} 件），请重点督办。")
    if c.overdue:
        o = c.overdue[0]
        days = o.overdue_hours / 24
        out.append(f"截至周末仍有超期未结工单，最久的一件（#{o.ticket_id}，{o.category}）已超期 {days:.1f} 天。")
    return out


def text(c: WeekContent) -> str:
    return "".join(sentences(c))
