"""Bulk inserts that hand back the new rows' ids, fast on both databases.

Ids are taken first and the rows sent in one bulk statement, which is many times faster
than INSERT .. RETURNING row by row for the thousands of rows a clock tick writes. On
PostgreSQL the ids come from the table's sequence and the rows go in with COPY. On SQLite
every write transaction holds the database's single write lock from its start (BEGIN
IMMEDIATE, see storage.database), so the next ids after the current maximum are ours.

At the other end, `Prepared` runs the few small statements every inbound message needs
with as little Python around them as SQLAlchemy's own types and errors allow.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Dialect,
    Insert,
    Table,
    any_,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session

T = TypeVar("T")

SMALL = 20  # up to this many rows, a plain INSERT .. RETURNING is the quicker way


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` into `table` (integer `id` key) and return their ids, in row order."""
    if not rows:
        return []
    if len(rows) <= SMALL:
        connection = session.connection()
        if len(rows) == 1:  # the inbound path's usual case: no executemany machinery
            return [connection.execute(_returning_id(table), rows[0]).scalar_one()]
        return list(connection.execute(_returning_id(table), rows).scalars())
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
    copy_rows(session, table, rows, ids=ids)
    return ids


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` when their ids are not needed back."""
    if not rows:
        return
    if len(rows) > SMALL and session.get_bind().dialect.name == "postgresql":
        copy_rows(session, table, rows)
    else:
        session.connection().execute(_insert(table), rows[0] if len(rows) == 1 else rows)


# Statements built once per table: a statement built per call costs SQLAlchemy more to
# build and to find in its compiled cache than the database takes to run it.
_INSERTS: dict[Table, Insert] = {}
_RETURNING_ID: dict[Table, Insert] = {}


def _insert(table: Table) -> Insert:
    statement = _INSERTS.get(table)
    if statement is None:
        statement = _INSERTS[table] = insert(table)
    return statement


def _returning_id(table: Table) -> Insert:
    statement = _RETURNING_ID.get(table)
    if statement is None:
        statement = _RETURNING_ID[table] = insert(table).returning(
            table.c.id, sort_by_parameter_order=True
        )
    return statement


def copy_rows(
    session: Session, table: Table, rows: list[dict[str, Any]], *, ids: list[int] | None = None
) -> None:
    """PostgreSQL COPY of `rows` into `table`, inside the session's own transaction;
    `ids`, when given, are the rows' ids in order (so the rows need not be copied to add them).

    Column defaults are applied here as SQLAlchemy would, since COPY bypasses them. Each row
    is one C-level key lookup and one tuple: a clock tick copies millions of rows.
    """
    from psycopg.types.json import Jsonb

    keys = list(rows[0])  # every row of one call has the same keys
    defaulted = [c for c in table.columns if c.key not in keys and c.default is not None]
    if ids is not None:
        keys = [k for k in keys if k != "id"]
        defaulted = [c for c in defaulted if c.key != "id"]
    columns = [*(["id"] if ids is not None else []), *keys, *(c.key for c in defaulted)]
    names = ", ".join(f'"{table.c[key].name}"' for key in columns)
    # JSON columns take every value as JSON (a plain string or true/false too); SQL NULL stays.
    json_at = [n for n, key in enumerate(columns) if isinstance(table.c[key].type, JSON)]
    read = itemgetter(*keys)
    raw = session.connection().connection.driver_connection
    if raw is None:  # only a connection already closed has none
        raise RuntimeError("the database connection is closed; nothing was copied")
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for n, row in enumerate(rows):
            found = read(row)
            values = list(found) if len(keys) > 1 else [found]
            if ids is not None:
                values.insert(0, ids[n])
            values += [_default(c) for c in defaulted]
            for at in json_at:
                value = values[at]
                if value is not None and not isinstance(value, Jsonb):
                    values[at] = Jsonb(value)
            copy.write_row(values)


def _default(column: Any) -> Any:
    """A column's Python-side default, as SQLAlchemy would have applied it."""
    value = column.default.arg
    return value(None) if callable(value) else value


# --- statements run straight on the DBAPI cursor ---------------------------------------


class Prepared:
    """A Core statement compiled once per dialect and run straight on the DBAPI cursor.

    For the handful of small statements every inbound message runs: SQLAlchemy's
    `Connection.execute` spends more time in Python (execution context, cache lookup,
    result set-up) than SQLite or PostgreSQL take to run them. Nothing else changes:
    parameters go through the column types' bind processors and Python-side defaults,
    results through the types' result processors, and database errors come out as
    SQLAlchemy's (`IntegrityError`, ...), statement parameters hidden as the engine says.

    `keys`: for an INSERT or UPDATE without `.values()`, the column names it is executed
    with (as `Connection.execute(insert(table), {...})` would take them from the dict).
    Returned rows are named tuples of the statement's RETURNING or selected columns.
    """

    def __init__(self, statement: Any, keys: Iterable[str] = ()) -> None:
        self.statement = statement
        self.keys = tuple(keys)
        self._plans: dict[tuple[type, str], _Plan] = {}

    def rows(self, connection: Connection, params: dict[str, Any]) -> list[Any]:
        """Run the statement once with `params`; its rows (none unless it returns rows)."""
        dialect = connection.dialect
        plan = self._plans.get((type(dialect), dialect.paramstyle))
        if plan is None:
            plan = self._plans[type(dialect), dialect.paramstyle] = _Plan(self, dialect)
        values = plan.fixed | params
        for name, default in plan.generated:
            if name not in values:
                values[name] = default()
        for name, process in plan.processors:
            values[name] = process(values[name])
        args: Any = tuple(values[n] for n in plan.positions) if plan.positional else values
        cursor = connection.connection.cursor()
        try:
            cursor.execute(plan.sql, args)
            fetched = cursor.fetchall() if plan.row is not None else []
        except Exception as error:
            # SQLAlchemy's own handling (a private method, stable since 1.x): the same
            # exception classes, a lost connection invalidated, parameters hidden when
            # the engine hides them. It raises.
            connection._handle_dbapi_exception(error, plan.sql, args, cursor, None)
        finally:
            cursor.close()
        if not fetched:
            return []
        row, results = plan.row, plan.results
        return [
            row._make([v if p is None else p(v) for v, p in zip(raw, results, strict=True)])
            for raw in fetched
        ]

    def first(self, connection: Connection, params: dict[str, Any]) -> Any:
        """The first row, or None."""
        found = self.rows(connection, params)
        return found[0] if found else None

    def scalar(self, connection: Connection, params: dict[str, Any]) -> Any:
        """The first column of the first row, or None."""
        found = self.rows(connection, params)
        return found[0][0] if found else None


class _Plan:
    """One statement compiled for one dialect: SQL, parameter order and processors."""

    def __init__(self, prepared: Prepared, dialect: Dialect) -> None:
        statement = prepared.statement
        columns = list(getattr(statement, "exported_columns", ()))
        if isinstance(statement, Insert) and not columns:
            statement = statement.inline()  # no implicit RETURNING of a key nobody reads
        compiled = statement.compile(dialect=dialect, column_keys=list(prepared.keys))
        if "POSTCOMPILE" in compiled.string or compiled.escaped_bind_names:
            raise ValueError("statements with expanding or escaped parameters are not supported")
        self.sql = compiled.string
        self.positional = compiled.positional
        self.positions = tuple(compiled.positiontup or ())
        # Every parameter of the statement, by the name it has in the SQL.
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        # Python-side column defaults (e.g. `created_at`), when no value is given.
        prefetch = [*compiled.insert_prefetch, *compiled.update_prefetch]
        self.generated = [(column.key, _default_maker(column)) for column in prefetch]
        generated = {column.key for column in prefetch}
        # Values written into the statement (`status == "active"`).
        self.fixed = {
            name: bind.effective_value
            for name, bind in binds.items()
            if not bind.required and name not in prepared.keys and name not in generated
        }
        self.processors = [
            (name, process)
            for name, bind in binds.items()
            if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        ]
        self.row: Any = None  # the named-tuple class of the returned columns, if any
        self.results: list[Any] = []
        if columns:
            # The field names are known only at run time, which mypy cannot type.
            self.row = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
            self.results = [
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
            ]


def _default_maker(column: Any) -> Callable[[], Any]:
    return lambda: _default(column)


def among(
    session: Session, column: QueryableAttribute[Any] | ColumnElement[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """`column IN values` for the thousands of values a clock batch looks up: on PostgreSQL
    one array parameter (`= ANY(...)`), since an IN list of thousands of parameters costs
    psycopg and the server more to parse than the lookup itself; elsewhere a plain IN
    (keep `values` within `chunks` limits there)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`: keeps IN lists and batches within database
    limits (SQLite binds at most 32,766 parameters per statement)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
