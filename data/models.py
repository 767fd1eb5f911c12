"""The schema: regions and grids, people and organisations, categories, tickets and their history,
escalations, ratings, aggregates and job status. SQLAlchemy 2.x, portable to SQLite and PostgreSQL.

Alembic migrations under data/migrations are generated from this module; tests/test_schema.py
fails when the two drift apart.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from data.clock import UTCDateTime

# BigInteger primary keys on PostgreSQL (a city reaches 10 M tickets and far more events), plain
# INTEGER on SQLite where only "INTEGER PRIMARY KEY" is the rowid alias.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict: JSON, list: JSON}


# ----------------------------------------------------------------------------------------------
# Regions: district → street → community → grid, one table, one `level` column.

REGION_LEVELS = ("district", "street", "community", "grid")


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Profile counts (人、地、事、物). Key groups are sensitive: shown only aggregated, >= 5.
    population: Mapped[int] = mapped_column(Integer, default=0)
    households: Mapped[int] = mapped_column(Integer, default=0)
    houses: Mapped[int] = mapped_column(Integer, default=0)
    low_income: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[int] = mapped_column(Integer, default=0)
    elderly_alone: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[Region | None] = relationship(remote_side="Region.id", lazy="joined", innerjoin=False)

    __table_args__ = (Index("ix_regions_level", "level"),)


class Boundary(Base):
    """One version of a region's polygon. Versions are never rewritten: a changed boundary is a new
    row and the old one gets `valid_to`, so a ticket placed under an old version keeps its grid."""

    __tablename__ = "boundaries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON geometry, WGS84 lon/lat
    geometry_hash: Mapped[str] = mapped_column(String(64))
    area_m2: Mapped[float] = mapped_column(Float, default=0.0)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    source: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (UniqueConstraint("region_id", "version", name="uq_boundary_version"),)


class Estate(Base):
    """小区 (residential estate)."""

    __tablename__ = "estates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    property_company_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)


class Building(Base):
    """楼栋, with its number of units (单元) and households."""

    __tablename__ = "buildings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    units: Mapped[int] = mapped_column(Integer, default=1)
    households: Mapped[int] = mapped_column(Integer, default=0)
    head_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


# ----------------------------------------------------------------------------------------------
# People and organisations.

ORGANISATION_KINDS = ("property_company", "department", "street_office", "community_office")
STAFF_ROLES = (
    "grid_worker",
    "grid_head",
    "building_head",
    "unit_head",
    "property",
    "department",
    "dispatcher",
    "supervisor",
    "admin",
)


class GridTeam(Base):
    """The responsible people of one grid ("1+2+N"): the grid worker, the grid head and the
    property company that automatic dispatch sends property matters to."""

    __tablename__ = "grid_teams"

    grid_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), primary_key=True)
    grid_worker_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    grid_head_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    property_company_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))


class Staff(Base):
    """A person who works in the system. `region_id` is the area they cover (a grid for a grid
    worker, a community or street for a supervisor, the district for a dispatcher)."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# ----------------------------------------------------------------------------------------------
# Categories and the calendar.


class Category(Base):
    """Two levels: a 大类 (parent_id NULL) and its 小类. Limits live on the 小类."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    kind: Mapped[str] = mapped_column(String(16), default="event")  # "component" 部件 | "event" 事件
    property_matter: Mapped[bool] = mapped_column(Boolean, default=False)
    response_hours: Mapped[float] = mapped_column(Float, default=6.0)
    handling_hours: Mapped[float] = mapped_column(Float, default=72.0)
    working_hours: Mapped[bool] = mapped_column(Boolean, default=False)  # calendar vs working hours


class Holiday(Base):
    """Public holidays and the weekend days that are worked instead (调休: is_workday true)."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(64))


# ----------------------------------------------------------------------------------------------
# Tickets (工单), their append-only history, escalations and ratings.

