"""Commands: import-grids, import-tickets, export-tickets (issue #3).

Each refuses bad input with a message and exit code 1 (bad data) or 2 (bad options), never a
traceback, and writes nothing then. `--dry-run` runs the whole import in a transaction that is
rolled back, so what it prints is exactly what an import would do.
"""

from __future__ import annotations

import csv
import os
import sys
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from time import perf_counter

from sqlalchemy.exc import IntegrityError

from data.access import Viewer
from data.cli import Command, open_database
from data.clock import utcnow
from data.demo.reference import SOURCE_LABELS
from data.settings import Settings

REJECT_PREVIEW = 20
MAX_SYSTEM = 64  # Ticket.system


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {message}; nothing was written", file=sys.stderr)
    return code


@contextmanager
def _transaction(db, dry_run: bool):
    """A write transaction, committed unless this is a dry run (then always rolled back)."""
    if not dry_run:
        with db.session() as session:
            yield session
        return
    with db.sessions() as session:
        session.begin()
        try:
            yield session
        finally:
            session.rollback()


# --------------------------------------------------------------------------------------------
# import-grids


def _grids_args(p):
    p.add_argument("file", help="GeoJSON, Shapefile (.shp with its sidecars, or .zip) or GeoPackage")
    p.add_argument("--code-field", help="field holding the region code (default: guessed, e.g. grid_code, wgbm)")
    p.add_argument("--name-field", help="field holding the name (default: guessed, e.g. grid_name, name)")
    p.add_argument(
        "--parent-field", help="field holding the parent's code (community of a grid, street of a community)"
    )
    p.add_argument("--level", choices=("grid", "community", "street"), default="grid", help="default: grid")
    p.add_argument(
        "--coords",
        choices=("wgs84", "gcj02", "bd09"),
        default="wgs84",
        help="what the coordinates really are: gcj02 for AMap/Tencent/DataV drawings, bd09 for Baidu "
        "(the file's CRS is still honoured; default wgs84)",
    )
    p.add_argument("--layer", help="layer of a GeoPackage / file of a zip holding several")
    p.add_argument(
        "--retire-missing",
        action="store_true",
        help="retire the regions of this level the file does not have (they are reported either way) "
        "and re-route their open tickets",
    )
    p.add_argument("--dry-run", action="store_true", help="print the report and what would change; write nothing")


def _import_grids(args, settings: Settings) -> int:
    from data.importers.grids import GridImportError, import_regions
    from data.locate import GridLocator, locator
    from geo.readers import GridFileError, read_grid_file

    try:
        result = read_grid_file(
            args.file, args.code_field, args.name_field, args.parent_field, args.coords, layer=args.layer
        )
    except GridFileError as exc:
        if exc.report is not None:
            print(exc.report)
        return _fail(str(exc))
    print(result.report)
    db = open_database(settings)
    try:
        with _transaction(db, args.dry_run) as session:
            summary = import_regions(
                session,
                result,
                level=args.level,
                at=utcnow(),
                place=GridLocator.from_session if args.dry_run else locator,
                retire_missing=args.retire_missing,
            )
    except GridImportError as exc:
        return _fail(str(exc))
    finally:
        db.dispose()
    if not args.dry_run:
        from data.read.geometry import prebuild_quietly

        prebuild_quietly(db)  # the display geometry, built once here instead of in every web worker
        db.dispose()
    print("Dry run: nothing was written. The import would give:" if args.dry_run else "Imported:")
    for line in summary.lines():
        print(f"  {line}")
    return 0


# --------------------------------------------------------------------------------------------
# import-tickets


