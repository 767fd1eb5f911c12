"""Where a point falls: the grid, its community and street, and the rule that placed it
(see data.locate and geo.assign)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    """Where a point falls: see data.locate."""

    grid_id: int | None
    community_id: int | None
    street_id: int | None
    boundary_id: int | None
    match: str


UNPLACED = Placement(None, None, None, None, "unassigned")
