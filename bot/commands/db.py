"""`groundswell db upgrade | current`: the database schema.

`upgrade` is the Procfile's release step: it runs before new code starts serving, and is
safe to run from several processes at once (see `storage.migrate`).
"""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.commands.common import settings
from storage import migrate
from storage.database import normalise_url


@click.group()
def db() -> None:
    """Bring the database schema up to date, or show where it is."""


@db.command()
def upgrade() -> None:
    """Apply every migration the database does not have yet (DATABASE_URL)."""
    url = settings().database_url
    try:
        migrate.upgrade(url)
        revision = migrate.current(url)
    except SQLAlchemyError as error:
        raise click.ClickException(f"cannot upgrade {_shown(url)}: {_reason(error)}") from None
    click.echo(f"{_shown(url)} is at revision {revision}")


@db.command()
def current() -> None:
    """Show the database's revision and whether it is the newest."""
    url = settings().database_url
    try:
        revision = migrate.current(url)
    except SQLAlchemyError as error:
        raise click.ClickException(f"cannot read {_shown(url)}: {_reason(error)}") from None
    head = migrate.head()
    if revision is None:
        click.echo(f"{_shown(url)} has no schema yet: run `groundswell db upgrade`")
    elif revision == head:
        click.echo(f"{_shown(url)} is at revision {revision} (the newest)")
    else:
        click.echo(
            f"{_shown(url)} is at revision {revision}; the newest is {head}: "
            "run `groundswell db upgrade`"
        )


def _shown(url: str) -> str:
    """The URL with any password hidden."""
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def _reason(error: SQLAlchemyError) -> str:
    """The driver's own words, first line only (no SQL, no parameters)."""
    orig = getattr(error, "orig", None) or error
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]
