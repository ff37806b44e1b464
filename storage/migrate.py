"""Run the schema migrations from code: no alembic.ini needed at run time.

Safe to run from several processes at start-up: each migration runs in one transaction, and
on PostgreSQL a transaction-scoped advisory lock serialises concurrent upgrades.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

from storage.database import DEFAULT_URL, make_engine, normalise_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for `url` (default env `DATABASE_URL`, else the SQLite default)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    # Passed as an attribute, not an ini option: ConfigParser would mangle '%' in passwords.
    config.attributes["url"] = normalise_url(url or os.environ.get("DATABASE_URL") or DEFAULT_URL)
    return config


def upgrade(url: str | None = None) -> None:
    """Bring the database at `url` to the newest schema (a no-op when it is there already)."""
    command.upgrade(alembic_config(url), "head")


def head() -> str:
    """The newest revision id in the migration scripts."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"expected one migration head, found {heads}")
    return heads[0]


def current(url: str | None = None) -> str | None:
    """The revision the database at `url` is at; None for an unmigrated database."""
    engine = make_engine(alembic_config(url).attributes["url"], poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
