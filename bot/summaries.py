"""Coordinators' weekly summaries: when each is due, and queueing it.

The text itself comes from `reports.summary`; this module only keeps the calendar (a
next-summary time per coordinator, in their local time) and respects quiet hours.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.outbox import Recipient, enqueue_text
from bot.quiet_hours import release_time
from bot.settings import Settings
from reports.summary import coordinator_summary
from storage.database import transaction
from storage.models import Coordinator
from survey_flows.due_times import latest_due, next_due
from survey_flows.loading import FlowLibrary
from survey_flows.model import Schedule
from survey_flows.schedules import WEEKDAYS


def summary_schedule(coordinator: Coordinator) -> Schedule:
    """The coordinator's weekly summary time as a flow-style schedule."""
    return Schedule(
        every="week", on=WEEKDAYS[coordinator.summary_weekday], at=coordinator.summary_time
    )


def zone_of(coordinator: Coordinator, settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(coordinator.timezone) if coordinator.timezone else settings.zone
    except (ZoneInfoNotFoundError, ValueError):
        return settings.zone


def send_due(
    sessions: sessionmaker[Session], library: FlowLibrary, settings: Settings, now: datetime
) -> int:
    """Queue every summary that has fallen due; returns how many were queued."""
    sent = 0
    with transaction(sessions) as session:
        coordinators = session.scalars(
            select(Coordinator)
            .where((Coordinator.next_summary_at <= now) | Coordinator.next_summary_at.is_(None))
            .order_by(Coordinator.id)
            .with_for_update(skip_locked=True)
        ).all()
        for coordinator in coordinators:
            zone = zone_of(coordinator, settings)
            schedule = summary_schedule(coordinator)
            if coordinator.next_summary_at is None:
                coordinator.next_summary_at = next_due(schedule, now, zone)
                continue
            _, coordinator.next_summary_at = latest_due(
                schedule, coordinator.next_summary_at, now, zone
            )
            text, chart = coordinator_summary(
                sessions,
                library,
                coordinator.group_id,
                now,
                channel=coordinator.channel,
                threshold=settings.suppression_threshold,
            )
            enqueue_text(
                session,
                Recipient(coordinator.channel, coordinator.address),
                text,
                now=now,
                not_before=release_time(now, zone, settings.quiet_start, settings.quiet_end),
                photo=chart,
            )
            sent += 1
    return sent
