"""Level of detail of the wall's map (issue #14): a city of 10,000 grids seen whole is a mosaic of
specks, slow to draw and unreadable. Below a zoom where more than LOD_MAX_GRIDS grids would be in
view, the map colours streets (each street's grids summed) instead; zoomed in, the grids. The
demo district (150 grids) is always drawn as grids.

Pure functions: the level for a zoom, and the streets' values from the grids' values."""

from __future__ import annotations

import math

import numpy as np

from data.read.screen import GridValues

GRID, STREET = "grid", "street"
LOD_MAX_GRIDS = 1500  # more grids than this in view: colour streets


def level_for(n_grids: int, n_streets: int, fit_zoom: float, zoom: float | None) -> str:
    """The level at `zoom` for a scope of `n_grids` that fills the map at `fit_zoom`: each zoom
    step shows a quarter of the area, so about n / 4^(zoom - fit_zoom) grids are in view."""
    if n_streets < 2 or n_grids <= LOD_MAX_GRIDS:
        return GRID
    zoom = fit_zoom if zoom is None else zoom
    in_view = n_grids / 4 ** max(0.0, zoom - fit_zoom)
    return STREET if in_view > LOD_MAX_GRIDS else GRID


def switch_zoom(n_grids: int, fit_zoom: float) -> float:
    """The zoom from which grids are drawn (for the record and the tests)."""
    return fit_zoom + max(0.0, math.log(max(n_grids, 1) / LOD_MAX_GRIDS, 4))


def street_values(metric: str, grids: GridValues, street_of: dict[str, str]) -> tuple[list[str], list]:
    """(street codes in first-seen order, the metric per street): counts summed; the on-time rate
    from the summed on-time and due orders; reports per 1,000 residents as the mean of the
    streets' grids that have a population (the grids' populations are not in the snapshot)."""
    order: dict[str, int] = {}
    owner = np.array([order.setdefault(street_of.get(c, c), len(order)) for c in grids.codes], dtype=np.int64)
    n = len(order)
    codes = list(order)
    if metric in ("open_now", "overdue_now"):
        summed = np.bincount(owner, weights=np.asarray(grids.metric(metric), dtype=float), minlength=n)
        return codes, [int(v) for v in summed]
    if metric == "on_time_7d":
        due = np.asarray(grids.should_close_7d, dtype=float)
        rate = np.array([np.nan if r is None else r for r in grids.on_time_7d], dtype=float)
        on_time = np.where(np.isnan(rate), 0.0, rate) * due
        due_sum = np.bincount(owner, weights=due, minlength=n)
        on_sum = np.bincount(owner, weights=on_time, minlength=n)
        return codes, [(float(o / d) if d else None) for o, d in zip(on_sum, due_sum, strict=True)]
    values = np.array([np.nan if v is None else v for v in grids.metric(metric)], dtype=float)
    have = ~np.isnan(values)
    total = np.bincount(owner[have], weights=values[have], minlength=n)
    count = np.bincount(owner[have], minlength=n)
    return codes, [(round(float(t / c), 2) if c else None) for t, c in zip(total, count, strict=True)]
