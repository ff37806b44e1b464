"""`groundswell start FLOW --group G | --participant ID [--now]`: send a flow now.

For a one-off question to a whole group, or to try a flow on one person. Everyone who is
opted in and reachable gets it; inside their quiet hours it waits until the hours end
(unless `--now`). All the check-ins start in one transaction: all of them, or none.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.checkins.starting import StartRequest, start_checkins
from bot.commands.common import database, settings
from bot.commands.participants import resolve_flow
from bot.people.privacy import UnknownParticipant, find_participant
from bot.schedule.quiet_hours import release_time
from bot.schedule.time_zones import participant_zone
from bot.settings import Settings
from storage.database import transaction
from storage.models import Checkin, Group, Participant


@click.command()
@click.argument("flow")
@click.option("--group", "group_name", help="Start it for everyone in this group (its name).")
@click.option("--participant", "participant_ref", help="Start it for one person (pseudonym).")
@click.option("--now", "ignore_quiet_hours", is_flag=True, help="Send even inside quiet hours.")
def start(
    flow: str, group_name: str | None, participant_ref: str | None, ignore_quiet_hours: bool
) -> None:
    """Start FLOW now for a group or one participant.

    Any check-in they still have open is closed first. Opted-out people are left out.
    """
    if (group_name is None) == (participant_ref is None):
        raise click.UsageError("give exactly one of --group NAME or --participant ID")
    chosen = resolve_flow(flow)
    config = settings()
    now = datetime.now(UTC)
    with transaction(database(config)) as session:
        people = (
            _group_members(session, group_name)
            if group_name is not None
            else [_one(session, participant_ref or "")]
        )
        requests = [StartRequest(person.id, chosen) for person in people]
        started = start_checkins(
            session, requests, now, config, hold_for_quiet_hours=not ignore_quiet_hours
        )
        starters = set(
            session.scalars(select(Checkin.participant_id).where(Checkin.id.in_(started)))
        )
        waiting = (
            0
            if ignore_quiet_hours
            else sum(1 for p in people if p.id in starters and _held(p, now, config) > now)
        )
    click.echo(_summary(chosen.id, len(started), waiting, len(people) - len(started)))


def _group_members(session: Session, name: str) -> list[Participant]:
    group = session.scalars(select(Group).where(Group.name == name)).one_or_none()
    if group is None:
        known = ", ".join(session.scalars(select(Group.name).order_by(Group.name))) or "none yet"
        raise click.ClickException(f"no group called {name!r} (groups: {known})")
    return list(
        session.scalars(
            select(Participant)
            .where(
                Participant.group_id == group.id,
                Participant.opted_out.is_(False),
                Participant.forgotten_at.is_(None),
            )
            .order_by(Participant.id)
        )
    )


def _one(session: Session, ref: str) -> Participant:
    try:
        person = find_participant(session, ref)
    except UnknownParticipant as error:
        raise click.ClickException(str(error)) from None
    if person.opted_out or person.forgotten_at is not None:
        raise click.ClickException(f"{person.pseudonym} has opted out: nothing was sent")
    return person


def _held(person: Participant, now: datetime, config: Settings) -> datetime:
    zone = participant_zone(person, config)
    return release_time(now, zone, config.quiet_start, config.quiet_end)


def _summary(flow_id: str, started: int, waiting: int, skipped: int) -> str:
    people = "participant" if started == 1 else "participants"
    text = f"Started {flow_id} for {started} {people}"
    if waiting:
        text += f"; {waiting} will get it when their quiet hours end"
    if skipped:
        text += f"; {skipped} could not be reached (no address)"
    return text + "."
