"""Grid maps into regions and boundary versions, parents derived, open tickets re-routed.

`import_regions` takes what geo.readers read (codes, names, parent codes, WGS84 polygons) and
writes, through data.regions, one region per code at the chosen level and its boundary: a new
region gets version 1, an unchanged shape writes nothing, a changed shape closes the old version
and opens a new one. So importing the same file twice is a no-op.

Parents: parent codes that do not exist yet become regions one level up (named by their code until
a file with their names is imported at that level). A parent whose boundary is missing or was
itself derived (source `DERIVED`) gets the union of its children's current boundaries (snapped to ~1 mm so
children that miss each other by float noise still dissolve into one polygon); that goes on
upwards as long as something changed. A parent imported with its own polygon keeps it.

Missing regions: active regions of the level that the file does not have are reported; with
`retire_missing` they are retired (inactive, current boundary closed: data.regions.retire_region)
and their parents derived again. A retired region drawn in a later file comes back.

Re-routing: after grid boundaries changed (or grids were retired), every open ticket with a point
is placed again with data.locate; a ticket whose grid (or community / street) differs goes
through the workflow action `regrid`, one TicketEvent each with previous_grid_id, so the
aggregates recompute both grids. An open ticket without a point in a retired grid goes to the
unassigned queue of its community (属地兜底) the same way. Closed tickets keep the grid they were
handled in.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from data import workflow
from data.access import Viewer
from data.locate import locator
from data.models import OPEN_STATUSES, Boundary, Region, Ticket
from data.placement import Placement
from data.regions import current_boundary, geometry_hash, retire_region, set_boundary, upsert_region
from geo.readers import GridFileResult

LEVELS = ("grid", "community", "street")
LEVEL_ABOVE = {"grid": "community", "community": "street", "street": "district"}
DERIVED = "derived: union of child boundaries"
SNAP_DEG = 1e-8
LABELS = {"grid": "grids", "community": "communities", "street": "streets", "district": "districts"}


class GridImportError(Exception):
    """The file's regions clash with the database (a code used at another level); nothing written."""


@dataclass
class GridImportSummary:
    level: str
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    parents_created: list[str] = field(default_factory=list)
    derived: dict[str, str] = field(default_factory=dict)  # parent code -> created / changed / unchanged
    moved_parent: list[str] = field(default_factory=list)  # regions whose parent changed
    rerouted: int = 0
    rerouted_unassigned: int = 0  # of those, now outside every grid
    open_checked: int = 0
    pointless_retired: int = 0  # open tickets without a point in a retired grid (all re-routed)
    missing: list[str] = field(default_factory=list)  # active regions of the level not in the file
    retired: list[str] = field(default_factory=list)  # of those, retired (retire_missing)

    @property
    def boundaries_changed(self) -> bool:
        return bool(self.created or self.changed or self.moved_parent or self.retired)

    def lines(self) -> list[str]:
        what = LABELS[self.level]
        out = [
            f"{what.capitalize()}: {len(self.created)} created, {len(self.changed)} changed (new boundary version), "
            f"{len(self.unchanged)} unchanged"
        ]
        if self.changed:
            out.append("  changed: " + _shorten(self.changed))
        if self.moved_parent:
            out.append(f"  moved to another parent: {_shorten(self.moved_parent)}")
        if self.retired:
            out.append(f"Retired (missing from this file): {len(self.retired)}: {_shorten(self.retired)}")
        elif self.missing:
            out.append(
                f"Missing from this file, still in use: {len(self.missing)}: {_shorten(self.missing)} "
                "(--retire-missing retires them and re-routes their open tickets)"
            )
        if self.parents_created:
            out.append(
                f"New {LABELS[LEVEL_ABOVE[self.level]]} (named by code until imported with names): "
                + _shorten(self.parents_created)
            )
        if self.derived:
            counts = Counter(self.derived.values())
            out.append(
                "Parent boundaries derived by dissolving their children: "
                + ", ".join(f"{counts[k]} {k}" for k in ("created", "changed", "unchanged") if counts[k])
            )
        if self.level == "grid":
            if self.boundaries_changed:
                out.append(
                    f"Open tickets re-routed: {self.rerouted} of {self.open_checked} open tickets with a point"
                    + (f" and {self.pointless_retired} without one in a retired grid" if self.pointless_retired else "")
                    + (
                        f" ({self.rerouted_unassigned} now in no grid: the unassigned queue)"
                        if self.rerouted_unassigned
                        else ""
                    )
                    + "; closed tickets keep their grid"
                )
            else:
                out.append("Open tickets re-routed: 0 (no grid boundary changed)")
        return out


