"""Joining: a message from an unknown number. JOIN CODE (or Telegram's /start CODE) makes
them a participant of that group and sends the welcome flow; anything else gets one hint a
day on how to join, and STOP stops even the hints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.channels.base import InboundMessage
from bot.checkins.starting import start_checkin
from bot.delivery.outbox import Recipient, enqueue_text
from bot.settings import Settings
from storage.flow_versions import Flows
from storage.models import ChannelAddress, Group, Message, Participant, UnknownSender
from survey_flows.keywords import Keyword, classify, join_code, telegram_start_code
from survey_flows.languages import system_text
from survey_flows.model import JOINING_FLOW

HINT_INTERVAL = timedelta(days=1)
# An unknown sender who said STOP is never sent join instructions again.
NEVER = datetime(9999, 1, 1, tzinfo=UTC)


def join_or_hint(
    session: Session,
    inbound: InboundMessage,
    to: Recipient,
    now: datetime,
    library: Flows,
    settings: Settings,
) -> tuple[Participant | None, int]:
    """Handle a message from an unknown sender: the new participant (None when nobody
    joined) and how many messages were queued."""
    code = join_code(inbound.text) or telegram_start_code(inbound.text)
    group = (
        session.scalars(select(Group).where(Group.join_code == code.upper())).one_or_none()
        if code
        else None
    )
    if group is not None:
        participant = Participant(
            group_id=group.id, name=inbound.display_name, created_at=now, opted_out=False
        )
        session.add(participant)
        session.flush()
        session.add(
            ChannelAddress(
                participant_id=participant.id, channel=inbound.channel, address=inbound.address
            )
        )
        session.execute(
            update(Message)
            .where(Message.channel == inbound.channel, Message.address == inbound.address)
            .where(Message.participant_id.is_(None))
            .values(participant_id=participant.id)
        )
        checkin = start_checkin(
            session,
            participant,
            library.resolve(JOINING_FLOW),  # its `sets: consent` step decides: flows check
            now,
            settings,
            hold_for_quiet_hours=False,
            recipient=Recipient(inbound.channel, inbound.address, participant.id),
        )
        return participant, int(checkin is not None)
    sender = session.get(UnknownSender, (inbound.channel, inbound.address))
    if classify(inbound.text) is Keyword.STOP:
        _remember_hint(session, sender, inbound, NEVER)
        return None, 0
    if sender is not None and sender.last_hint_at > now - HINT_INTERVAL:
        return None, 0
    _remember_hint(session, sender, inbound, now)
    enqueue_text(session, to, system_text("join_hint", None), now=now)
    return None, 1


def _remember_hint(
    session: Session, sender: UnknownSender | None, inbound: InboundMessage, at: datetime
) -> None:
    if sender is None:
        session.add(
            UnknownSender(channel=inbound.channel, address=inbound.address, last_hint_at=at)
        )
    elif sender.last_hint_at != NEVER:
        sender.last_hint_at = at
