"""`groundswell demo`: write a made-up cohort into the database, so a report has something to show.

Why: a newcomer who runs `make run` should see what Groundswell is for (a change summary
with intervals, attrition, places side by side and stories) before recruiting anyone.
Three places (Elm Street, Riverside, Northgate, each with a join code), a few hundred
residents on the simulator channel, their welcome conversations, twelve weeks of the
weekly wellbeing check-in and, for about a third, the fortnightly neighbourhood one; with
the non-response, reminders, expiries, STOPs, alerts and transcripts a real run leaves.
Only Riverside really changes (see `bot.demo.cohort`). The cohort is decided by the
seed alone, and written in a few bulk statements.

The demo refuses a database that already holds participants, unless forced: made-up
answers mixed into a real project's would be hard to take out again.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.demo.cohort import PLACES, Cohort, Slot, make_people, simulate
from storage import flow_versions
from storage.bulk import insert_many, insert_rows
from storage.database import transaction
from storage.flow_versions import Flows
from storage.models import (
    Alert,
    Answer,
    AuditEntry,
    ChannelAddress,
    Checkin,
    Enrolment,
    Group,
    Message,
    Participant,
    table_of,
)
from storage.participants import get_or_create_group
from survey_flows.due_times import next_due
from survey_flows.model import Flow

__all__ = ["DemoRefused", "DemoSummary", "make_demo"]

WEEKLY, NEIGHBOURHOOD, WELCOME = "weekly-wellbeing", "neighbourhood", "welcome"
CHANNEL = "sim"
COORDINATOR = "Demo coordinator"
HANDLED_NOTES = (
    "Rang back; referred to the befriending service.",
    "Called; feeling better this week, will check in again next month.",
    "Left a voicemail, then spoke on Tuesday; visiting with the community nurse.",
)
Progress = Callable[[int, int], None]


class DemoRefused(Exception):
    """The database already holds participants and the demo was not forced."""


@dataclass(frozen=True)
class DemoSummary:
    """What the demo wrote."""

    participants: int
    groups: dict[str, int]  # group name -> participants added to it
    join_codes: dict[str, str | None]  # group name -> its join code
    checkins: int  # scheduled check-ins sent (welcome conversations not counted)
    completed: int
    answers: int
    messages: int
    alerts: int
    first_due: datetime
    last_due: datetime
    flows: tuple[str, ...]

    @property
    def response_rate(self) -> float:
        """Completed check-ins / check-ins sent, as the report defines it."""
        return self.completed / self.checkins if self.checkins else 0.0


def _dues(flow: Flow, after: datetime, now: datetime, zone: ZoneInfo) -> list[datetime]:
    """The flow's due times after `after` whose check-ins have run their course by `now`."""
    schedule = flow.schedule
    if schedule is None:
        raise ValueError(f"flow '{flow.id}' has no schedule; the demo needs a scheduled flow")
    expires = schedule.expires or timedelta(0)
    dues: list[datetime] = []
    previous = None
    while True:
        due = next_due(schedule, after, zone, previous)
        if due + expires > now:
            return dues
        dues.append(due)
        after = previous = due


def demo_slots(
    weekly: Flow, fortnightly: Flow, now: datetime, zone: ZoneInfo, weeks: int
) -> list[Slot]:
    """The last `weeks` weekly due times that are over by `now`, and the fortnightly ones
    between them, in time order."""
    expires = weekly.schedule.expires if weekly.schedule and weekly.schedule.expires else None
    start = now - timedelta(weeks=weeks + 1) - (expires or timedelta(0))
    weekly_dues = _dues(weekly, start, now, zone)[-weeks:]
    fortnight_dues = _dues(fortnightly, weekly_dues[0], now, zone)
    slots = [Slot(weekly, due, week) for week, due in enumerate(weekly_dues)]
    for due in fortnight_dues:
        week = sum(1 for weekly_due in weekly_dues if weekly_due <= due) - 1
        slots.append(Slot(fortnightly, due, week))
    return sorted(slots, key=lambda slot: slot.due)


