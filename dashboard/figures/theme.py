"""The command center's dark theme: one palette for CSS-free figure code (assets/gcc.css uses the
same values as CSS variables). High contrast for a wall read from 5 metres."""

from __future__ import annotations

FONT_FAMILY = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif'

BACKGROUND = "#060b16"
PANEL = "#0c1528"
GRIDLINE = "#1b2a44"
TEXT = "#e8eef8"
MUTED = "#93a4c3"
ACCENT = "#2fd4ff"
BLUE = "#4f8cff"
AMBER = "#ffb020"
RED = "#ff4d5e"
GREEN = "#34d399"
PURPLE = "#b38cff"
GREY = "#6b7a93"

MAP_BACKGROUND = "#0a1426"
GRID_LINE = "#050a14"
NO_DATA = "#1c2a42"
COMMUNITY_LINE = "#9db4d8"
STREET_LINE = "#f0f5ff"

# Counts (open, overdue, reports per 1,000): quiet blue at zero up to red.
COUNT_SCALE = [
    [0.0, "#15395e"],
    [0.2, "#1d6f8f"],
    [0.45, "#2fb59b"],
    [0.65, "#f2c14e"],
    [0.85, "#f7803c"],
    [1.0, "#ff3b4f"],
]
# Rates where higher is better (on-time closure): red, orange, yellow, teal — no red/green pair.
RATE_SCALE = [
    [0.0, "#ff3b4f"],
    [0.4, "#f7803c"],
    [0.7, "#f2d64e"],
    [1.0, "#22c7b8"],
]
HEAT_SCALE = [
    [0.0, "rgba(255,176,32,0)"],
    [0.25, "rgba(255,176,32,0.35)"],
    [0.6, "rgba(255,120,40,0.75)"],
    [1.0, "rgba(255,245,200,0.95)"],
]

STATUS_COLORS = {
    "reported": AMBER,
    "accepted": "#ffd166",
    "dispatched": BLUE,
    "in_progress": ACCENT,
    "handled": PURPLE,
    "suspended": "#c08457",
    "closed": GREEN,
    "rated": "#8fb3a6",  # done and rated: recedes next to the open orders
    "rejected": GREY,
    "duplicate": GREY,
}
OVERDUE_COLOR = RED

# Font sizes for a 1920x1080 wall read from 5 m; desk pages use the smaller set.
WALL_FONT = {"base": 18, "tick": 17, "title": 20}
DESK_FONT = {"base": 13, "tick": 12, "title": 14}


def base_layout(*, font: dict | None = None, margin: dict | None = None) -> dict:
    font = font or WALL_FONT
    return {
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT_FAMILY, "color": TEXT, "size": font["base"]},
        "margin": margin or {"l": 56, "r": 16, "t": 12, "b": 40},
        "showlegend": False,
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": font["base"]}, "bgcolor": PANEL},
    }


def axis(font: dict | None = None, **extra) -> dict:
    font = font or WALL_FONT
    return {
        "gridcolor": GRIDLINE,
        "zerolinecolor": GRIDLINE,
        "linecolor": GRIDLINE,
        "tickfont": {"size": font["tick"], "color": MUTED},
        "automargin": True,
        **extra,
    }
