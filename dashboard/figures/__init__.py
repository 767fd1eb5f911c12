"""Figures as pure functions: plain data in, a Plotly figure dict out (no database, no request).

Dicts rather than go.Figure: the wall's map carries thousands of values and building a go.Figure
validates and copies all of them on every call; tests validate the dicts with go.Figure instead.
The same functions draw the weekly report's charts.

    theme   colours, fonts, the dark base layout, colour scales
    maps    the big screen's map, a region's map, a ticket's map, view fitting, the offline style
    charts  trends, hourly bars, breakdowns, weekly indicators
"""
