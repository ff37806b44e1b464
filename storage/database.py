"""Engines, sessions and the one way to open a unit of work.

Every process is stateless and the database is the single source of truth, so all reads and
writes go through `transaction()`: it commits everything done inside it, or nothing.

SQLite: the file is created with mode 0600 (it holds phone numbers and password hashes;
see `storage.private_files`). WAL, a 30 s busy timeout and enforced foreign keys on every
connection. Transactions are
opened with `BEGIN IMMEDIATE`, taking the single write lock up front: a read-modify-write can
then never fail half-way with "database is locked" because another writer upgraded first (the
busy handler cannot resolve that deadlock). Read-only units of work (`readonly=True`) use a
deferred `BEGIN` and do not block writers.

PostgreSQL: psycopg 3; `postgres://` and `postgresql://` URLs (as hosting platforms hand out)
are rewritten to `postgresql+psycopg://`. Read-only units of work are `READ ONLY` transactions.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.private_files import make_private_database

DEFAULT_URL = "sqlite:///groundswell.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000

# Connection execution option read by the SQLite "begin" listener.
_READONLY = "groundswell_readonly"


def normalise_url(url: str) -> str:
    """Rewrite `postgres://` and `postgresql://` to the psycopg 3 driver; leave others alone."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for `url` (default: env `DATABASE_URL`, else `sqlite:///groundswell.db`).

    Extra keyword arguments go to `sqlalchemy.create_engine` (e.g. `poolclass`, `echo`).
    """
    url = normalise_url(url or os.environ.get("DATABASE_URL") or DEFAULT_URL)
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)  # survive server restarts between requests
    if backend == "sqlite":
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            make_private_database(Path(database))
    engine = create_engine(url, **kwargs)
    if backend == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """Pragmas on every new connection; SQLAlchemy (not pysqlite) emits BEGIN."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from emitting BEGIN (and COMMIT before DDL) by itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        readonly = connection.get_execution_options().get(_READONLY, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay usable after commit (no reload round trips)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session], *, readonly: bool = False) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back if it raises.

    `readonly=True` promises no writes: on SQLite it does not take the write lock, on
    PostgreSQL the transaction is READ ONLY (writes fail).
    """
    with sessions.begin() as session:
        if readonly:
            # Must happen before the first statement: it configures the connection's BEGIN.
            session.connection(execution_options={_READONLY: True, "postgresql_readonly": True})
        yield session


def dialect_insert(session: Session) -> Callable[..., Any]:
    """`insert()` of the session's dialect, for `on_conflict_do_nothing` and friends."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"no upsert support for dialect {name!r}")


def rows_affected(result: Result[*tuple[Any, ...]]) -> int:
    """How many rows an UPDATE or DELETE changed. `Session.execute` is typed as returning a
    plain Result, but for these statements it is a CursorResult, which has the count."""
    return int(cast(CursorResult[Any], result).rowcount or 0)