def _places(session: Session, default_flow: str) -> tuple[list[int], dict[str, str | None]]:
    """The demo's groups (created when missing, given their join codes when free)."""
    ids, codes = [], {}
    for place in PLACES:
        group = get_or_create_group(session, place.name)
        if group.join_code is None:
            taken = session.scalar(select(Group.id).where(Group.join_code == place.join_code))
            if taken is None:
                group.join_code = place.join_code
        if group.default_flow is None:
            group.default_flow = default_flow
        ids.append(group.id)
        codes[group.name] = group.join_code
    session.flush()
    return ids, codes


def _write(
    session: Session,
    cohort: Cohort,
    group_ids: list[int],
    zone: ZoneInfo,
    now: datetime,
    rng: random.Random,
) -> tuple[int, int, int]:
    """Bulk-write the cohort; returns the numbers of answers, messages and alerts."""
    people = cohort.people
    person_ids = insert_many(
        session,
        table_of(Participant),
        [
            {
                "pseudonym": p.pseudonym,
                "name": p.name,
                "language": None,
                "timezone": None,  # the deployment's default time zone
                "group_id": group_ids[p.place],
                "opted_out": p.opted_out_at is not None,
                "opted_out_at": p.opted_out_at,
                "external_ref": None,
                "created_at": p.joined_at,
                "forgotten_at": None,
            }
            for p in people
        ],
    )
    insert_rows(
        session,
        table_of(ChannelAddress),
        [
            {"participant_id": pid, "channel": CHANNEL, "address": p.address}
            for p, pid in zip(people, person_ids, strict=True)
        ],
    )
    last_start: dict[tuple[int, str], datetime] = {}
    for run in cohort.runs:
        last_start[(run.person, run.flow.id)] = run.started_at
    flows = {run.flow.id: run.flow for run in cohort.runs}
    enrolment_ids = insert_many(
        session,
        table_of(Enrolment),
        [
            {
                "participant_id": person_ids[person],
                "group_id": group_ids[people[person].place],
                "flow_id": flow_id,
                "enrolled_at": enrolled_at,
                "active": True,
                "next_due_at": _next_due(flows[flow_id], now, zone),
                "last_started_at": last_start.get((person, flow_id)),
            }
            for person, flow_id, enrolled_at in cohort.enrolments
        ],
    )
    enrolment_of = {
        (person, flow_id): eid
        for (person, flow_id, _), eid in zip(cohort.enrolments, enrolment_ids, strict=True)
    }
    checkin_ids = insert_many(
        session,
        table_of(Checkin),
        [
            {
                "participant_id": person_ids[run.person],
                "enrolment_id": enrolment_of.get((run.person, run.flow.id))
                if run.scheduled_for
                else None,
                "flow_id": run.flow.id,
                "flow_version": run.flow.version,
                "channel": CHANNEL,
                "status": run.status,
                "state": run.state,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "scheduled_for": run.scheduled_for,
                "next_timer_at": None,
                "reminders_sent": run.reminders_sent,
            }
            for run in cohort.runs
        ],
    )
    messages: list[dict[str, Any]] = []
    for run, checkin_id in zip(cohort.runs, checkin_ids, strict=True):
        person = people[run.person]
        for position, sent in enumerate(run.messages):
            join = run.scheduled_for is None and position == 0  # "JOIN CODE" precedes it
            messages.append(
                {
                    "participant_id": person_ids[run.person],
                    "direction": sent.direction,
                    "channel": CHANNEL,
                    "address": person.address,
                    "body": sent.body,
                    "provider_id": f"sim-{uuid.uuid4().hex}" if sent.direction == "out" else None,
                    "created_at": sent.at,
                    "checkin_id": None if join else checkin_id,
                    "status": "sent" if sent.direction == "out" else None,
                    "error_code": None,
                }
            )
    message_ids = insert_many(session, table_of(Message), messages)
    answers, alerts, first = [], [], 0
    for run, checkin_id in zip(cohort.runs, checkin_ids, strict=True):
        pid = person_ids[run.person]
        for given in run.answers:
            answers.append(
                {
                    "checkin_id": checkin_id,
                    "participant_id": pid,
                    "flow_id": run.flow.id,
                    "flow_version": run.flow.version,
                    "step_id": given.step.id,
                    "value": given.value,
                    "score": given.score,
                    "measure": given.step.measure,
                    "raw_text": given.raw,
                    "answered_at": given.at,
                    "channel": CHANNEL,
                    "message_id": message_ids[first + given.message],
                }
            )
        for step_id, at in run.alerts:
            handled = at < now - timedelta(days=7) and rng.random() < 0.7
            alerts.append(
                {
                    "participant_id": pid,
                    "group_id": group_ids[people[run.person].place],
                    "checkin_id": checkin_id,
                    "step_id": step_id,
                    "flow_id": run.flow.id,
                    "created_at": at,
                    "handled_by": COORDINATOR if handled else None,
                    "handled_at": at + timedelta(hours=rng.uniform(2, 40)) if handled else None,
                    "note": rng.choice(HANDLED_NOTES) if handled else None,
                }
            )
        first += len(run.messages)
    insert_rows(session, table_of(Answer), answers)
    insert_rows(session, table_of(Alert), alerts)
    return len(answers), len(messages), len(alerts)


