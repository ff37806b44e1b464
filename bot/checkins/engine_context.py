"""What the engine is told: of a person (no numbers, no database ids) and of a channel."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from bot.channels import telegram, twilio, whatsapp
from storage.checkin_rows import previous_answers
from storage.models import Participant
from survey_flows.engine_values import ChannelTraits
from survey_flows.engine_values import Participant as EngineParticipant
from survey_flows.model import Flow

# The simulator shows buttons as Telegram does (outbox.BUTTON_CHANNELS), so the same traits.
CHANNEL_TRAITS = {
    "sms": twilio.TRAITS,
    "whatsapp": whatsapp.TRAITS,
    "telegram": telegram.TRAITS,
    "sim": ChannelTraits(buttons=True),
}
# What the engine and the calendar need to know of a participant (see `engine_participant`).
PERSON_COLUMNS = (
    Participant.id,
    Participant.pseudonym,
    Participant.name,
    Participant.language,
    Participant.timezone,
    Participant.opted_out,
    Participant.forgotten_at,
)


def channel_traits(channel: str) -> ChannelTraits:
    """What the channel does by itself (Twilio answers STOP on its own)."""
    return CHANNEL_TRAITS.get(channel, ChannelTraits())


@lru_cache(maxsize=256)
def _uses_previous(source_text: str) -> bool:
    """Whether a flow's text reads last time's answers (once per flow, not per person: a
    clock tick asks for every one of a million people)."""
    return "previous." in source_text


def engine_participant(session: Session, participant: Any, flow: Flow | None) -> EngineParticipant:
    """What the engine may know of a person; `previous` answers only when the flow uses them.

    `participant`: an ORM object, or a row with (at least) `id` and the four used here.
    """
    wanted = flow is not None and _uses_previous(flow.source_text)
    return EngineParticipant(
        id=participant.pseudonym,
        name=participant.name,
        language=participant.language,
        opted_out=participant.opted_out,
        previous=previous_answers(session.connection(), participant.id, flow.id)
        if flow is not None and wanted
        else {},
    )
