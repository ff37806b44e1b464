"""`groundswell coordinators ...`: who hears about a group's alerts and weekly summary.

A coordinator is one person (a `users` row): `users add EMAIL --role coordinator --phone ...`
makes one who also signs in; `coordinators add NAME` makes one who only receives messages.
Adding a contact that already coordinates another group adds the group to that person.
"""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.commands.common import database, settings
from bot.commands.participants import actor
from bot.commands.users import _now, contact_options
from bot.people.coordinators import (
    ContactError,
    by_contact,
    contact,
    groups_named,
    set_contact,
    set_groups,
)
from bot.web.staff.accounts import AccountError, delete_user
from storage.database import transaction
from storage.models import Group, User, UserGroup
from survey_flows.schedules import WEEKDAYS


@click.group()
def coordinators() -> None:
    """Add, list and remove coordinators (alerts at once, a summary every week)."""


@coordinators.command("add")
@click.argument("name")
@click.option("--group", "group_name", required=True, help="The group they coordinate.")
@click.option("--telegram", "telegram_id", help="Their Telegram chat id (a number).")
@click.option("--phone", help="Their mobile number, for SMS.")
@click.option("--whatsapp", help="Their WhatsApp number.")
@click.option(
    "--summary-day",
    type=click.Choice(WEEKDAYS, case_sensitive=False),
    default="monday",
    show_default=True,
    help="Weekday of the weekly summary.",
)
@click.option("--summary-at", default="09:00", show_default=True, help="Local time, HH:MM.")
@click.option("--timezone", help="Their time zone (default: the deployment's).")
def add(
    name: str,
    group_name: str,
    telegram_id: str | None,
    phone: str | None,
    whatsapp: str | None,
    summary_day: str,
    summary_at: str,
    timezone: str | None,
) -> None:
    """Add NAME as a coordinator of a group, reached by --telegram ID, --phone NUMBER (SMS)
    or --whatsapp NUMBER.

    Alerts name the participant by pseudonymous id and group only; SMS alerts never
    carry what the resident wrote. To let them sign in to the web app as well, use
    `groundswell users add EMAIL --role coordinator --group G --phone NUMBER` instead.
    """
    if sum(map(bool, (telegram_id, phone, whatsapp))) != 1:
        raise click.UsageError(
            "give exactly one of --telegram ID, --phone NUMBER or --whatsapp NUMBER"
        )
    config = settings()
    reach, when = contact_options(
        config.default_region, phone, telegram_id, summary_day, summary_at, timezone, whatsapp
    )
    assert reach is not None and when is not None  # one of phone/whatsapp/telegram was given
    with transaction(database(config)) as session:
        try:
            [group] = groups_named(session, [group_name])
            person = by_contact(session, reach)
            if person is None:
                person = User(role="coordinator", name=name.strip(), created_at=_now())
                session.add(person)
                set_contact(session, person, reach, when, now=_now(), actor=actor())
                session.flush()
            elif person.role != "coordinator":
                raise ContactError(f"{person.shown_name} is staff; staff get no alerts")
            mine = set(
                session.scalars(select(UserGroup.group_id).where(UserGroup.user_id == person.id))
            )
            if group.id in mine:
                raise ContactError(f"{person.shown_name} already coordinates {group.name} there")
            known = session.scalars(select(Group).where(Group.id.in_(mine)))
            set_groups(session, person, [*known, group])
        except ContactError as error:
            raise click.ClickException(str(error)) from None
        day = WEEKDAYS[person.summary_weekday].capitalize()
        click.echo(
            f"{person.shown_name} now coordinates {group.name}: alerts at once by "
            f"{person.channel}, a summary every {day} at {person.summary_time} local time."
        )


@coordinators.command("list")
def list_coordinators() -> None:
    """List coordinators with their group, channel and summary time."""
    with transaction(database(), readonly=True) as session:
        rows = session.execute(
            select(User, Group.name)
            .join(UserGroup, UserGroup.user_id == User.id)
            .join(Group, Group.id == UserGroup.group_id)
            .where(User.role == "coordinator")
            .order_by(Group.name, User.name, User.email)
        ).all()
        if not rows:
            click.echo(
                "No coordinators yet. Add one with `groundswell users add EMAIL --role "
                "coordinator --group G --phone NUMBER`."
            )
        for person, group in rows:
            day = WEEKDAYS[person.summary_weekday].capitalize()
            how = person.channel or "app only (no phone, WhatsApp or Telegram)"
            click.echo(f"{person.shown_name}\t{group}\t{how}\t{day} {person.summary_time}")


@coordinators.command("remove")
@click.argument("who")
@click.option("--group", "group_name", help="Only stop coordinating this group.")
def remove(who: str, group_name: str | None) -> None:
    """Remove the coordinator WHO (name, email, phone or WhatsApp number, Telegram chat id).

    With --group they stop coordinating that group only; without, they are removed
    altogether (their sign-in too). Handled alerts keep who handled them.
    """
    config = settings()
    with transaction(database(config)) as session:
        person = _find(session, who, config.default_region)
        try:
            if group_name:
                [group] = groups_named(session, [group_name])
                left = [g for g in person.groups if g.id != group.id]
                if len(left) == len(person.groups):
                    raise ContactError(f"{person.shown_name} does not coordinate {group.name}")
                set_groups(session, person, left)
                click.echo(f"{person.shown_name} no longer coordinates {group.name}.")
                return
            delete_user(session, person, now=_now(), actor=actor())
        except (ContactError, AccountError) as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"Removed {person.shown_name}: no more alerts or summaries, no sign-in.")


def _find(session: Session, who: str, region: str) -> User:
    """The one coordinator `who` names; a clear error for none or several."""
    wanted = who.strip()
    addresses = {wanted}
    try:
        reach = contact(wanted, None, region)
        if reach is not None:
            addresses.add(reach.address)
    except ContactError:
        pass
    found = [
        person
        for person in session.scalars(select(User).where(User.role == "coordinator"))
        if wanted.lower() in {(person.name or "").lower(), (person.email or "")}
        or person.address in addresses
    ]
    if len(found) != 1:
        problem = "nobody" if not found else "more than one coordinator"
        raise click.ClickException(
            f"{problem} matches {who!r}; see who coordinates with: groundswell coordinators list"
        )
    return found[0]
