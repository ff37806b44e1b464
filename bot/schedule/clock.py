"""The clock's tick: start due check-ins, wake reminders and expiries, send summaries.

The calendar lives in the database (a next-due time per enrolment, a next-timer time per
check-in, a next-summary time per coordinator), so a restart loses nothing and any number
of clocks may tick at once: each batch of due rows is claimed under row locks that other
clocks skip (PostgreSQL) or the single write lock (SQLite), and moved on in the same
transaction, so a check-in can never start twice.
"""

from __future__ import annotations

import gc
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.checkins.engine_context import PERSON_COLUMNS
from bot.checkins.starting import StartRequest, start_checkins
from bot.checkins.waking import wake_checkin
from bot.schedule import summaries
from bot.schedule.time_zones import participant_zone, zone_named
from bot.settings import Settings
from storage.bulk import among
from storage.database import transaction
from storage.flow_versions import Flows, FlowStore
from storage.models import Checkin, ClockTick, Enrolment, OutboxItem, Participant
from survey_flows.checks.problems import FlowError
from survey_flows.due_times import latest_due, next_due
from survey_flows.model import Flow, Schedule

log = logging.getLogger(__name__)
BATCH = 2000


@dataclass
class TickReport:
    """What one tick did; also written to `clock_ticks` for the health page."""

    scheduled: int = 0  # enrolments given their first due time
    started: int = 0
    skipped: int = 0  # due, but opted out or unreachable: moved on without a message
    reminded: int = 0
    expired: int = 0
    released: int = 0  # messages held by quiet hours that became due since the last tick
    summaries: int = 0
    problems: list[str] = field(default_factory=list)