def import_regions(
    session: Session,
    result: GridFileResult,
    *,
    level: str = "grid",
    viewer: Viewer | None = None,
    at: datetime,
    place=locator,
    retire_missing: bool = False,
) -> GridImportSummary:
    """Write the file's regions (see the module docstring). `place(session)` gives the locator used
    to re-route open tickets (the cached data.locate.locator; a dry run passes an uncached one)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    viewer = viewer or Viewer.system("网格导入")
    source = f"import:{os.path.basename(result.report.path)}"[:255]
    summary = GridImportSummary(level=level)
    parent_level = LEVEL_ABOVE[level]
    existing = _regions_by_code(session, set(result.codes) | {p for p in result.parent_codes if p})
    _check_levels(existing, result, level, parent_level)

    parent_ids: dict[str, int] = {}
    for code in dict.fromkeys(p for p in result.parent_codes if p):
        if code in existing:
            parent_ids[code] = existing[code].id
        else:
            region, _ = upsert_region(session, level=parent_level, code=code, name=code, parent_id=None)
            parent_ids[code] = region.id
            summary.parents_created.append(code)

    current = _current_hashes(session, [r.id for r in existing.values()])
    touched_parents = {pid for pid in parent_ids.values() if pid not in current}  # none to keep: derive
    with session.no_autoflush:  # upsert_region and set_boundary flush what they need
        for code, name, parent_code, polygon in zip(
            result.codes, result.names, result.parent_codes, result.polygons, strict=True
        ):
            before = existing.get(code)
            name = (name or (before.name if before is not None else code))[:128]
            parent_id = parent_ids.get(parent_code)
            if before is not None and _unchanged(before, name, parent_id, current.get(before.id), polygon):
                summary.unchanged.append(code)  # the common case of a re-import: no query at all
                continue
            old_parent = before.parent_id if before is not None else None
            region, _ = upsert_region(session, level=level, code=code, name=name, parent_id=parent_id)
            _, outcome = set_boundary(session, region, polygon, source=source, at=at)
            getattr(summary, outcome).append(code)
            if before is not None and old_parent != region.parent_id:
                summary.moved_parent.append(code)
                if old_parent is not None:
                    touched_parents.add(old_parent)
            if region.parent_id is not None and outcome != "unchanged":
                touched_parents.add(region.parent_id)
    session.flush()
    retired_ids = _missing(session, level, set(result.codes), summary, retire=retire_missing, at=at)
    touched_parents |= {p for p in retired_ids.values() if p is not None}
    summary.derived = derive_parents(session, touched_parents, at=at)
    if level == "grid" and summary.boundaries_changed:
        reroute_open_tickets(session, place(session), viewer, at, summary, retired=set(retired_ids))
    return summary


def _missing(session: Session, level: str, codes: set[str], summary, *, retire: bool, at: datetime) -> dict:
    """Note (and with `retire`, retire) the level's active regions the file does not have;
    returns {retired region id: its parent id}."""
    rows = session.execute(
        select(Region.id, Region.code, Region.parent_id).where(Region.level == level, Region.active.is_(True))
    ).all()
    gone = sorted((r for r in rows if r.code not in codes), key=lambda r: r.code)
    summary.missing = [r.code for r in gone]
    if not retire:
        return {}
    for r in gone:
        retire_region(session, session.get(Region, r.id), at=at)
    summary.retired = list(summary.missing)
    return {r.id: r.parent_id for r in gone}


def derive_parents(session: Session, parent_ids: set[int], *, at: datetime) -> dict[str, str]:
    """Dissolve children into each parent without a boundary of its own, then their parents."""
    outcomes: dict[str, str] = {}
    pending = set(parent_ids)
    while pending:
        upward: set[int] = set()
        for parent_id in sorted(pending):
            parent = session.get(Region, parent_id)
            current = current_boundary(session, parent_id)
            if current is not None and current.source != DERIVED:
                continue  # imported (or generated) with its own polygon: keep it
            children = session.scalars(
                select(Boundary.geometry)
                .join(Region, Region.id == Boundary.region_id)
                .where(Region.parent_id == parent_id, Region.active.is_(True), Boundary.valid_to.is_(None))
            ).all()
            if not children:
                continue
            _, outcome = set_boundary(session, parent, dissolve(children), source=DERIVED, at=at)
            outcomes[parent.code] = outcome
            if outcome != "unchanged" and parent.parent_id is not None:
                upward.add(parent.parent_id)
        pending = upward
    return outcomes


def dissolve(geojson_geometries) -> shapely.Geometry:
    """Union of child polygons. A proper tiling dissolves exactly and fast with coverage_union;
    anything else (children that miss each other by float noise, overlaps, exclaves) is unioned
    snapped to 1e-8 degrees (about 1 mm), so noise does not leave the parent in slivers."""
    polygons = shapely.from_geojson(np.asarray(list(geojson_geometries), dtype=object))
    union = shapely.coverage_union_all(polygons)
    if union.is_valid and union.geom_type == "Polygon":
        return union
    union = shapely.union_all(polygons, grid_size=SNAP_DEG)
    return union if union.is_valid else shapely.make_valid(union)


def reroute_open_tickets(
    session: Session, grid_locator, viewer: Viewer, at: datetime, summary, *, retired: set[int] = frozenset()
) -> None:
    """Place every open ticket's point again; move those whose grid, community or street changed.
    Open tickets without a point in a `retired` grid go to their community's unassigned queue."""
    if retired:
        pointless = session.execute(
            select(Ticket.id, Ticket.community_id, Ticket.street_id)
            .where(Ticket.status.in_(OPEN_STATUSES), Ticket.lon.is_(None), Ticket.grid_id.in_(retired))
            .order_by(Ticket.id)
        ).all()
        active = set(session.scalars(select(Region.id).where(Region.active.is_(True))))
        for row in pointless:
            community = row.community_id if row.community_id in active else None
            street = row.street_id if row.street_id in active else None
            fallback = Placement(None, community, street, None, "unassigned")
            workflow.apply(session, viewer, row.id, workflow.ActionInput("regrid", placement=fallback, at=at))
            summary.rerouted += 1
            summary.rerouted_unassigned += 1
        summary.pointless_retired = len(pointless)
    rows = session.execute(
        select(Ticket.id, Ticket.lon, Ticket.lat, Ticket.grid_id, Ticket.community_id, Ticket.street_id)
        .where(Ticket.status.in_(OPEN_STATUSES), Ticket.lon.is_not(None), Ticket.lat.is_not(None))
        .order_by(Ticket.id)
    ).all()
    summary.open_checked = len(rows)
    if not rows:
        return
    index, match = grid_locator.place_many([r.lon for r in rows], [r.lat for r in rows])
    for row, i, m in zip(rows, index, match, strict=True):
        placement = grid_locator.placement_at(int(i), str(m))
        if (placement.grid_id, placement.community_id, placement.street_id) == (
            row.grid_id,
            row.community_id,
            row.street_id,
        ):
            continue
        workflow.apply(session, viewer, row.id, workflow.ActionInput("regrid", placement=placement, at=at))
        summary.rerouted += 1
        summary.rerouted_unassigned += placement.grid_id is None


