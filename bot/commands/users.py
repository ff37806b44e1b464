"""`groundswell users ...`: who may sign in to the web app.

    groundswell users add you@example.org --role staff
    groundswell users add sam@example.org --role coordinator --group "Elm Street"
    groundswell users list
    groundswell users password sam@example.org
    groundswell users remove sam@example.org

The password is asked for twice at a terminal (never echoed), or read from the first line
of standard input when that is not a terminal (for scripts: `echo "$PW" | groundswell
users add ...`). It is never taken as an argument, which would leave it in shell history.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from bot.commands.common import database, settings
from bot.commands.participants import actor
from bot.web.staff.accounts import (
    MIN_PASSWORD,
    AccountError,
    add_user,
    list_users,
    remove_user,
    set_password,
)
from storage.database import transaction
from storage.models import ROLES


def _password() -> str:
    """The new password: prompted for (twice) at a terminal, else read from stdin."""
    if sys.stdin is not None and sys.stdin.isatty():
        return click.prompt(
            f"Password (at least {MIN_PASSWORD} characters)",
            hide_input=True,
            confirmation_prompt="Repeat the password",
        )
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        raise click.ClickException(
            "no password given: type it when asked at a terminal, or pipe it in, e.g. "
            'echo "$PASSWORD" | groundswell users add ...'
        )
    return password


def _now() -> datetime:
    return datetime.now(UTC)


@click.group()
def users() -> None:
    """Add, list and remove the people who sign in to the web app."""


@users.command("add")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="staff: everything; coordinator: reports, alerts and people of their groups.",
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    help="A group a coordinator sees (repeat for several).",
)
def add(email: str, role: str, groups: tuple[str, ...]) -> None:
    """Give EMAIL a web sign-in; asks for the password."""
    sessions = database(settings())
    password = _password()
    try:
        with transaction(sessions) as session:
            account = add_user(session, email, role, password, groups, now=_now(), actor=actor())
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    sees = "every group" if role == "staff" else ", ".join(account.groups)
    click.echo(
        f"Added {account.email} ({role}; sees {sees}).\n"
        "Next: start Groundswell with `groundswell run` (or `groundswell serve`), open the "
        "address it prints, and sign in with this email and password."
    )


@users.command("list")
def list_command() -> None:
    """Everyone who can sign in, with their role and groups."""
    sessions = database(settings())
    with transaction(sessions, readonly=True) as session:
        accounts = list_users(session)
    if not accounts:
        click.echo(
            "Nobody can sign in yet. Add the first staff account with:\n"
            "  groundswell users add you@example.org --role staff"
        )
        return
    for account in accounts:
        groups = ", ".join(account.groups) if account.groups else "all groups"
        if account.role == "coordinator" and not account.groups:
            groups = "no groups yet"
        click.echo(f"{account.email}\t{account.role}\t{groups}")


@users.command("password")
@click.argument("email")
def password(email: str) -> None:
    """Set a new password for EMAIL (signs them out everywhere)."""
    sessions = database(settings())
    new = _password()
    try:
        with transaction(sessions) as session:
            set_password(session, email, new, now=_now(), actor=actor())
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"New password set for {email.strip().lower()}; they are signed out everywhere.")


@users.command("remove")
@click.argument("email")
def remove(email: str) -> None:
    """Remove EMAIL's sign-in (their work, such as handled alerts, stays)."""
    sessions = database(settings())
    try:
        with transaction(sessions) as session:
            remove_user(session, email, now=_now(), actor=actor())
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Removed {email.strip().lower()}: they can no longer sign in.")
