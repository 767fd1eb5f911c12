"""Data-quality flags of a ticket (issue #13): what was odd about the record another system gave us.

Real exports have rows closed before they were opened, closed without a close time, statuses
nobody mapped, no usable point. None of that makes a ticket unimportable: it is imported as the
source said, the oddity is named here in `Ticket.data_quality`, shown wherever the ticket is,
counted by the importer, and the indicators handle it explicitly (data.indicators):

- `time_order`: closed before it was opened. Counts as closed at its close time; its negative
  handling time is left out of the mean handling time.
- `closed_without_time`: the source says closed but gives no (readable) close time. Counts as
  closed (never open, never overdue), but in no time-based figure: not in 结案数 / 应结案数 of any
  period, not in the on-time rate, not in the means; the indicators count it as `closed_untimed`
  by creation period.
- `unknown_status`: the status word was in no table; data.importers.statuses classified it by its
  words (the raw word is `Ticket.source_status`).
- `unreadable_time`: a close or due time that could not be read (the raw text is kept in
  `Ticket.source_record`); treated as missing.
- `created_in_future`: created after the moment of the import (a clock or format slip).
- `location_missing`: no usable point (empty, unparsable, (0, 0), not on Earth): the unassigned
  queue.
- `location_outside`: a point outside every grid: the unassigned queue. Kept current when the
  ticket is moved (data.actions.reroute).
"""

from __future__ import annotations

FLAGS = (
    "time_order",
    "closed_without_time",
    "unknown_status",
    "unreadable_time",
    "created_in_future",
    "location_missing",
    "location_outside",
)
LOCATION_FLAGS = ("location_missing", "location_outside")


def ordered(flags) -> list[str]:
    """Flags in the order of FLAGS, each once (the stored form)."""
    given = set(flags)
    unknown = given - set(FLAGS)
    if unknown:
        raise ValueError(f"unknown data-quality flag(s): {', '.join(sorted(unknown))}")
    return [f for f in FLAGS if f in given]


def with_location(flags, *, lon: float | None, grid_id: int | None) -> list[str]:
    """`flags` with the location flags set for where the ticket now is."""
    out = [f for f in flags or [] if f not in LOCATION_FLAGS]
    if lon is None:
        out.append("location_missing")
    elif grid_id is None:
        out.append("location_outside")
    return ordered(out)