def _next_due(flow: Flow, now: datetime, zone: ZoneInfo) -> datetime | None:
    return next_due(flow.schedule, now, zone) if flow.schedule else None


def make_demo(
    sessions: sessionmaker[Session],
    library: Flows,
    now: datetime,
    *,
    people: int = 300,
    weeks: int = 12,
    seed: int = 7,
    force: bool = False,
    timezone: str = "Europe/London",
    progress: Progress | None = None,
    actor: str = "command line",
) -> DemoSummary:
    """Write a made-up cohort of `people` over the last `weeks` weeks before `now`.

    DemoRefused when the database already holds participants and `force` is false (with
    `force` the demo adds to them, with pseudonyms of its own). FlowError when the flows
    folder lacks weekly-wellbeing, neighbourhood or welcome. `progress(done, total)` is
    called as people are made up. The same seed always makes the same people and answers.
    """
    if people < 1 or weeks < 2:
        raise ValueError("the demo needs at least 1 person and 2 weeks")
    weekly, fortnightly, welcome = (library.resolve(f) for f in (WEEKLY, NEIGHBOURHOOD, WELCOME))
    zone = ZoneInfo(timezone)
    slots = demo_slots(weekly, fortnightly, now, zone, weeks)
    with transaction(sessions) as session:
        existing = session.scalar(select(func.count()).select_from(Participant)) or 0
        if existing and not force:
            raise DemoRefused(
                f"the database already holds {existing} participant(s); the demo would mix "
                "made-up people and answers with them. Point DATABASE_URL at an empty "
                "database (e.g. DATABASE_URL=sqlite:///demo.db), or add --force to add the "
                "demo cohort anyway"
            )
        rng = random.Random(seed)
        taken = set(session.scalars(select(Participant.pseudonym))) if existing else set()
        cohort = simulate(
            welcome,
            slots,
            make_people(rng, people, weeks, slots[0].due, taken),
            weeks,
            rng,
            progress,
        )
        group_ids, codes = _places(session, WEEKLY)
        for flow in (weekly, fortnightly, welcome):
            flow_versions.remember(session, flow)
        answers, messages, alerts = _write(session, cohort, group_ids, zone, now, rng)
        session.add(
            AuditEntry(
                at=now,
                actor=actor,
                action="made demo cohort",
                subject=f"{people} made-up participants, {weeks} weeks, seed {seed}",
            )
        )
    scheduled = [run for run in cohort.runs if run.scheduled_for is not None]
    per_group = {place.name: 0 for place in PLACES}
    for person in cohort.people:
        per_group[PLACES[person.place].name] += 1
    return DemoSummary(
        participants=len(cohort.people),
        groups=per_group,
        join_codes=codes,
        checkins=len(scheduled),
        completed=sum(1 for run in scheduled if run.status == "completed"),
        answers=answers,
        messages=messages,
        alerts=alerts,
        first_due=slots[0].due,
        last_due=slots[-1].due,
        flows=(WEEKLY, NEIGHBOURHOOD),
    )
