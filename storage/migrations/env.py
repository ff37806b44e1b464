"""Alembic environment: migrates the database named by the caller.

URL, first found: `config.attributes["url"]` (set by `storage.migrate`), `-x url=...` on the
command line, the `sqlalchemy.url` option, env `DATABASE_URL`, then the SQLite default.
A ready `config.attributes["connection"]` is used as is.
"""

from __future__ import annotations

import logging.config
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from storage.database import DEFAULT_URL, make_engine, normalise_url
from storage.models import Base
from storage.types import JSONType, UTCDateTime

# Arbitrary constant naming the advisory lock that serialises concurrent upgrades.
_PG_LOCK_ID = 0x67_73_6D_69_67  # "gsmig"

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str | None:
    return (
        config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
    )


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our column types as plain SQLAlchemy ones: migrations must not import models."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if obj is JSONType:
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return (
            "sa.JSON(none_as_null=True)"
            ".with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')"
        )
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=Base.metadata,
        compare_type=True,
        render_item=_render_item,
        **kwargs,
    )


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """Batch migrations copy and drop SQLite tables: FK enforcement must be off meanwhile.

    The pragma is ignored inside a transaction, so it is set on the raw connection before
    Alembic begins one; `PRAGMA foreign_key_check` runs before the migration commits.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _run(connection: Connection) -> None:
    # Our SQLite engines emit BEGIN themselves, so DDL is transactional there too: the whole
    # upgrade commits or rolls back as one, under the write lock (BEGIN IMMEDIATE).
    _configure(
        connection=connection,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Concurrent start-ups queue here; the later ones then find nothing to do.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_ID})")
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (`alembic upgrade head --sql`)."""
    url = normalise_url(_url() or os.environ.get("DATABASE_URL") or DEFAULT_URL)
    _configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), poolclass=NullPool)
    try:
        with engine.connect() as connection, _sqlite_foreign_keys_off(connection):
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
