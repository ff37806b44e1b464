"""`groundswell coordinators ...`: who hears about a group's alerts and weekly summary."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from sqlalchemy import func, select

from bot.commands.common import database, settings
from bot.intake.roster import phone_number
from storage.database import transaction
from storage.models import Coordinator, Group
from survey_flows.schedules import WEEKDAYS


@click.group()
def coordinators() -> None:
    """Add and list coordinators (alerts at once, a summary every week)."""


@coordinators.command("add")
@click.argument("name")
@click.option("--group", "group_name", required=True, help="The group they coordinate.")
@click.option("--telegram", "telegram_id", help="Their Telegram chat id (a number).")
@click.option("--phone", help="Their mobile number, for SMS.")
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
    summary_day: str,
    summary_at: str,
    timezone: str | None,
) -> None:
    """Add NAME as a coordinator of a group, reached by --telegram ID or --phone NUMBER.

    Alerts name the participant by pseudonymous id and group only; SMS alerts never
    carry what the resident wrote.
    """
    if bool(telegram_id) == bool(phone):
        raise click.UsageError("give exactly one of --telegram ID or --phone NUMBER")
    config = settings()
    if phone:
        try:
            channel, address = "sms", phone_number(phone, config.default_region)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--phone") from None
    else:
        channel, address = "telegram", str(telegram_id).strip()
        if not address.lstrip("-").isdigit():
            raise click.BadParameter("a Telegram chat id is a number", param_hint="--telegram")
    hours, _, minutes = summary_at.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise click.BadParameter("write the time as HH:MM, e.g. 09:00", param_hint="--summary-at")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise click.BadParameter(
                f"'{timezone}' is not a time zone; use a name like Europe/London",
                param_hint="--timezone",
            ) from None
    sessions = database(config)
    with transaction(sessions) as session:
        group = session.scalars(
            select(Group).where(func.lower(Group.name) == group_name.strip().lower())
        ).one_or_none()
        if group is None:
            known = ", ".join(session.scalars(select(Group.name).order_by(Group.name))) or "none"
            raise click.ClickException(
                f"there is no group called '{group_name}' (groups: {known}); "
                "add it with `groundswell groups add NAME`"
            )
        exists = session.scalars(
            select(Coordinator).where(
                Coordinator.group_id == group.id,
                Coordinator.channel == channel,
                Coordinator.address == address,
            )
        ).one_or_none()
        if exists is not None:
            raise click.ClickException(f"{exists.name} already coordinates {group.name} there")
        session.add(
            Coordinator(
                name=name,
                channel=channel,
                address=address,
                group_id=group.id,
                summary_weekday=WEEKDAYS.index(summary_day.lower()),
                summary_time=f"{int(hours):02d}:{int(minutes):02d}",
                timezone=timezone,
            )
        )
        click.echo(
            f"{name} now coordinates {group.name}: alerts at once by {channel}, "
            f"a summary every {summary_day.capitalize()} at {summary_at} local time."
        )


@coordinators.command("list")
def list_coordinators() -> None:
    """List coordinators with their group, channel and summary time."""
    with transaction(database(), readonly=True) as session:
        rows = session.execute(
            select(Coordinator, Group.name).join(Group).order_by(Group.name, Coordinator.name)
        ).all()
        if not rows:
            click.echo("No coordinators yet. Add one with `groundswell coordinators add`.")
        for coordinator, group in rows:
            day = WEEKDAYS[coordinator.summary_weekday].capitalize()
            click.echo(
                f"{coordinator.name}\t{group}\t{coordinator.channel}\t"
                f"{day} {coordinator.summary_time}"
            )
