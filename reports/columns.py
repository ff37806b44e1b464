"""Read a query's result straight into numpy arrays, one per column, without Python rows.

A report on a million answers spends most of its time moving rows from the database into
Python. This module keeps that to the minimum each driver allows:

- PostgreSQL: the server packs every row into 8-byte binary fields (``int8send``,
  ``float8send``, ``timestamptz_send``) and ``string_agg`` joins them into one ``bytea``,
  which ``np.frombuffer`` splits with one big-endian structured dtype. No Python object per
  value, and one network message instead of one per row (COPY sends a message per row,
  and reading those costs more than the query). A ``bytea`` holds at most 1 GB: about 33
  million rows of four columns per query.
- SQLite: ``np.fromiter`` over the DBAPI cursor into a structured array; times arrive as
  SQLite's ``YYYY-MM-DD HH:MM:SS.ffffff`` text and numpy parses them as ``datetime64[us]``.

Either way SQLAlchemy compiles the statement and its parameters, and its per-row result
processing is skipped. Columns must not be NULL (use ``coalesce``), and rows come in no
particular order (sort in numpy). Each column has a kind: ``"int"`` (int64), ``"float"``
(float64) or ``"time"`` (a UTCDateTime, as datetime64[us]).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from typing import cast as cast_type

import numpy as np
from numpy.typing import DTypeLike
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Double,
    LargeBinary,
    Select,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

__all__ = ["read_columns"]

#: PostgreSQL's binary timestamps count microseconds from 2000-01-01 00:00 UTC.
_PG_EPOCH_US = 946_684_800_000_000
_NUMPY: dict[str, DTypeLike] = {"int": np.int64, "float": np.float64, "time": "datetime64[us]"}
_BIG_ENDIAN = {"int": ">i8", "float": ">f8", "time": ">i8"}


def read_columns(
    session: Session, statement: Select[*tuple[Any, ...]], kinds: Sequence[str]
) -> list[np.ndarray]:
    """Run ``statement`` in the session's transaction; one array per selected column."""
    if len(kinds) != len(statement.selected_columns):
        raise ValueError("give one kind per selected column")
    unknown = set(kinds) - set(_NUMPY)
    if unknown:
        raise ValueError(f"unknown column kinds {sorted(unknown)}; use int, float or time")
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return _postgres(session, statement, kinds)
    if dialect == "sqlite":
        return _sqlite(session, statement, kinds)
    raise NotImplementedError(f"reports do not support the {dialect!r} database")


def _sqlite(
    session: Session, statement: Select[*tuple[Any, ...]], kinds: Sequence[str]
) -> list[np.ndarray]:
    """Rows from the sqlite3 cursor into a structured array, without a list of tuples."""
    row_type = np.dtype([(f"c{i}", _NUMPY[kind]) for i, kind in enumerate(kinds)])
    result = session.connection().execute(statement)
    try:
        # SQLAlchemy types the cursor as DBAPI's, which does not declare iteration; sqlite3's does.
        table = np.fromiter(cast_type("Iterable[Any]", result.cursor), dtype=row_type)
    finally:
        result.close()
    return [np.ascontiguousarray(table[f"c{i}"]) for i in range(len(kinds))]


def _postgres(
    session: Session, statement: Select[*tuple[Any, ...]], kinds: Sequence[str]
) -> list[np.ndarray]:
    """The whole result as one binary value, built by PostgreSQL and split by numpy.

    Each row becomes the concatenation of its columns' binary send forms (8 bytes each,
    big-endian) and ``string_agg`` joins the rows, so one value crosses the wire and
    Python never handles a row. Packing a row into one value keeps its columns together.
    A count taken alongside proves no row was dropped (``string_agg`` skips NULLs).
    """
    inner = statement.subquery()
    parts = []
    for column, kind in zip(inner.columns, kinds, strict=True):
        if kind == "int":
            parts.append(func.int8send(cast(column, BigInteger)))
        elif kind == "float":
            parts.append(func.float8send(cast(column, Double)))
        else:
            parts.append(func.timestamptz_send(column))
    packed: ColumnElement[Any] = parts[0]
    for part in parts[1:]:
        packed = packed.op("||")(part)
    query = select(func.count(), func.string_agg(packed, literal(b"", LargeBinary))).select_from(
        inner
    )
    compiled = query.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor(binary=True) as cursor:
        cursor.execute(str(compiled), compiled.params)
        row = cursor.fetchone()
    assert row is not None
    count, data = int(row[0]), bytes(row[1] or b"")
    row_type = np.dtype([(f"c{i}", _BIG_ENDIAN[kind]) for i, kind in enumerate(kinds)])
    if len(data) != count * row_type.itemsize:
        raise ValueError("a selected column was NULL: use coalesce() for columns read here")
    table = np.frombuffer(data, dtype=row_type)
    out = []
    for i, kind in enumerate(kinds):
        if kind == "time":
            out.append((table[f"c{i}"].astype(np.int64) + _PG_EPOCH_US).view("datetime64[us]"))
        else:
            out.append(table[f"c{i}"].astype(_NUMPY[kind]))
    return out