def _tickets_args(p):
    p.add_argument("file", help="CSV export (UTF-8 with or without BOM; see --encoding)")
    p.add_argument(
        "--source",
        required=True,
        help=f"channel the tickets came through, one of {', '.join(SOURCE_LABELS)}",
    )
    p.add_argument(
        "--system",
        help="the system the export comes from, e.g. 12345 or 数字城管 (default: the --source name); "
        "(system, external_id) identifies a ticket, so a re-import of a newer export updates what changed",
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="which column holds a field (repeat); fields: external_id, lon, lat, x, y, created_at, closed_at, "
        "due_at, status, category, description, address. Columns named like a field map themselves.",
    )
    p.add_argument(
        "--coords",
        default="wgs84",
        help="coordinate system of the points: wgs84 (default), gcj02, bd09, or epsg:NNNN for projected x/y",
    )
    p.add_argument(
        "--status-map",
        action="append",
        default=[],
        metavar="VALUE=STATUS",
        help="status word of the file and our status for it (repeat); words in no table are classified "
        "by their words, and the summary prints the mapping used as ready --status-map options",
    )
    p.add_argument("--dayfirst", action="store_true", help="slash dates with the year last are DD/MM/YYYY")
    p.add_argument("--encoding", default="utf-8", help="file encoding (default utf-8, BOM or not; e.g. gbk)")
    p.add_argument("--delimiter", help="field delimiter (default: guessed from the header among , tab ;)")
    p.add_argument(
        "--rejects",
        help="where to write the rows that cannot be tickets (default: FILE.rejects.csv in the current directory)",
    )
    p.add_argument("--no-refresh", action="store_true", help="do not refresh the dashboard aggregates afterwards")
    p.add_argument("--dry-run", action="store_true", help="parse, check and place everything; write nothing")


def _import_tickets(args, settings: Settings) -> int:
    from data import aggregates
    from data.importers.csvparse import TableError, read_table
    from data.importers.ticket_writer import write_tickets
    from data.importers.tickets import (
        MappingError,
        column_mapping,
        coordinate_system,
        parse_pairs,
        prepare,
        status_table,
    )

    started = perf_counter()
    if args.source not in SOURCE_LABELS:
        return _fail(f"--source must be one of {', '.join(SOURCE_LABELS)} (got {args.source!r})", 2)
    system = (args.system if args.system is not None else args.source).strip()
    if not system or len(system) > MAX_SYSTEM:
        return _fail(f"--system must be a name of 1 to {MAX_SYSTEM} characters (got {args.system!r})", 2)
    now = utcnow()
    try:
        coords = coordinate_system(args.coords)
        statuses = status_table(parse_pairs(args.status_map, "--status-map"))
        given = parse_pairs(args.map, "--map")
        table = read_table(args.file, args.encoding, args.delimiter)
        mapping = column_mapping(table.header, given, coords.projected)
    except (MappingError, TableError) as exc:
        return _fail(str(exc), 2 if isinstance(exc, MappingError) else 1)
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}")
    prepared = prepare(
        table, mapping, coords, now=now, tz=settings.gcc_timezone, dayfirst=args.dayfirst, statuses=statuses
    )
    rejects_file = rejects_path(args.file, args.rejects)
    if (
        not args.dry_run
        and (prepared.rejects or rejects_file.exists())
        and not (rejects_file.parent.is_dir() and os.access(rejects_file.parent, os.W_OK))
    ):
        return _fail(f"cannot write the reject file {rejects_file}; choose another place with --rejects PATH", 2)
    print(
        f"File: {args.file} ({len(table.records)} records, delimiter {table.delimiter!r}, "
        f"{'UTF-8 BOM, ' if table.had_bom else ''}{table.blank_lines} blank lines skipped)"
    )
    print("Columns: " + ", ".join(f"{f}={c}" for f, c in prepared.mapping.items()))
    print(f"Coordinates: {coords.name} -> WGS84")
    print(f"System: {system} (tickets are known by its external_id; channel: {args.source})")
    if not ({"lon", "lat"} <= set(mapping) or {"x", "y"} <= set(mapping)):
        print("Note: no coordinate columns mapped: every ticket goes to the unassigned queue")

    db = open_database(settings)
    try:
        with _transaction(db, args.dry_run) as session:
            summary = write_tickets(
                session,
                prepared,
                system=system,
                source=args.source,
                viewer=Viewer.system("工单导入"),
                file_label=os.path.basename(args.file),
                now=now,
            )
        refreshed = None
        if summary.written and not args.dry_run and not args.no_refresh:
            with db.session() as session:
                refreshed = aggregates.refresh(session, "incremental", tz=settings.gcc_timezone)
    except IntegrityError:
        return _fail("another import wrote some of these tickets at the same time; run the import again")
    finally:
        db.dispose()

    print("Dry run: nothing was written. The import would give:" if args.dry_run else "Imported:")
    for line in summary.lines():
        print(f"  {line}")
    _report_rejects(args, table.header, prepared.rejects)
    if refreshed is not None:
        print(f"Aggregates refreshed (incremental): {refreshed['grids']} grids in {refreshed['seconds']:.2f} s")
    elif summary.written and not args.dry_run:
        print("Aggregates not refreshed: run `python app.py aggregates` (the scheduler also does it within minutes)")
    seconds = perf_counter() - started
    print(f"Done in {seconds:.2f} s ({summary.records / max(seconds, 1e-9):,.0f} records/s)")
    return 0