OPEN_STATUSES = ("reported", "accepted", "dispatched", "in_progress", "handled", "suspended")
WORKING_STATUSES = ("accepted", "dispatched", "in_progress")  # the handling clock matters here


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # resident, patrol, hotline, iot, leader, import...
    # Where the ticket was born (issue #13): NULL for tickets made here (web, phone, API, demo);
    # for imported ones the other system's name (python app.py import-tickets --system 12345), so
    # its numbers are unique per system while `source` stays the channel. See __table_args__.
    system: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(128))
    # What the other system said, kept as it was (imports only): its status word, and the raw text
    # of the mapped cells (times, coordinates) a re-import compares to find what changed.
    source_status: Mapped[str | None] = mapped_column(String(64))
    source_record: Mapped[dict | None] = mapped_column(JSON)
    # Data-quality flags (data.quality.FLAGS): anomalies imported as they were, never dropped.
    # A server default too, so bulk writers that predate the column (COPY) need not name it.
    data_quality: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    public_token: Mapped[str] = mapped_column(String(32), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 1 urgent, 2 normal, 3 low
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(String(255))
    reporter_name: Mapped[str | None] = mapped_column(String(64))
    reporter_phone: Mapped[str | None] = mapped_column(String(32))
    photos: Mapped[list] = mapped_column(JSON, default=list)
    # Location: WGS84 lon/lat, and where it falls. `location_match` is the geo.assign rule that
    # placed it (inside, boundary, overlap, nearest) or "unassigned" (no grid: the community or
    # the unassigned queue takes it; never silently dropped).
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    location_match: Mapped[str] = mapped_column(String(16), default="unassigned")
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    boundary_id: Mapped[int | None] = mapped_column(ForeignKey("boundaries.id"))
    # Workflow.
    status: Mapped[str] = mapped_column(String(16), default="reported")
    assignee_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    assignee_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # 0, 1 community, 2 street
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    rating: Mapped[str | None] = mapped_column(String(16))
    # Timestamps, each written by the workflow in the same transaction as its event.
    created_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    rated_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    response_due_at: Mapped[datetime | None]
    handle_due_at: Mapped[datetime | None]

    category: Mapped[Category] = relationship(lazy="joined", innerjoin=True)
    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id", lazy="select")

    __table_args__ = (
        # An imported ticket is known by (system, external_id); a ticket made here (system NULL,
        # and NULLs never collide in a unique constraint) by its caller's id per channel, as the
        # intake API documents: the partial index below.
        UniqueConstraint("system", "external_id", name="uq_ticket_system_external_id"),
        Index(
            "uq_ticket_native_source_external_id",
            "source",
            "external_id",
            unique=True,
            sqlite_where=text("system IS NULL"),
            postgresql_where=text("system IS NULL"),
        ),
        Index("ix_tickets_grid_created", "grid_id", "created_at"),
        Index("ix_tickets_community_created", "community_id", "created_at"),
        Index("ix_tickets_created", "created_at"),
        Index("ix_tickets_status_handle_due", "status", "handle_due_at"),
        Index("ix_tickets_status_response_due", "status", "response_due_at"),
        # The deadline sweep's candidates (data.escalation.sweep), with the sweep's own conditions:
        # only the few open, not yet escalated or flagged tickets are in these indexes, so a sweep
        # with nothing due reads an empty index range even at 10 M tickets (issue #14).
        Index(
            "ix_tickets_sweep_response_due",
            "response_due_at",
            sqlite_where=text("status = 'dispatched' AND escalation_level < 1"),
            postgresql_where=text("status = 'dispatched' AND escalation_level < 1"),
        ),
        Index(
            "ix_tickets_sweep_handle_due",
            "handle_due_at",
            sqlite_where=text("status IN ('accepted', 'dispatched', 'in_progress') AND overdue IS 0"),
            postgresql_where=text("status IN ('accepted', 'dispatched', 'in_progress') AND overdue IS false"),
        ),
        Index("ix_tickets_closed", "closed_at"),
        # Per-grid indexes for every window the aggregates read: the incremental refresh of a few
        # grids is then range scans (0.14 s instead of 2.6 s for 100 demo grids on SQLite).
        Index("ix_tickets_grid_status", "grid_id", "status"),
        Index("ix_tickets_grid_closed", "grid_id", "closed_at"),
        Index("ix_tickets_grid_handle_due", "grid_id", "handle_due_at"),
        Index("ix_tickets_grid_accepted", "grid_id", "accepted_at"),
        Index("ix_tickets_grid_dispatched", "grid_id", "dispatched_at"),
        Index("ix_tickets_grid_responded", "grid_id", "responded_at"),
    )


class TicketEvent(Base):
    """Append-only history: every change to a ticket is one row here, written by data.workflow."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor_role: Mapped[str] = mapped_column(String(32))
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor_name: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    photos: Mapped[list] = mapped_column(JSON, default=list)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # Grid(s) the change touched, so the aggregate refresh knows what to recompute.
    grid_id: Mapped[int | None] = mapped_column(Integer)
    previous_grid_id: Mapped[int | None] = mapped_column(Integer)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


ESCALATION_LEVELS = {1: "community", 2: "street"}


class Escalation(Base):
    """督办. (ticket, level) is unique: a second sweep, or a second scheduler, cannot escalate twice."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))  # response_timeout | handling_overdue | manual
    at: Mapped[datetime]
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"), index=True)

    __table_args__ = (UniqueConstraint("ticket_id", "level", name="uq_escalation_ticket_level"),)


RATINGS = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}


