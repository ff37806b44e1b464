"""What the commands share: settings, one sessionmaker, and how a refused import is told."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.csv_input import CsvError
from bot.settings import Settings, SettingsError
from storage import migrate
from storage.database import make_engine, normalise_url, session_factory


def settings() -> Settings:
    """The deployment's settings, or a clear error naming the variable to fix."""
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def database(config: Settings | None = None) -> sessionmaker[Session]:
    """Sessions on the configured database, brought up to date when it is the embedded default.

    The embedded SQLite file is migrated on first use so `make run` needs no set-up step; a
    PostgreSQL database must be migrated by `groundswell db upgrade` (the release step).
    """
    config = config or settings()
    url = normalise_url(config.database_url)
    if make_url(url).get_backend_name() == "sqlite":
        migrate.upgrade(url)
    else:
        try:
            at = migrate.current(url)
        except Exception as error:  # the driver's own error says what is wrong
            raise click.ClickException(f"cannot reach the database: {error}") from None
        if at != migrate.head():
            raise click.ClickException(
                "the database schema is not up to date: run `groundswell db upgrade` first"
            )
    return session_factory(make_engine(url))


def refuse_import(error: CsvError) -> NoReturn:
    """Print every problem of a refused import file and exit 1, the same way for each import."""
    for problem in error.problems:
        click.echo(str(problem))
    click.echo("Nothing was imported. Fix the rows above and run the import again.", err=True)
    sys.exit(1)
