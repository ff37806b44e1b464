"""Receiving one inbound message: record it once, then answer the open check-in, let a
stranger join, or handle STOP/START/HELP outside a check-in.

The usual case (a resident answering their open check-in) runs on prepared Core
statements over typed rows (`storage.checkin_rows`): building statements and flushing
ORM objects cost ten times what the engine does. The rarer paths (joining, opting out,
alerts, consent) load ORM objects as they need them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from bot.channels.base import InboundMessage
from bot.checkins.engine_context import channel_traits, engine_participant
from bot.checkins.outcomes import apply, apply_to_person
from bot.delivery import whatsapp_window
from bot.delivery.outbox import Recipient, enqueue, enqueue_edit_buttons
from bot.people.joining import join_or_hint
from bot.settings import Settings
from storage import flow_versions
from storage.checkin_rows import sender_and_open_checkin
from storage.flow_versions import Flows
from storage.messages import BUTTON_PREFIX, record_inbound_id
from survey_flows import engine
from survey_flows.engine_values import Conversation, Outcome, Reply
from survey_flows.keywords import Keyword, classify


@dataclass(frozen=True)
class Received:
    """What handling one inbound message did (for logs, tests and the simulator)."""

    duplicate: bool = False
    participant: str | None = None  # pseudonym
    joined: bool = False
    messages: int = 0


def receive(
    session: Session,
    inbound: InboundMessage,
    now: datetime,
    library: Flows,
    settings: Settings,
) -> Received:
    """Handle one inbound message exactly once, whatever the provider redelivers.

    The participant's row is locked first, so two messages from one person are handled
    one after the other; then the message is recorded, where a redelivery stops.
    """
    session.flush()  # Core statements follow: they must see the caller's pending changes
    connection = session.connection()
    person, checkin = sender_and_open_checkin(connection, inbound.channel, inbound.address)
    record_id = record_inbound_id(
        connection,
        channel=inbound.channel,
        provider_id=inbound.provider_id or None,
        address=inbound.address,
        body=inbound.text if not inbound.button else BUTTON_PREFIX + inbound.button,
        participant_id=person.id if person else None,
        created_at=now,
        checkin_id=checkin.id if checkin else None,
    )
    if record_id is None:
        return Received(duplicate=True)
    opened: set[int] = set()
    if inbound.channel == whatsapp_window.CHANNEL:
        whatsapp_window.record_inbound(session, inbound.address, now)
        opened = whatsapp_window.release_held(session, inbound.address, now)
    to = Recipient(inbound.channel, inbound.address, person.id if person else None)
    if person is None:
        joined, sent = join_or_hint(session, inbound, to, now, library, settings)
        if joined is None:
            return Received(messages=sent)
        return Received(participant=joined.pseudonym, joined=True, messages=sent)

    event = Reply(text=inbound.text, button=inbound.button)
    traits = channel_traits(inbound.channel)
    if checkin is None:
        context = engine_participant(session, person, None)
        outcome = engine.reply_without_checkin(event, context, now, traits)
        apply_to_person(session, person, outcome, now, library)
        for message in outcome.messages:
            enqueue(session, to, message, now=now)
        return Received(participant=person.pseudonym, messages=len(outcome.messages))
    if checkin.id in opened and classify(inbound.text) is not Keyword.STOP:
        # The reply to the WhatsApp template opens the check-in: its held first question
        # goes now, and this message (any text, or the template's button) is no answer.
        return Received(participant=person.pseudonym, messages=0)
    flow = flow_versions.load(session, checkin.flow_version)
    outcome = engine.advance(
        flow,
        Conversation.from_json(checkin.state),
        event,
        engine_participant(session, person, flow),
        now,
        traits,
    )
    outcome = _tick_in_place(session, inbound, outcome, now)
    # A reply to the resident's own message goes at once, quiet hours or not.
    sent = apply(
        session,
        checkin,
        person,
        flow,
        outcome,
        to,
        now,
        not_before=now,
        library=library,
        message_id=record_id,
    )
    return Received(participant=person.pseudonym, messages=sent)


def _tick_in_place(
    session: Session, inbound: InboundMessage, outcome: Outcome, now: datetime
) -> Outcome:
    """On Telegram, a multiple choice's toggle press edits the pressed message's buttons
    (their ticks) instead of sending the question again; the rest of the outcome is kept."""
    if inbound.channel != "telegram" or inbound.callback_message_id is None:
        return outcome
    kept = []
    for message in outcome.messages:
        if message.updates_pressed:
            enqueue_edit_buttons(
                session, inbound.address, inbound.callback_message_id, message, now
            )
        else:
            kept.append(message)
    return replace(outcome, messages=tuple(kept))
