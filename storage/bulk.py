"""Bulk inserts that hand back the new rows' ids, fast on both databases.

Ids are taken first and the rows sent in one bulk statement, which is many times faster
than INSERT .. RETURNING row by row for the thousands of rows a clock tick writes. On
PostgreSQL the ids come from the table's sequence and the rows go in with COPY. On SQLite
every write transaction holds the database's single write lock from its start (BEGIN
IMMEDIATE, see storage.database), so the next ids after the current maximum are ours.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Table, func, insert, select, text
from sqlalchemy.orm import Session

SMALL = 20  # up to this many rows, a plain INSERT .. RETURNING is the quicker way


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` into `table` (integer `id` key) and return their ids, in row order."""
    if not rows:
        return []
    if len(rows) <= SMALL:
        returned = session.scalars(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return list(returned)
    if session.get_bind().dialect.name != "postgresql":
        first = (session.scalar(select(func.max(table.c.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
        session.execute(insert(table), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    sequence = session.scalar(
        text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
    )
    ids = list(
        session.scalars(
            select(func.nextval(sequence)).select_from(func.generate_series(1, len(rows)))
        )
    )
    copy_rows(session, table, [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
    return ids


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` when their ids are not needed back."""
    if not rows:
        return
    if len(rows) > SMALL and session.get_bind().dialect.name == "postgresql":
        copy_rows(session, table, rows)
    else:
        session.execute(insert(table), rows)


def copy_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY of `rows` into `table`, inside the session's own transaction.

    Column defaults are applied here as SQLAlchemy would, since COPY bypasses them.
    """
    from psycopg.types.json import Jsonb

    given = rows[0].keys()  # every row of one call has the same keys
    columns = [c for c in table.columns if c.key in given or c.default is not None]
    names = ", ".join(f'"{c.name}"' for c in columns)
    # JSON columns take every value as JSON (a plain string or true/false too); SQL NULL stays.
    json_columns = [isinstance(c.type, JSON) for c in columns]
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            values = [row[c.key] if c.key in given else _default(c) for c in columns]
            copy.write_row(
                [
                    Jsonb(v) if is_json and v is not None and not isinstance(v, Jsonb) else v
                    for v, is_json in zip(values, json_columns, strict=True)
                ]
            )


def _default(column: Any) -> Any:
    """A column's Python-side default, as SQLAlchemy would have applied it."""
    value = column.default.arg
    return value(None) if callable(value) else value
