"""Starting check-ins: one (a joiner's welcome, a staff member's button) or many at once
(the clock's due check-ins, `groundswell start`), in a handful of bulk statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.checkins.engine_context import PERSON_COLUMNS, channel_traits, engine_participant
from bot.checkins.recipients import addresses_of, pick_recipient
from bot.delivery.outbox import Recipient, checkin_opening, enqueue_many, for_channel
from bot.schedule.time_zones import held_until
from bot.settings import Settings
from storage import flow_versions
from storage.bulk import among, insert_many
from storage.models import Checkin, Participant, table_of
from survey_flows import engine
from survey_flows.engine_values import Start
from survey_flows.model import Flow


@dataclass(frozen=True)
class StartRequest:
    """A check-in to start: whose, which flow, and (for scheduled ones) which due time."""

    participant_id: int
    flow: Flow
    enrolment_id: int | None = None
    scheduled_for: datetime | None = None
    recipient: Recipient | None = None


def start_checkin(
    session: Session,
    participant: Participant,
    flow: Flow,
    now: datetime,
    settings: Settings,
    *,
    hold_for_quiet_hours: bool = True,
    recipient: Recipient | None = None,
) -> Checkin | None:
    """Start one check-in now (see `start_checkins`); None when it could not start."""
    request = StartRequest(participant.id, flow, recipient=recipient)
    started = start_checkins(
        session, [request], now, settings, hold_for_quiet_hours=hold_for_quiet_hours
    )
    return session.get(Checkin, started[0]) if started else None


def start_checkins(
    session: Session,
    requests: list[StartRequest],
    now: datetime,
    settings: Settings,
    *,
    hold_for_quiet_hours: bool = True,
) -> list[int]:
    """Start many check-ins in a handful of bulk statements; returns the new check-in ids.

    Any check-in still open for these participants closes as `superseded` (incomplete), so
    two flows never interleave in one conversation. Opted-out or forgotten participants and
    those with no address are passed over. Inside quiet hours the check-in starts, and its
    clock runs, from the moment quiet hours end, so a reminder can never overtake it.
    """
    ids = list({r.participant_id for r in requests})
    # Plain rows, not ORM objects: loading 100,000 entities costs more than the inserts.
    people = {
        p.id: p
        for p in session.execute(
            select(*PERSON_COLUMNS).where(
                among(session, Participant.id, ids),
                Participant.opted_out.is_(False),
                Participant.forgotten_at.is_(None),
            )
        )
    }
    addresses = addresses_of(session, list(people))
    session.execute(
        update(Checkin)
        .where(among(session, Checkin.participant_id, list(people)), Checkin.status == "active")
        .values(status="superseded", finished_at=now, next_timer_at=None)
        .execution_options(synchronize_session=False)
    )
    for flow in {r.flow.version: r.flow for r in requests}.values():
        flow_versions.remember(session, flow)
    rows, outcomes = [], []
    for request in requests:
        person = people.get(request.participant_id)
        to = request.recipient or (
            person and pick_recipient(person.id, addresses.get(person.id, {}))
        )
        if person is None or to is None:
            continue
        begins = held_until(person, now, settings) if hold_for_quiet_hours else now
        flow = request.flow
        outcome = engine.advance(
            flow,
            engine.new_conversation(flow),
            Start(),
            engine_participant(session, person, flow),
            begins,
            channel_traits(to.channel),
        )
        rows.append(
            {
                "participant_id": person.id,
                "enrolment_id": request.enrolment_id,
                "flow_id": flow.id,
                "flow_version": flow.version,
                "channel": to.channel,
                "status": outcome.state.status,
                "state": outcome.state.to_json(),
                "started_at": begins,
                "scheduled_for": request.scheduled_for,
                "next_timer_at": outcome.next_timer_at,
                "reminders_sent": 0,
                "finished_at": None if outcome.state.open else begins,
            }
        )
        outcomes.append((to, outcome, begins, checkin_opening(person.name, flow.title)))
    if not rows:
        return []
    checkin_ids = insert_many(session, table_of(Checkin), rows)
    # On WhatsApp outside the person's window only the check-in template goes; the
    # messages wait for their reply (bot.delivery.whatsapp_window).
    sends = [
        for_channel(to, message, begins, checkin_id, opens)
        for checkin_id, (to, outcome, begins, opens) in zip(checkin_ids, outcomes, strict=True)
        for message in outcome.messages
    ]
    enqueue_many(session, sends, now=now)
    return checkin_ids