def tick(
    sessions: sessionmaker[Session],
    library: Flows,
    settings: Settings,
    now: datetime,
    *,
    process: str = "clock",
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> TickReport:
    """One tick of the clock at `now` (injected: tests and `clock --once` pass it in)."""
    with _steady_heap():
        return _tick(sessions, library, settings, now, process, batch, progress)


@contextmanager
def _steady_heap() -> Iterator[None]:
    """Leave the objects alive when the tick starts (modules, flows, caches) out of the
    garbage collector's full passes until it ends.

    A big tick makes millions of short-lived rows' worth of objects, which set off full
    passes that rescanned the whole heap each time: a quarter of the clock's CPU for
    20,000 check-ins. Nothing is kept: at the end the objects go back to the collector.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _tick(
    sessions: sessionmaker[Session],
    library: Flows,
    settings: Settings,
    now: datetime,
    process: str,
    batch: int,
    progress: Callable[[int], None] | None,
) -> TickReport:
    report = TickReport()
    flows = _scheduled_flows(library, report)
    with transaction(sessions) as session:
        previous_tick = session.scalar(select(func.max(ClockTick.at)))
    report.scheduled = _schedule_new_enrolments(sessions, flows, settings, batch)
    while True:
        with transaction(sessions) as session:
            started, skipped = _start_due(session, flows, settings, now, batch)
        report.started += started
        report.skipped += skipped
        if progress:
            progress(started + skipped)
        if started + skipped < batch:
            break
    _wake_timers(sessions, library, settings, now, batch, report)
    report.summaries = summaries.send_due(sessions, library, settings, now)
    with transaction(sessions) as session:
        report.released = _released_since(session, previous_tick, now)
        session.add(
            ClockTick(
                at=now,
                process=process,
                started=report.started,
                reminded=report.reminded,
                expired=report.expired,
                released=report.released,
            )
        )
    return report


def _scheduled_flows(library: Flows, report: TickReport) -> dict[str, Flow]:
    """The flows with a schedule, as they are stored (or in the folder) now."""
    flows: dict[str, Flow] = {}
    if isinstance(library, FlowStore):
        return {i: flow for i, flow in library.latest().items() if flow.schedule is not None}
    for path in library.files():
        try:
            flow = library.checked(path)
        except FlowError as error:
            report.problems += [str(problem) for problem in error.problems]
            continue
        if flow.schedule is not None:
            flows[flow.id] = flow
    return flows


def _schedule_new_enrolments(
    sessions: sessionmaker[Session], flows: dict[str, Flow], settings: Settings, batch: int
) -> int:
    """Give each new enrolment its first due time: the first scheduled time after enrolling."""
    done = 0
    while True:
        with transaction(sessions) as session:
            rows = session.execute(
                select(Enrolment.id, Enrolment.flow_id, Enrolment.enrolled_at, Participant.timezone)
                .join(Participant, Participant.id == Enrolment.participant_id)
                .where(
                    Enrolment.active.is_(True),
                    Enrolment.next_due_at.is_(None),
                    Enrolment.flow_id.in_(list(flows)),
                )
                .order_by(Enrolment.id)
                .limit(batch)
                .with_for_update(skip_locked=True, of=Enrolment)
            ).all()
            updates = [
                {
                    "id": enrolment_id,
                    "next_due_at": next_due(
                        _schedule(flows[flow_id]), enrolled_at, zone_named(timezone, settings)
                    ),
                }
                for enrolment_id, flow_id, enrolled_at, timezone in rows
            ]
            if updates:
                session.execute(update(Enrolment), updates)
        done += len(updates)
        if len(rows) < batch:
            return done


def _start_due(
    session: Session, flows: dict[str, Flow], settings: Settings, now: datetime, batch: int
) -> tuple[int, int]:
    """Claim one batch of due enrolments, move each to its next due time, start check-ins."""
    rows = _claim_due(session, flows, now, batch)
    # Enrolments moving to the same next due time move in one statement (a batch usually
    # shares one flow, zone and due time, so one statement for the whole batch).
    moves: dict[datetime, list[int]] = defaultdict(list)
    due_times: dict[tuple[str, datetime, ZoneInfo], tuple[datetime, datetime]] = {}
    requests = []
    skipped = 0
    for row in rows:  # each row carries the participant's columns too (PERSON_COLUMNS)
        flow = flows[row.flow_id]
        zone = participant_zone(row, settings)
        key = (row.flow_id, row.next_due_at, zone)
        if key not in due_times:
            due_times[key] = latest_due(_schedule(flow), row.next_due_at, now, zone)
        latest, upcoming = due_times[key]
        moves[upcoming].append(row.enrolment_id)
        if row.opted_out or row.forgotten_at is not None:
            skipped += 1
            continue
        requests.append(StartRequest(row.id, flow, row.enrolment_id, scheduled_for=latest))
    for upcoming, enrolment_ids in moves.items():
        session.execute(
            update(Enrolment)
            .where(among(session, Enrolment.id, enrolment_ids))
            .values(next_due_at=upcoming, last_started_at=now)
            .execution_options(synchronize_session=False)
        )
    started = start_checkins(session, requests, now, settings)
    return len(started), skipped + len(requests) - len(started)


def _claim_due(
    session: Session, flows: dict[str, Flow], now: datetime, batch: int
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Up to `batch` due enrolments with their participants' columns, row-locked: other
    clocks skip them (PostgreSQL) or wait for the write lock (SQLite) until this
    transaction has moved them on.

    Ordered by due time alone, which the (active, next_due_at) index gives as it is read,
    so each batch reads only its own rows; ordering by id as well made PostgreSQL sort
    every due row for every batch (a million due: 500 sorts of up to a million rows).
    """
    return session.execute(
        select(
            Enrolment.id.label("enrolment_id"),
            Enrolment.flow_id,
            Enrolment.next_due_at,
            *PERSON_COLUMNS,
        )
        .join(Participant, Participant.id == Enrolment.participant_id)
        .where(
            Enrolment.active.is_(True),
            Enrolment.next_due_at <= now,
            Enrolment.flow_id.in_(list(flows)),
        )
        .order_by(Enrolment.next_due_at)
        .limit(batch)
        .with_for_update(skip_locked=True, of=Enrolment)
    ).all()


def _wake_timers(
    sessions: sessionmaker[Session],
    library: Flows,
    settings: Settings,
    now: datetime,
    batch: int,
    report: TickReport,
) -> None:
    """Send due reminders and close expired check-ins, one claimed batch at a time."""
    while True:
        with transaction(sessions) as session:
            checkins = session.scalars(
                select(Checkin)
                .where(Checkin.status == "active", Checkin.next_timer_at <= now)
                .order_by(Checkin.next_timer_at, Checkin.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            for checkin in checkins:
                fired = wake_checkin(session, checkin, now, settings, library)
                name = type(fired).__name__ if fired else ""
                report.reminded += name == "ReminderDue"
                report.expired += name == "Expire"
        if len(checkins) < batch:
            return


def _released_since(session: Session, previous: datetime | None, now: datetime) -> int:
    """Messages held by quiet hours (queued for later than they were written) now due."""
    query = select(func.count()).where(
        OutboxItem.status == "queued",
        OutboxItem.not_before > OutboxItem.created_at,
        OutboxItem.not_before <= now,
    )
    if previous is not None:
        query = query.where(OutboxItem.not_before > previous)
    return session.scalar(query) or 0


def _schedule(flow: Flow) -> Schedule:
    """The schedule of a flow that `_scheduled_flows` let through (so it has one)."""
    assert flow.schedule is not None
    return flow.schedule


def last_tick(session: Session) -> ClockTick | None:
    """The most recent tick, for the health page."""
    return session.scalars(select(ClockTick).order_by(ClockTick.at.desc()).limit(1)).first()
