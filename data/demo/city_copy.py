"""PostgreSQL binary COPY from numpy columns, vectorised (data.demo.city writes millions of rows).

Each field of the binary COPY format is a big-endian int32 length and its bytes (length -1: NULL).
A chunk of rows is laid out as one uint8 matrix (rows x widest possible row) with a keep-mask; the
masked matrix, flattened in row order, is exactly the COPY stream: no Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC in µs since the Unix epoch
HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"


@dataclass
class Col:
    """One column: `kind` is i8, i4, f8, bool, ts (int64 µs since the Unix epoch), text (codes into
    `vocab`) or raw (an (n, w) uint8 matrix of w-byte strings); `null` marks NULL rows."""

    name: str
    kind: str
    values: np.ndarray
    null: np.ndarray | None = None
    vocab: list[str] | None = None


_FIXED = {"i8": ">i8", "i4": ">i4", "f8": ">f8", "ts": ">i8"}


def _field(col: Col, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, keep) matrices of one column: 4 length bytes then the payload."""
    if col.kind in _FIXED:
        values = col.values.astype(np.int64) - PG_EPOCH_US if col.kind == "ts" else col.values
        payload = np.ascontiguousarray(values.astype(_FIXED[col.kind])).view(np.uint8).reshape(n, -1)
        lengths = np.full(n, payload.shape[1], dtype=np.int64)
    elif col.kind == "bool":
        payload = col.values.astype(np.uint8).reshape(n, 1)
        lengths = np.ones(n, dtype=np.int64)
    elif col.kind == "text":
        encoded = [s.encode() for s in col.vocab]
        width = max(1, max(len(e) for e in encoded))
        table = np.zeros((len(encoded), width), dtype=np.uint8)
        for i, e in enumerate(encoded):
            table[i, : len(e)] = np.frombuffer(e, dtype=np.uint8)
        sizes = np.array([len(e) for e in encoded], dtype=np.int64)
        codes = col.values.astype(np.int64)
        payload, lengths = table[codes], sizes[codes]
    elif col.kind == "raw":
        payload = col.values
        lengths = np.full(n, payload.shape[1], dtype=np.int64)
    else:
        raise ValueError(col.kind)
    if col.null is not None:
        lengths = np.where(col.null, -1, lengths)
    head = np.ascontiguousarray(lengths.astype(">i4")).view(np.uint8).reshape(n, 4)
    width = payload.shape[1]
    keep = np.arange(width)[None, :] < lengths[:, None]
    return np.hstack([head, payload]), np.hstack([np.ones((n, 4), dtype=bool), keep])


def rows_bytes(cols: list[Col]) -> bytes:
    """The binary COPY tuples (no header) of equally long columns."""
    n = len(cols[0].values)
    count = np.frombuffer(np.array([len(cols)], dtype=">i2").tobytes(), dtype=np.uint8)
    parts = [np.broadcast_to(count, (n, 2))]
    keeps = [np.ones((n, 2), dtype=bool)]
    for col in cols:
        data, keep = _field(col, n)
        parts.append(data)
        keeps.append(keep)
    return np.hstack(parts)[np.hstack(keeps)].tobytes()


def copy_columns(cursor, table: str, cols: list[Col]) -> int:
    """COPY the columns into `table` (one binary COPY statement); returns the row count."""
    n = len(cols[0].values)
    if not n:
        return 0
    types = _column_types(cursor, table)
    cols = [_as_type(c, types[c.name]) for c in cols]
    names = ", ".join(c.name for c in cols)
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(HEADER)
        step = 100_000
        for i in range(0, n, step):
            part = [
                Col(c.name, c.kind, c.values[i : i + step], None if c.null is None else c.null[i : i + step], c.vocab)
                for c in cols
            ]
            copy.write(rows_bytes(part))
        copy.write(TRAILER)
    return n


_INTS = {"int8": "i8", "int4": "i4"}


def _column_types(cursor, table: str) -> dict[str, str]:
    rows = cursor.execute(
        "SELECT column_name, udt_name FROM information_schema.columns WHERE table_name = %s", (table,)
    ).fetchall()
    return dict(rows)


def _as_type(col: Col, udt: str) -> Col:
    """Integer widths follow the table (an id is int8 on PostgreSQL, a region id int4)."""
    if col.kind in ("i4", "i8"):
        if udt not in _INTS:
            raise TypeError(f"{col.name}: {udt} is not an integer column")
        col.kind = _INTS[udt]
    expected = {
        "f8": ("float8",),
        "bool": ("bool",),
        "ts": ("timestamp",),
        "text": ("varchar", "text", "json", "jsonb"),
        "raw": ("varchar", "text"),
    }
    if col.kind in expected and udt not in expected[col.kind]:
        raise TypeError(f"{col.name}: {col.kind} cannot go into a {udt} column")
    return col
