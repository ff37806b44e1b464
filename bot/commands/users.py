"""`groundswell users ...`: who may sign in to the web app.

    groundswell users add you@example.org --role staff
    groundswell users add sam@example.org --role coordinator --group "Elm Street" \
        --phone 07700900123 --summary-day monday --summary-at 09:00
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
from bot.people.coordinators import (
    Contact,
    ContactError,
    SummaryTime,
    contact,
    summary_time,
)
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
from survey_flows.schedules import WEEKDAYS


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


def contact_options(
    region: str,
    phone: str | None,
    telegram: str | None,
    day: str | None,
    at: str | None,
    timezone: str | None,
    whatsapp: str | None = None,
) -> tuple[Contact | None, SummaryTime | None]:
    """The checked --phone/--whatsapp/--telegram and --summary-* options (a usage error if
    wrong)."""
    try:
        reach = contact(phone, telegram, region, whatsapp)
        given = day is not None or at is not None or timezone is not None
        when = summary_time(day, at, timezone) if reach is not None or given else None
    except ContactError as error:
        raise click.UsageError(str(error)) from None
    if when is not None and reach is None:
        raise click.UsageError(
            "a summary time needs --phone NUMBER, --whatsapp NUMBER or --telegram CHAT_ID"
        )
    return reach, when


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
@click.option("--name", help="Their name, as the team sees it.")
@click.option("--phone", help="A coordinator's mobile number: alerts and summaries by SMS.")
@click.option("--whatsapp", help="A coordinator's WhatsApp number instead (alerts by WhatsApp).")
@click.option("--telegram", "telegram_id", help="A coordinator's Telegram chat id instead.")
@click.option(
    "--summary-day",
    type=click.Choice(WEEKDAYS, case_sensitive=False),
    help="Weekday of the weekly summary (default monday).",
)
@click.option("--summary-at", help="Local time of the weekly summary, HH:MM (default 09:00).")
@click.option("--timezone", help="Their time zone, e.g. Europe/London (default: the deployment's).")
def add(
    email: str,
    role: str,
    groups: tuple[str, ...],
    name: str | None,
    phone: str | None,
    whatsapp: str | None,
    telegram_id: str | None,
    summary_day: str | None,
    summary_at: str | None,
    timezone: str | None,
) -> None:
    """Give EMAIL a web sign-in; asks for the password.

    A coordinator given --phone, --whatsapp or --telegram (one of them) is one person: they
    sign in, get their groups' alerts at once and a summary every week.
    """
    config = settings()
    reach, when = contact_options(
        config.default_region, phone, telegram_id, summary_day, summary_at, timezone, whatsapp
    )
    sessions = database(config)
    password = _password()
    try:
        with transaction(sessions) as session:
            account = add_user(
                session,
                email,
                role,
                password,
                groups,
                now=_now(),
                actor=actor(),
                reach=reach,
                when=when,
                name=name,
            )
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    sees = "every group" if role == "staff" else ", ".join(account.groups)
    if reach is not None and when is not None:
        day = WEEKDAYS[when.weekday].capitalize()
        click.echo(
            f"{account.email} gets alerts at once by {reach.channel}, and a summary every "
            f"{day} at {when.at} local time."
        )
    elif role == "coordinator":
        click.echo(
            "No phone, WhatsApp or Telegram given: they see alerts and summaries only in the app. "
            "Add one on the Team page, or they can on their Account page."
        )
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
        who = account.email or f"{account.name} (no sign-in)"
        reached = account.channel or "app only"
        click.echo(f"{who}\t{account.role}\t{groups}\t{reached}")


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