class Rating(Base):
    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    value: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)


# ----------------------------------------------------------------------------------------------
# Aggregates the dashboard reads (written only by data.aggregates).


class GridStat(Base):
    """Current and windowed numbers per grid. Rates are stored as numerator and denominator so a
    community, a street or the district sums them before dividing."""

    __tablename__ = "grid_stats"

    grid_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: no grid (unassigned)
    open_now: Mapped[int] = mapped_column(Integer, default=0)
    overdue_now: Mapped[int] = mapped_column(Integer, default=0)
    escalated_now: Mapped[int] = mapped_column(Integer, default=0)
    reported_today: Mapped[int] = mapped_column(Integer, default=0)
    dispatched_today: Mapped[int] = mapped_column(Integer, default=0)
    closed_today: Mapped[int] = mapped_column(Integer, default=0)
    reported_24h: Mapped[int] = mapped_column(Integer, default=0)
    reported_30d: Mapped[int] = mapped_column(Integer, default=0)
    should_close_7d: Mapped[int] = mapped_column(Integer, default=0)
    closed_7d: Mapped[int] = mapped_column(Integer, default=0)
    closed_on_time_7d: Mapped[int] = mapped_column(Integer, default=0)
    should_close_prev_7d: Mapped[int] = mapped_column(Integer, default=0)
    closed_on_time_prev_7d: Mapped[int] = mapped_column(Integer, default=0)
    rated_30d: Mapped[int] = mapped_column(Integer, default=0)
    satisfied_30d: Mapped[int] = mapped_column(Integer, default=0)
    rated_prev_30d: Mapped[int] = mapped_column(Integer, default=0)
    satisfied_prev_30d: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime]


class DailyStat(Base):
    """Per local day, grid, category and source: reports in and closures out (trends, breakdowns)."""

    __tablename__ = "daily_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    grid_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: no grid (unassigned)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    reported: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_daily_stats_grid_day", "grid_id", "day"),)


# ----------------------------------------------------------------------------------------------
# Operations: job status and small key/value state.


class JobStatus(Base):
    __tablename__ = "job_status"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_ok_at: Mapped[datetime | None]  # the last run that succeeded (/healthz: has it stopped?)
    last_ok: Mapped[bool | None] = mapped_column(Boolean)
    last_summary: Mapped[dict] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    runner: Mapped[str | None] = mapped_column(String(128))


class AppState(Base):
    __tablename__ = "app_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
