"""Waking a check-in whose timer fell due: a reminder, or its expiry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.checkins.engine_context import engine_participant
from bot.checkins.outcomes import apply
from bot.checkins.recipients import preferred_recipient
from bot.delivery.outbox import Recipient, checkin_opening
from bot.schedule.time_zones import held_until
from bot.settings import Settings
from storage import flow_versions
from storage.checkin_rows import OpenCheckin, PersonRow
from storage.flow_versions import Flows
from storage.models import Checkin, Participant
from survey_flows import engine
from survey_flows.engine_values import Conversation, Event, Outcome, ReminderDue


def wake_checkin(
    session: Session, checkin: Checkin, now: datetime, settings: Settings, library: Flows
) -> Event | None:
    """Fire the check-in's due timer (a reminder or expiry); returns the event it fired."""
    flow = flow_versions.load(session, checkin.flow_version)
    state = Conversation.from_json(checkin.state)
    event = engine.due_event(flow, state, now)
    if event is None:
        timer = engine.next_timer(flow, state)
        checkin.next_timer_at = timer[0] if timer else None
        return None
    participant = session.get_one(Participant, checkin.participant_id)
    to = preferred_recipient(session, participant, checkin.channel)
    outcome = engine.advance(
        flow, state, event, engine_participant(session, participant, flow), now
    )
    if to is None or participant.opted_out:
        # Nobody to tell: only the state (and its next timer) changes.
        outcome = Outcome(state=outcome.state, next_timer_at=outcome.next_timer_at)
        to = to or Recipient(checkin.channel, "", participant.id)
    apply(
        session,
        OpenCheckin.of(checkin),
        PersonRow.of(participant),
        flow,
        outcome,
        to,
        now,
        not_before=held_until(participant, now, settings),
        library=library,
        # On WhatsApp outside the window a reminder is the reminder template; an expiry
        # notice is only held (and dropped when the person next writes).
        opening=checkin_opening(participant.name, flow.title, reminder=True)
        if isinstance(event, ReminderDue)
        else None,
    )
    return event
