"""When a scheduled check-in falls due, in the participant's own wall-clock time.

APScheduler's triggers do the calendar arithmetic on *floating* local time (wall-clock
times with no zone, carried as UTC so no daylight-saving rule applies); each result is then
placed in the real zone here. That keeps two promises the triggers alone do not:
a wall time that does not exist (spring forward) fires at the first valid instant after
it, and a wall time that happens twice (fall back) fires once, at its first occurrence.
Pure: the caller passes the moment to count from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from survey_flows.model import Schedule
from survey_flows.schedules import cron_trigger

_FORTNIGHT = timedelta(days=14)
_ONE_SECOND = timedelta(seconds=1)


def next_due(
    schedule: Schedule, after: datetime, zone: ZoneInfo, previous: datetime | None = None
) -> datetime:
    """The first due time strictly after `after` (aware, UTC).

    For `every: fortnight`, `previous` (the last due time) keeps the two-week rhythm; without
    it the first matching weekday after `after` starts the rhythm.
    """
    trigger = _floating_trigger(schedule)
    floating = _floating(after, zone)
    candidate = _fire_after(trigger, floating)
    rhythm = _floating(previous, zone) if schedule.every == "fortnight" and previous else None
    while True:
        if rhythm is not None and (candidate - rhythm) % _FORTNIGHT >= timedelta(days=1):
            candidate = _fire_after(trigger, candidate)
            continue
        due = place(candidate, zone)
        # A wall time in a repeated hour whose first occurrence has passed is not "after".
        if due > after:
            return due
        candidate = _fire_after(trigger, candidate)


@lru_cache(maxsize=4096)
def latest_due(
    schedule: Schedule, due: datetime, now: datetime, zone: ZoneInfo
) -> tuple[datetime, datetime]:
    """From a due time that has passed: the latest due time not after `now`, and the next one.

    After downtime this is what starts: one check-in for the latest due time, not a backlog.
    Cached: a tick asks the same question for everyone who shares a schedule and zone.
    """
    latest = due
    upcoming = next_due(schedule, due, zone, previous=due)
    while upcoming <= now:
        latest, upcoming = upcoming, next_due(schedule, upcoming, zone, previous=upcoming)
    return latest, upcoming


def place(wall: datetime, zone: ZoneInfo) -> datetime:
    """A floating wall-clock time placed in `zone`, as an aware UTC datetime.

    Repeated wall times take their first occurrence; missing ones the first valid instant
    after them (the moment the clocks went forward).
    """
    naive = wall.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
        return first.astimezone(UTC)
    # In a gap: the instants either side bracket the transition; find the first second whose
    # wall-clock reading has reached `naive`. (fold=1 reads the gap with the later offset.)
    low = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    high = int(first.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _floating(moment: datetime, zone: ZoneInfo) -> datetime:
    """The wall-clock reading of `moment` in `zone`, carried as a zone-free UTC value."""
    return moment.astimezone(zone).replace(tzinfo=UTC, fold=0)


def _fire_after(trigger: BaseTrigger, floating: datetime) -> datetime:
    candidate: datetime | None = trigger.get_next_fire_time(None, floating)
    if candidate is not None and candidate <= floating:
        candidate = trigger.get_next_fire_time(None, floating + _ONE_SECOND)
    if candidate is None:
        raise ValueError("this schedule never fires again")
    return candidate


@lru_cache(maxsize=512)
def _floating_trigger(schedule: Schedule) -> BaseTrigger:
    if schedule.cron:
        return cron_trigger(schedule.cron, UTC)
    hour, minute = (int(part) for part in schedule.at.split(":"))
    if schedule.every == "day":
        return CronTrigger(hour=hour, minute=minute, timezone=UTC)
    if schedule.every in ("week", "fortnight"):
        weekday = str(schedule.on).lower()[:3]
        return CronTrigger(day_of_week=weekday, hour=hour, minute=minute, timezone=UTC)
    return CronTrigger(day=int(schedule.on or 1), hour=hour, minute=minute, timezone=UTC)
