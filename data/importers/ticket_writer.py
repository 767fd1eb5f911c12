"""Prepared tickets into the database, in bulk and with their history.

A ticket is known by (system, external_id): `--system` names the other system (12345, 数字城管), so
two systems with overlapping numbers both import fully; tickets made here have no system.

For each ticket not yet in the database:
- its point is placed with the locator's vectorised `place_many` (a ticket without a usable point,
  or outside every grid beyond the tolerance, gets no grid: location_match "unassigned", flagged
  location_missing / location_outside);
- the row is written with the file's timestamps: created_at; accepted_at = created_at once past
  `reported` (the file has no acceptance time); dispatched_at = created_at once dispatched;
  handled_at = closed_at = the file's closed_at for a closed ticket (none when the file gives
  none: flagged closed_without_time); handle_due_at = due_at. An open ticket in a working status
  past its due_at is written overdue (the deadline sweep then leaves it alone instead of
  escalating years of history at once); dispatched / in progress / handled / suspended tickets
  go to their grid's team like an automatic dispatch. The source's status word, the raw cells and
  the data-quality flags are kept (data.quality);
- one `import` TicketEvent (from nothing to the ticket's status, at created_at; for a closed
  ticket with a close time to `handled`) and, for such a closed ticket, a `verify_close` event at
  closed_at, each with its audit row, so the aggregates' incremental refresh and the history see them.

A ticket already there is kept in step (`sync`): when what its system says of the fields it
controls — status, close time, due time, point (and the status word, the flags) — differs from
what it said at the last import, the ticket takes the new values through the workflow's system
action `sync` (data.actions), one event each with the values before and after; `_sync` does
that in bulk. A ticket the source did not change is left alone, so work done here on it stays.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter
from types import SimpleNamespace

import numpy as np
from sqlalchemy import JSON, func, insert, select
from sqlalchemy.orm import Session

from data import quality, workflow
from data.access import Viewer
from data.audit import AuditLog
from data.clock import UTC, UTCDateTime
from data.importers.categories import match_categories
from data.importers.tickets import Prepared, PreparedTicket
from data.locate import locator
from data.models import WORKING_STATUSES, GridTeam, Ticket, TicketEvent

ACCEPTED_OR_LATER = ("accepted", "dispatched", "in_progress", "handled", "suspended", "closed")
DISPATCHED_OR_LATER = ("dispatched", "in_progress", "handled", "closed")
TEAM_STATUSES = ("dispatched", "in_progress", "handled", "suspended")
CHUNK = 5000


@dataclass
class TicketImportSummary:
    records: int = 0
    imported: int = 0
    synced: int = 0  # already in the database, changed in the source: updated through `sync`
    unchanged: int = 0  # already in the database, unchanged in the source
    rejected: int = 0
    statuses: Counter = field(default_factory=Counter)
    placed: Counter = field(default_factory=Counter)  # inside / boundary / overlap / nearest / unassigned
    unassigned: Counter = field(default_factory=Counter)  # why: no coordinates, ..., outside every grid
    flags: Counter = field(default_factory=Counter)  # data-quality flags over the file's tickets
    synced_fields: Counter = field(default_factory=Counter)  # what the syncs changed
    status_mapping: list[str] = field(default_factory=list)  # data.importers.statuses.StatusMapper.lines
    categories_created: list[str] = field(default_factory=list)
    dispatched_to_team: int = 0
    overdue: int = 0
    addresses_truncated: int = 0
    closed_at_ignored: int = 0
    events: int = 0
    seconds: float = 0.0

    @property
    def written(self) -> int:
        return self.imported + self.synced

    def lines(self) -> list[str]:
        out = [
            f"Records: {self.records}; imported {self.imported}, updated (sync) {self.synced}, "
            f"unchanged {self.unchanged}, rejected {self.rejected}",
        ]
        if self.imported:
            out.append("Statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())))
            out.append("Placed: " + ", ".join(f"{k} {v}" for k, v in sorted(self.placed.items())))
        if self.synced_fields:
            out.append("Changed by the sync: " + ", ".join(f"{k} {v}" for k, v in sorted(self.synced_fields.items())))
        if self.unassigned:
            out.append(
                "Unassigned queue (imported without a grid): "
                + ", ".join(f"{k} {v}" for k, v in sorted(self.unassigned.items()))
            )
        if self.flags:
            out.append(
                "Data-quality flags (imported as they are, see docs/import.md): "
                + ", ".join(f"{k} {self.flags[k]}" for k in quality.FLAGS if self.flags[k])
            )
        out += self.status_mapping
        if self.categories_created:
            shown = ", ".join(self.categories_created[:20])
            more = f", ... ({len(self.categories_created)} in all)" if len(self.categories_created) > 20 else ""
            out.append(f"New categories under 导入类: {shown}{more}")
        if self.dispatched_to_team:
            out.append(f"Open dispatched tickets given to their grid's team: {self.dispatched_to_team}")
        if self.overdue:
            out.append(f"Open tickets already past due (written overdue, not escalated): {self.overdue}")
        if self.addresses_truncated:
            out.append(f"Addresses cut to 255 characters: {self.addresses_truncated}")
        if self.closed_at_ignored:
            out.append(
                f"Open or cancelled tickets with a closed_at in the file: {self.closed_at_ignored} "
                "(status kept; the date is in the import event)"
            )
        out.append(f"Events written: {self.events}; {self.seconds:.2f} s")
        return out


def write_tickets(
    session: Session,
    prepared: Prepared,
    *,
    system: str,
    source: str,
    viewer: Viewer,
    file_label: str,
    now: datetime,
) -> TicketImportSummary:
    """Write the prepared tickets that are new and sync those that changed; see the module docstring."""
    started = perf_counter()
    summary = TicketImportSummary(rejected=len(prepared.rejects))
    summary.records = len(prepared.tickets) + len(prepared.rejects)
    summary.status_mapping = prepared.statuses.lines() if prepared.statuses else []
    everything = prepared.tickets
    grid_locator = locator(session)
    lon = np.array([np.nan if t.lon is None else t.lon for t in everything])
    lat = np.array([np.nan if t.lat is None else t.lat for t in everything])
    index, match = grid_locator.place_many(lon, lat)
    places = [grid_locator.placement_at(int(i), str(m)) for i, m in zip(index, match, strict=True)]
    flags = [
        quality.with_location(t.flags, lon=t.lon, grid_id=p.grid_id) for t, p in zip(everything, places, strict=True)
    ]
    for one in flags:
        summary.flags.update(one)

    existing = _existing(session, system, [t.external_id for t in everything])
    new, changed = [], []
    for t, place, f in zip(everything, places, flags, strict=True):
        if t.external_id not in existing:
            new.append((t, place, f))
            continue
        ticket_id, record = existing[t.external_id]
        before = (record or {}).get("values") or {}
        differs = {k for k, v in _values(t, f).items() if before.get(k) != v}
        if differs:
            changed.append((ticket_id, t, place, f, differs))
        else:
            summary.unchanged += 1
    teams = {g.grid_id: (g.grid_worker_id, g.property_company_id) for g in session.scalars(select(GridTeam))}
    events = _insert_new(session, new, system=system, source=source, viewer=viewer, file_label=file_label, now=now,
                         teams=teams, summary=summary)  # fmt: skip
    events += _sync(session, changed, viewer=viewer, file_label=file_label, now=now, teams=teams, summary=summary)
    event_floor = _max_id(session, TicketEvent)
    _insert(session, TicketEvent, events)
    event_ids = _event_ids(session, event_floor, events)
    _audit(session, viewer, events, event_ids)
    summary.events = len(events)
    summary.seconds = perf_counter() - started
    return summary


def _values(t: PreparedTicket, flags: list[str]) -> dict:
    """What the source says of the fields it controls; a re-import compares it with the last one."""
    return {**t.source_values(), "flags": [f for f in flags if f not in quality.LOCATION_FLAGS]}


def _record(t: PreparedTicket, flags: list[str]) -> dict:
    """Ticket.source_record: the raw cells as the file had them, and what they meant."""
    return {"cells": t.cells, "values": _values(t, flags)}


def _existing(session: Session, system: str, external_ids: list[str]) -> dict[str, tuple[int, dict | None]]:
    """external_id -> (ticket id, source_record) of this system's tickets already imported."""
    found: dict[str, tuple[int, dict | None]] = {}
    for start in range(0, len(external_ids), CHUNK):  # few big IN lists: each query costs ~0.1 s on psycopg
        chunk = external_ids[start : start + CHUNK]
        rows = session.execute(
            select(Ticket.external_id, Ticket.id, Ticket.source_record).where(
                Ticket.system == system, Ticket.external_id.in_(chunk)
            )
        )
        found.update((e, (i, r)) for e, i, r in rows)
    return found