def _current_hashes(session: Session, region_ids: list[int]) -> dict[int, str]:
    """region id -> geometry hash of its current boundary."""
    found: dict[int, str] = {}
    for start in range(0, len(region_ids), 5000):
        chunk = region_ids[start : start + 5000]
        rows = session.execute(
            select(Boundary.region_id, Boundary.geometry_hash).where(
                Boundary.region_id.in_(chunk), Boundary.valid_to.is_(None)
            )
        )
        found.update((region_id, digest) for region_id, digest in rows)
    return found


def _unchanged(region: Region, name: str, parent_id: int | None, current_hash: str | None, polygon) -> bool:
    return (
        region.active
        and region.name == name
        and (parent_id is None or parent_id == region.parent_id)
        and current_hash is not None
        and current_hash == geometry_hash(polygon)
    )


def _regions_by_code(session: Session, codes: set[str]) -> dict[str, Region]:
    found: dict[str, Region] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        found.update((r.code, r) for r in session.scalars(select(Region).where(Region.code.in_(chunk))))
    return found


def _check_levels(existing: dict[str, Region], result: GridFileResult, level: str, parent_level: str) -> None:
    clashes = [f"{c} (a {existing[c].level})" for c in result.codes if c in existing and existing[c].level != level]
    if clashes:
        raise GridImportError(
            f"these codes already belong to regions of another level, not {level}: {_shorten(clashes)}; "
            "check --level and the code field"
        )
    own = set(result.codes)
    self_parent = sorted({p for p in result.parent_codes if p in own})
    if self_parent:
        raise GridImportError(
            f"these parent codes are {LABELS[level]} of the same file, not {parent_level} codes: "
            f"{_shorten(self_parent)}; check --parent-field"
        )
    wrong = sorted(
        {
            f"{p} (a {existing[p].level})"
            for p in result.parent_codes
            if p in existing and existing[p].level != parent_level
        }
    )
    if wrong:
        raise GridImportError(
            f"the parent of a {level} must be a {parent_level}, but these parent codes belong to other levels: "
            f"{_shorten(wrong)}; check --parent-field and --level"
        )


def _shorten(items, limit=20) -> str:
    items = list(items)
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")