def rejects_path(file: str, given: str | None) -> Path:
    """`--rejects PATH`, or FILE.rejects.csv in the current directory: never silently beside an
    input that may sit on a read-only share."""
    if given:
        return Path(given)
    path = Path(file)
    stem = path.stem if path.suffix.lower() == ".csv" else path.name
    return Path.cwd() / f"{stem}.rejects.csv"


def _report_rejects(args, header: list[str], rejects) -> None:
    path = rejects_path(args.file, args.rejects)
    if not rejects:
        if path.exists() and not args.dry_run:
            _write_rejects(path, header, [])
            print(f"No rejected rows ({path} emptied)")
        return
    if args.dry_run:
        print(f"Rejected rows ({len(rejects)}; dry run: no reject file written):")
        for r in rejects[:REJECT_PREVIEW]:
            print(f"  line {r.line}: {r.reason}")
        if len(rejects) > REJECT_PREVIEW:
            print(f"  ... and {len(rejects) - REJECT_PREVIEW} more")
        return
    _write_rejects(path, header, rejects)
    print(f"Rejected rows: {len(rejects)}, each with its reason, in {path}")


def _write_rejects(path: Path, header: list[str], rejects) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(["line", "reason", *header])
        for r in rejects:
            writer.writerow([r.line, r.reason, *r.fields])


# --------------------------------------------------------------------------------------------
# export-tickets


def _export_args(p):
    p.add_argument("out", help="CSV file to write (UTF-8 with BOM, so Excel shows Chinese correctly)")
    p.add_argument("--since", help="only tickets created on or after this date (e.g. 2026-01-01), local time")


def _export_tickets(args, settings: Settings) -> int:
    from data import audit
    from data.importers.csvparse import parse_datetime
    from data.importers.export import ticket_rows, write_csv

    since: datetime | None = None
    if args.since:
        try:
            since = parse_datetime(args.since, settings.gcc_timezone)
        except ValueError as exc:
            return _fail(f"--since: {exc}", 2)
    viewer = Viewer.system("工单导出")
    out = Path(args.out)
    partial = out.with_name(out.name + ".partial")
    db = open_database(settings)
    try:
        with db.reader() as session, open(partial, "w", encoding="utf-8", newline="") as f:
            count = write_csv(ticket_rows(session, viewer, since=since, tz=settings.gcc_timezone), f)
        os.replace(partial, out)
        with db.session() as session:
            detail = {"rows": count, "file": str(out), "since": since.isoformat() if since else None}
            audit.record(session, "export", viewer, target_type="tickets", detail=detail)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        return _fail(f"cannot write {out}: {exc.strerror or exc}")
    finally:
        db.dispose()
    print(f"Exported {count} tickets to {out} (UTF-8 with BOM)")
    return 0


COMMANDS = [
    Command("import-grids", "import grid (or community / street) polygons from a GIS file", _grids_args, _import_grids),
    Command("import-tickets", "import tickets from another system's CSV export", _tickets_args, _import_tickets),
    Command("export-tickets", "export every ticket as CSV (UTF-8 with BOM)", _export_args, _export_tickets),
]
