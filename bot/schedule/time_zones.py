"""Whose clock a time is read on: a participant's own zone, else the deployment's; and
when a message to them may go, given quiet hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.schedule.quiet_hours import release_time
from bot.settings import Settings


def zone_named(name: str | None, settings: Settings) -> ZoneInfo:
    """The named time zone, or the deployment's when there is none (or it is unknown)."""
    try:
        return ZoneInfo(name) if name else settings.zone
    except (ZoneInfoNotFoundError, ValueError):
        return settings.zone


def participant_zone(participant: Any, settings: Settings) -> ZoneInfo:
    """The participant's own time zone, else the deployment's.

    `participant`: an ORM `Participant` or any row with a `timezone` column.
    """
    return zone_named(participant.timezone, settings)


def held_until(participant: Any, now: datetime, settings: Settings) -> datetime:
    """When a message written `now` may go to `participant`: now, or when quiet hours end."""
    return release_time(
        now, participant_zone(participant, settings), settings.quiet_start, settings.quiet_end
    )
