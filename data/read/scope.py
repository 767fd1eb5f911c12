"""Which rows of the aggregate tables (grid_stats, daily_stats; keyed by grid id) a viewer may read.

The grids come from `data.access.grid_ids_in_scope`, i.e. from `region_clause`: a district-wide
viewer (admin, dispatcher, kiosk) reads every row including grid 0, the tickets that fell in no
grid; a supervisor reads the grids of their street or community.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import false, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from data.access import NotVisible, Viewer, grid_ids_in_scope, region_clause
from data.models import Region
from data.read.directory import Directory, RegionInfo


@dataclass(frozen=True)
class StatScope:
    """Grid ids whose aggregates are readable; None means all of them (the whole district)."""

    grid_ids: frozenset[int] | None

    @property
    def whole_district(self) -> bool:
        return self.grid_ids is None

    def clause(self, column) -> ColumnElement[bool]:
        if self.grid_ids is None:
            return true()
        if not self.grid_ids:
            return false()
        return column.in_(sorted(self.grid_ids))

    def contains(self, grid_id: int) -> bool:
        return self.grid_ids is None or grid_id in self.grid_ids

    def narrowed(self, grid_ids) -> StatScope:
        """This scope limited to `grid_ids` (a drill-down region's grids)."""
        wanted = frozenset(grid_ids)
        return StatScope(wanted if self.grid_ids is None else wanted & self.grid_ids)


def effective(session: Session, viewer: Viewer) -> Viewer:
    """The viewer with a scope of the district itself written as "no scope".

    A dispatcher's region is usually the district root. data.access.ticket_clause matches that
    with an OR over grid, community, street and "is the district" (it once matched nothing at
    all); with no region the clause is simply true and every query keeps its plain index."""
    if viewer.region_id is None:
        return viewer
    parent = session.scalar(select(Region.parent_id).where(Region.id == viewer.region_id))
    is_root = parent is None and session.get(Region, viewer.region_id) is not None
    return replace(viewer, region_id=None) if is_root else viewer


def stat_scope(session: Session, viewer: Viewer) -> StatScope:
    viewer.require("aggregates")
    ids = grid_ids_in_scope(session, effective(session, viewer))
    return StatScope(None if ids is None else frozenset(ids))


def visible_region(session: Session, viewer: Viewer, code: str) -> Region:
    """The region with this code if the viewer may see it, else AccessDenied (also when the code
    does not exist, so an outsider cannot probe codes)."""
    viewer.require("regions")
    region = session.scalars(select(Region).where(Region.code == code, region_clause(viewer))).first()
    if region is None:
        raise NotVisible(f"region {code} not found or not visible")
    return region


def grids_under(directory: Directory, region_id: int) -> list[RegionInfo]:
    """The grids at or below a region, by code."""
    return [g for g in directory.grids() if directory.within(g.id, region_id)]
