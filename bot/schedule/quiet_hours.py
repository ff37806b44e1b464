"""Quiet hours: when something Groundswell starts may reach a resident's phone.

Check-ins, reminders and summaries falling due inside the window wait until it ends, in
the recipient's own time zone. Replies to a resident's own message are never held.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def is_quiet(local: time, start: time, end: time) -> bool:
    """Whether a local wall-clock time falls inside the window (which may cross midnight)."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def release_time(now: datetime, zone: ZoneInfo, start: time, end: time) -> datetime:
    """`now` when it is not quiet where the recipient lives, else the moment quiet hours end.

    The end is found on the local calendar and converted back to UTC, so a daylight-saving
    change inside the night still releases at the intended local time.
    """
    local = now.astimezone(zone)
    if not is_quiet(local.timetz().replace(tzinfo=None), start, end):
        return now
    day = local.date()
    if local.time() >= end:  # before midnight: quiet hours end tomorrow morning
        day += timedelta(days=1)
    release = datetime.combine(day, end, tzinfo=zone)
    # A wall-clock time inside a spring-forward gap does not exist; normalise through UTC.
    return release.astimezone(UTC)