def _insert_new(session, new, *, system, source, viewer, file_label, now, teams, summary) -> list[dict]:
    """Insert the new tickets in bulk; returns their events (written by the caller)."""
    if not new:
        return []
    categories = match_categories(session, [t.category for t, _, _ in new], create=True)
    summary.categories_created = categories.created
    rows = []
    for t, place, flags in new:
        category_id = categories.ids[t.category]
        row = _ticket_row(t, system, source, category_id, place, flags, now)
        if t.status in TEAM_STATUSES and place.grid_id in teams:
            worker, company = teams[place.grid_id]
            if categories.property_matter.get(category_id) and company:
                row["assignee_org_id"] = company
            else:
                row["assignee_staff_id"] = worker
            summary.dispatched_to_team += bool(row["assignee_org_id"] or row["assignee_staff_id"])
        rows.append(row)
        summary.statuses[t.status] += 1
        summary.placed[place.match] += 1
        if place.grid_id is None:
            summary.unassigned[_why_unassigned(t)] += 1
        summary.overdue += row["overdue"]
        summary.addresses_truncated += t.address_truncated
        summary.closed_at_ignored += t.ignored_closed_at is not None

    ticket_floor = _max_id(session, Ticket)
    _insert(session, Ticket, rows)
    ids = _ticket_ids(session, system, ticket_floor, [t.external_id for t, _, _ in new])
    events = []
    for (t, _, _), row, ticket_id in zip(new, rows, ids, strict=True):
        events += _events(t, row, ticket_id, viewer, file_label)
    summary.imported = len(rows)
    return events


