"""What the commands share: settings, one sessionmaker, and how a refused import is told."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import NoReturn

import click
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.intake.csv_files import CsvError
from bot.settings import Settings, SettingsError
from storage import migrate
from storage.database import make_engine, normalise_url, session_factory

#: `--wait-for-database` for the long-running processes (serve, worker, clock).
wait_for_database = click.option(
    "--wait-for-database",
    "wait",
    type=click.FloatRange(min=0),
    default=120.0,
    show_default=True,
    metavar="SECONDS",
    help="At start-up, keep trying a database that cannot be reached (it may be "
    "restarting) this long before giving up.",
)


def settings() -> Settings:
    """The deployment's settings, or a clear error naming the variable to fix."""
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def database(
    config: Settings | None = None,
    *,
    wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> sessionmaker[Session]:
    """Sessions on the configured database, brought up to date when it is the embedded default.

    The embedded SQLite file is migrated on first use so `make run` needs no set-up step; a
    PostgreSQL database must be migrated by `groundswell db upgrade` (the release step).
    `wait`: seconds to keep trying a database that cannot be reached (long-running
    processes starting while it restarts); one-off commands fail at once.
    """
    config = config or settings()
    url = normalise_url(config.database_url)
    if make_url(url).get_backend_name() == "sqlite":
        migrate.upgrade(url)
    else:
        at = _schema_version(url, wait, sleep)
        if at != migrate.head():
            raise click.ClickException(
                "the database schema is not up to date: run `groundswell db upgrade` first"
            )
    return session_factory(make_engine(url))


def _schema_version(url: str, wait: float, sleep: Callable[[float], None]) -> str | None:
    """The database's migration version, trying again for up to `wait` seconds."""
    deadline = time.monotonic() + wait
    pause = 1.0
    while True:
        try:
            return migrate.current(url)
        except Exception as error:  # the driver's own error says what is wrong
            left = deadline - time.monotonic()
            if left <= 0:
                raise click.ClickException(f"cannot reach the database: {error}") from None
            pause = min(pause, left)
            click.echo(
                f"cannot reach the database ({type(error).__name__}); trying again in "
                f"{pause:.0f} s",
                err=True,
            )
            sleep(pause)
            pause = min(pause * 2, 10.0)


def refuse_import(error: CsvError) -> NoReturn:
    """Print every problem of a refused import file and exit 1, the same way for each import."""
    for problem in error.problems:
        click.echo(str(problem))
    click.echo("Nothing was imported. Fix the rows above and run the import again.", err=True)
    sys.exit(1)
