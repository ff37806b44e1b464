"""Coordinators' weekly summaries: when each is due, and queueing it.

The sentences come from `reports.summary`; this module keeps the calendar (a next-summary
time per coordinator, in their local time), respects quiet hours, and fits the sentences to
the coordinator's channel (`summary_message`): three SMS segments, or a chart on Telegram.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.segments import fit_segments
from bot.delivery.outbox import Recipient, enqueue_text, opening
from bot.schedule.quiet_hours import release_time
from bot.schedule.time_zones import zone_named
from bot.settings import Settings
from reports.data import ReportData
from reports.disclosure import DEFAULT_KEY
from reports.summary import coordinator_summary
from storage.database import transaction
from storage.flow_versions import Flows
from storage.models import User, UserGroup
from survey_flows.due_times import latest_due, next_due
from survey_flows.model import Schedule
from survey_flows.schedules import WEEKDAYS

#: A summary by SMS is at most this many segments long.
SMS_SEGMENTS = 3
#: Channels that carry the leading measure's chart as a photo.
PHOTO_CHANNELS = frozenset({"telegram"})


def summary_message(
    sessions: sessionmaker[Session],
    library: Flows,
    group_id: int,
    now: datetime,
    *,
    channel: str,
    threshold: int,
    key: str = DEFAULT_KEY,
    loaded: dict[tuple[Any, ...], ReportData] | None = None,
) -> tuple[str, bytes | None]:
    """A group's weekly summary as the coordinator's channel carries it: text and chart.

    By SMS it keeps the most important whole sentences that fit in `SMS_SEGMENTS`; on a
    photo channel it comes with the leading measure's chart.
    """
    summary = coordinator_summary(
        sessions,
        library,
        group_id,
        now,
        with_chart=channel in PHOTO_CHANNELS,
        threshold=threshold,
        key=key,
        loaded=loaded,
    )
    if channel == "sms":
        return fit_segments(summary.sentences, SMS_SEGMENTS), summary.chart
    return " ".join(summary.sentences), summary.chart


def summary_schedule(coordinator: User) -> Schedule:
    """The coordinator's weekly summary time as a flow-style schedule."""
    return Schedule(
        every="week", on=WEEKDAYS[coordinator.summary_weekday], at=coordinator.summary_time
    )


def send_due(
    sessions: sessionmaker[Session], library: Flows, settings: Settings, now: datetime
) -> int:
    """Queue every summary that has fallen due; returns how many were queued.

    Each summary is worked out before its write transaction opens, so that building
    reports never holds the database's write lock (SQLite has one writer); the write then
    claims the coordinator only if no other clock moved its calendar on meanwhile. The
    summaries of one call share what they read (`loaded`): each flow's answers are read
    once however many groups there are.
    """
    with transaction(sessions, readonly=True) as session:
        waiting = session.execute(
            select(User.id, User.next_summary_at, User.channel)
            .where(
                User.role == "coordinator",
                User.channel.is_not(None),
                (User.next_summary_at <= now) | User.next_summary_at.is_(None),
            )
            .order_by(User.id)
        ).all()
        groups: dict[int, list[int]] = {}
        for user_id, group_id in session.execute(
            select(UserGroup.user_id, UserGroup.group_id)
            .where(UserGroup.user_id.in_([due.id for due in waiting]))
            .order_by(UserGroup.group_id)
        ):
            groups.setdefault(user_id, []).append(group_id)
    loaded: dict[tuple[Any, ...], ReportData] = {}
    return sum(
        _send_one(sessions, library, settings, now, due, groups.get(due.id, []), loaded)
        for due in waiting
    )


def _send_one(
    sessions: sessionmaker[Session],
    library: Flows,
    settings: Settings,
    now: datetime,
    due: Row[*tuple[Any, ...]],
    group_ids: list[int],
    loaded: dict[tuple[Any, ...], ReportData],
) -> int:
    """Queue one coordinator's summaries, one per group (or start their calendar); how
    many went.

    `due` is the coordinator as `send_due` read it: id, next_summary_at, channel.
    """
    expected = due.next_summary_at
    summaries: list[tuple[str, bytes | None]] = []
    if expected is not None:
        summaries = _summaries(sessions, library, settings, group_ids, now, due.channel, loaded)
    unchanged = (
        User.next_summary_at.is_(None) if expected is None else User.next_summary_at == expected
    )
    with transaction(sessions) as session:
        coordinator = session.scalars(
            select(User).where(User.id == due.id, unchanged).with_for_update(skip_locked=True)
        ).one_or_none()
        if coordinator is None:  # another clock has it, or has already sent it
            return 0
        zone = zone_named(coordinator.timezone, settings)
        schedule = summary_schedule(coordinator)
        if expected is None:  # their calendar starts now (`unchanged` made sure it had none)
            coordinator.next_summary_at = next_due(schedule, now, zone)
            return 0
        if (
            coordinator.channel is None
            or coordinator.channel != due.channel
            or coordinator.address is None
        ):
            return 0  # their contact changed meanwhile: the next call works it out again
        _, coordinator.next_summary_at = latest_due(
            schedule, coordinator.next_summary_at, now, zone
        )
        release = release_time(now, zone, settings.quiet_start, settings.quiet_end)
        _queue(session, coordinator, summaries, now, release)
    return len(summaries)


def _summaries(
    sessions: sessionmaker[Session],
    library: Flows,
    settings: Settings,
    group_ids: list[int],
    now: datetime,
    channel: str,
    loaded: dict[tuple[Any, ...], ReportData] | None = None,
) -> list[tuple[str, bytes | None]]:
    """One summary per group (text, chart) for a coordinator on `channel`."""
    return [
        summary_message(
            sessions,
            library,
            group_id,
            now,
            channel=channel,
            threshold=settings.suppression_threshold,
            key=settings.report_key,
            loaded=loaded,
        )
        for group_id in group_ids
    ]


def _queue(
    session: Session,
    coordinator: User,
    summaries: list[tuple[str, bytes | None]],
    now: datetime,
    not_before: datetime,
) -> None:
    """Queue each summary (text, chart) to the coordinator's contact."""
    assert coordinator.channel is not None and coordinator.address is not None
    for text, chart in summaries:
        enqueue_text(
            session,
            Recipient(coordinator.channel, coordinator.address),
            text,
            now=now,
            not_before=not_before,
            photo=chart,
            opening=opening("coordinator", coordinator.name, "the weekly summary"),
        )


def send_now(
    sessions: sessionmaker[Session],
    library: Flows,
    settings: Settings,
    coordinator_id: int,
    now: datetime,
) -> int:
    """Queue a coordinator's summaries at once, one per group, for sending straight away;
    how many were queued.

    For the Simulator's "send this week's summary now": the texts are the ones the clock
    would send now (`summary_message`), through the outbox like every summary; their
    calendar is left as it is, so the weekly summary still comes on its day.
    """
    with transaction(sessions, readonly=True) as session:
        channel = session.scalar(select(User.channel).where(User.id == coordinator_id))
        group_ids = list(
            session.scalars(
                select(UserGroup.group_id)
                .where(UserGroup.user_id == coordinator_id)
                .order_by(UserGroup.group_id)
            )
        )
    if channel is None:
        return 0
    summaries = _summaries(sessions, library, settings, group_ids, now, channel)
    with transaction(sessions) as session:
        coordinator = session.get(User, coordinator_id)
        if coordinator is None or coordinator.channel != channel:
            return 0  # removed, or their contact changed meanwhile
        _queue(session, coordinator, summaries, now, now)
    return len(summaries)