def _status_columns(t: PreparedTicket, now: datetime) -> dict:
    """The columns a ticket's status and times in the file give it (import and sync alike)."""
    return dict(
        status=t.status,
        accepted_at=t.created_at if t.status in ACCEPTED_OR_LATER else None,
        dispatched_at=t.created_at if t.status in DISPATCHED_OR_LATER else None,
        handled_at=t.closed_at,
        closed_at=t.closed_at,
        handle_due_at=t.due_at,
        overdue=t.status in WORKING_STATUSES and t.due_at is not None and t.due_at < now,
    )


def _ticket_row(t: PreparedTicket, system, source, category_id, place, flags, now) -> dict:
    return dict(
        source=source,
        system=system,
        external_id=t.external_id,
        source_status=t.file_status,
        source_record=_record(t, flags),
        data_quality=flags,
        public_token=secrets.token_urlsafe(12),
        category_id=category_id,
        priority=2,
        description=t.description,
        address=t.address,
        reporter_name=None,
        reporter_phone=None,
        photos=[],
        lon=t.lon,
        lat=t.lat,
        location_match=place.match,
        grid_id=place.grid_id,
        community_id=place.community_id,
        street_id=place.street_id,
        boundary_id=place.boundary_id,
        assignee_staff_id=None,
        assignee_org_id=None,
        escalation_level=0,
        rework_count=0,
        duplicate_of_id=None,
        rating=None,
        created_at=t.created_at,
        responded_at=None,
        rated_at=None,
        updated_at=t.closed_at or t.created_at,
        response_due_at=None,
        **_status_columns(t, now),
    )


