"""How to reach a participant: the address on the channel asked for, else the first of
Telegram, WhatsApp, SMS and the simulator they have."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.delivery.outbox import Recipient
from storage.bulk import among
from storage.models import ChannelAddress, Participant

CHANNEL_PREFERENCE = ("telegram", "whatsapp", "sms", "sim")


def preferred_recipient(
    session: Session, participant: Participant, channel: str | None = None
) -> Recipient | None:
    """How to reach a participant: `channel` if they have it, else Telegram, WhatsApp, SMS,
    simulator."""
    found = addresses_of(session, [participant.id]).get(participant.id, {})
    return pick_recipient(participant.id, found, channel)


def addresses_of(session: Session, participant_ids: list[int]) -> dict[int, dict[str, str]]:
    """Each participant's addresses by channel."""
    found: dict[int, dict[str, str]] = {}
    rows = session.execute(
        select(ChannelAddress.participant_id, ChannelAddress.channel, ChannelAddress.address).where(
            among(session, ChannelAddress.participant_id, participant_ids)
        )
    )
    for participant_id, channel, address in rows:
        found.setdefault(participant_id, {})[channel] = address
    return found


def pick_recipient(
    participant_id: int, addresses: dict[str, str], channel: str | None = None
) -> Recipient | None:
    """The recipient on `channel` if among `addresses`, else by `CHANNEL_PREFERENCE`."""
    for choice in (channel, *CHANNEL_PREFERENCE):
        if choice and choice in addresses:
            return Recipient(choice, addresses[choice], participant_id)
    return None