def _sync(session, changed, *, viewer, file_label, now, teams, summary) -> list[dict]:
    """Bring the tickets the source changed in step through the workflow's `sync` (data.workflow
    .step: the same check and effect as a live action; in bulk: tickets loaded a chunk at a time,
    one event each, written with their audit rows by the caller)."""
    ctx = workflow.SessionContext(session)
    events = []
    for start in range(0, len(changed), CHUNK):
        chunk = changed[start : start + CHUNK]
        tickets = {x.id: x for x in session.scalars(select(Ticket).where(Ticket.id.in_([c[0] for c in chunk])))}
        for ticket_id, t, place, flags, differs in chunk:
            ticket = tickets[ticket_id]
            moved = bool({"lon", "lat"} & differs)
            given = workflow.ActionInput(
                "sync",
                at=now,
                data={
                    "fields": _sync_fields(ticket, t, flags, differs, now, teams),
                    "file": file_label,
                    "line": t.line,
                },
                placement=place if moved else None,
                lon=t.lon,
                lat=t.lat,
            )
            event = workflow.step(ctx, viewer, ticket, given)
            summary.synced_fields.update(list(event["data"]["changed"]))
            summary.synced += 1
            events.append(event)
        session.flush()
    return events


def _sync_fields(ticket: Ticket, t: PreparedTicket, flags, differs: set[str], now, teams) -> dict:
    """The columns to set on `ticket` for what the source changed (`differs`), nothing else: work
    done here on fields the source did not change stays."""
    new = _status_columns(t, now)
    fields = dict(source_status=t.file_status, source_record=_record(t, flags), data_quality=flags)
    if "status" in differs:
        status = "rated" if new["status"] == "closed" and ticket.status == "rated" else new["status"]
        fields.update(status=status, closed_at=new["closed_at"], handled_at=new["handled_at"])
        for name in ("accepted_at", "dispatched_at"):
            if getattr(ticket, name) is None or new[name] is None:
                fields[name] = new[name]
        if status in TEAM_STATUSES and not (ticket.assignee_staff_id or ticket.assignee_org_id):
            worker, company = teams.get(ticket.grid_id, (None, None))
            if ticket.category.property_matter and company:
                fields["assignee_org_id"] = company
            elif worker:
                fields["assignee_staff_id"] = worker
    elif "closed_at" in differs and ticket.status in ("closed", "rated"):
        fields.update(closed_at=new["closed_at"], handled_at=new["handled_at"])
    if "due_at" in differs:
        fields["handle_due_at"] = new["handle_due_at"]
    status = fields.get("status", ticket.status)
    due = fields.get("handle_due_at", ticket.handle_due_at)
    late = status in WORKING_STATUSES and due is not None and due < now
    fields["overdue"] = late if "due_at" in differs or "status" in differs else ticket.overdue or late
    return fields


def _why_unassigned(t: PreparedTicket) -> str:
    return t.location_problem or "outside every grid"


def _events(t: PreparedTicket, row: dict, ticket_id: int, viewer: Viewer, file_label: str) -> list[dict]:
    timed_closure = t.status == "closed" and t.closed_at is not None
    data = {"file": file_label, "line": t.line, "file_status": t.file_status, "match": row["location_match"]}
    if t.location_problem:
        data["location_problem"] = t.location_problem
        if t.location_detail:
            data["location_detail"] = t.location_detail
    if t.ignored_closed_at is not None:
        data["file_closed_at"] = t.ignored_closed_at.isoformat()
    if row["data_quality"]:
        data["data_quality"] = row["data_quality"]
    if t.unreadable:
        data["unreadable"] = t.unreadable
    # The entry event (like a report's), and for a timed closure the closure itself: what the
    # other system did, recorded in the shape of every workflow event.
    ticket = SimpleNamespace(id=ticket_id, grid_id=row["grid_id"])
    to_status = "handled" if timed_closure else t.status
    out = [workflow.event_fields(ticket, viewer, "import", None, to_status, t.created_at, data=data)]
    if timed_closure:
        on_time = t.due_at is None or t.closed_at <= t.due_at
        closure = {"on_time": on_time, "imported": True}
        out.append(
            workflow.event_fields(ticket, viewer, "verify_close", "handled", "closed", t.closed_at, data=closure)
        )
    return out


def _audit(session: Session, viewer: Viewer, events: list[dict], event_ids: list[int]) -> None:
    """One audit row per event, as data.workflow writes for every state change (bulk here)."""
    rows = [
        dict(
            at=e["at"],
            action="ticket",
            ok=True,
            user_id=viewer.user_id,
            username=viewer.name or None,
            role=viewer.role,
            client="cli",
            target_type="ticket",
            target_id=str(e["ticket_id"]),
            detail={"event_id": event_id, "action": e["action"], "from": e["from_status"], "to": e["to_status"]},
        )
        for e, event_id in zip(events, event_ids, strict=True)
    ]
    _insert(session, AuditLog, rows)


def _insert(session: Session, model, rows: list[dict]) -> None:
    """Bulk INSERT: COPY on PostgreSQL, batched multi-row VALUES on SQLite.

    Measured for 10,000 tickets with 15,000 events and their audit rows: the ORM's bulk path split
    the rows into one statement per row (70 s on SQLite); on PostgreSQL psycopg parsed every big
    multi-row statement anew (15 s) and plain executemany was a statement per row (5 s); COPY
    takes well under a second. On SQLite, Core's executemany with RETURNING batches the rows
    ("insertmanyvalues"); the ids come back unordered, so they are read back by key afterwards."""
    if not rows:
        return
    connection = session.connection()
    table = model.__table__
    if connection.dialect.name == "postgresql":
        _copy(connection, table, rows)
        return
    stmt = insert(table).returning(table.c.id)
    for start in range(0, len(rows), CHUNK):
        connection.execute(stmt, rows[start : start + CHUNK]).all()


def _copy(connection, table, rows: list[dict]) -> None:
    columns = list(rows[0])
    convert = [_copy_converter(table.c[name].type) for name in columns]
    names = ", ".join(f'"{name}"' for name in columns)
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([f(row[name]) for f, name in zip(convert, columns, strict=True)])


def _copy_converter(column_type):
    """Python value -> what COPY should get: naive UTC for our UTC datetimes, text for JSON."""
    if isinstance(column_type, UTCDateTime):
        return lambda v: None if v is None else v.astimezone(UTC).replace(tzinfo=None)
    if isinstance(column_type, JSON):
        return lambda v: None if v is None else json.dumps(v, ensure_ascii=False)
    return lambda v: v


def _max_id(session: Session, model) -> int:
    """Every id this transaction inserts next is above this (ids only grow, also on PostgreSQL
    sequences with concurrent writers), so the new rows are found with one range query."""
    return session.scalar(select(func.max(model.id))) or 0


def _ticket_ids(session: Session, system: str, floor: int, external_ids: list[str]) -> list[int]:
    """Ids of the tickets just written, in the order of `external_ids` ((system, external_id) is unique)."""
    rows = session.execute(select(Ticket.external_id, Ticket.id).where(Ticket.id > floor, Ticket.system == system))
    found = dict(rows.all())
    return [found[e] for e in external_ids]


def _event_ids(session: Session, floor: int, events: list[dict]) -> list[int]:
    """Ids of the events just written: one per (ticket, action), in the order of `events`."""
    rows = session.execute(
        select(TicketEvent.ticket_id, TicketEvent.action, TicketEvent.id).where(TicketEvent.id > floor)
    )
    found = {(t, a): i for t, a, i in rows}
    return [found[(e["ticket_id"], e["action"])] for e in events]
