"""Shared pieces for the worker tests: a fake clock, the fake providers, seeded rows.

The clock starts a few minutes before the real time: Twilio's `find_sent` compares our
`created_at` with the fake's real `date_created`, so ours must not lie in the future.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram import TelegramSender, TelegramSettings
from bot.channels.twilio import TwilioSender, TwilioSettings
from bot.delivery.outbox import Recipient, enqueue, enqueue_text
from storage.database import transaction
from storage.models import ChannelAddress, Message, OutboxItem, Participant
from survey_flows.engine_values import Outgoing
from tests.fakes import FakeTwilio
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

FROM_NUMBER = "+15557650000"


class FakeClock:
    """Aware UTC time that moves only when told to (or when the worker sleeps)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def twilio_settings(fake: FakeTwilio) -> TwilioSettings:
    return TwilioSettings(
        account_sid=DEFAULT_ACCOUNT_SID,
        auth_token=DEFAULT_AUTH_TOKEN,
        from_number=FROM_NUMBER,
        api_url=fake.base_url,
    )


@pytest.fixture
def sms_sender(twilio: FakeTwilio) -> Iterator[TwilioSender]:
    sender = TwilioSender(twilio_settings(twilio), timeout=5)
    yield sender
    sender.close()


@pytest.fixture
def telegram_sender(telegram: FakeTelegram) -> Iterator[TelegramSender]:
    with TelegramSender(TelegramSettings(token=telegram.token, api_url=telegram.base_url)) as s:
        yield s


def add_person(sessions: sessionmaker[Session], channel: str, address: str) -> int:
    """A participant reachable at (channel, address); returns the id."""
    with transaction(sessions) as session:
        person = Participant(name="Sam")
        session.add(person)
        session.flush()
        session.add(ChannelAddress(participant_id=person.id, channel=channel, address=address))
        return person.id


def queue(
    sessions: sessionmaker[Session],
    channel: str,
    address: str,
    texts: list[str],
    now: datetime,
    participant_id: int | None = None,
) -> list[int]:
    """Queue plain texts to one address; returns the outbox ids in order."""
    with transaction(sessions) as session:
        before = _last_id(session)
        to = Recipient(channel, address, participant_id)
        for text in texts:
            enqueue_text(session, to, text, now=now)
        return _ids_after(session, before)


def queue_outgoing(
    sessions: sessionmaker[Session], to: Recipient, message: Outgoing, now: datetime
) -> int:
    """Queue an engine message (buttons on Telegram); returns its outbox id."""
    with transaction(sessions) as session:
        before = _last_id(session)
        enqueue(session, to, message, now=now)
        [item_id] = _ids_after(session, before)
        return item_id


def _last_id(session: Session) -> int:
    return session.scalar(select(func.max(OutboxItem.id))) or 0


def _ids_after(session: Session, before: int) -> list[int]:
    return list(
        session.scalars(select(OutboxItem.id).where(OutboxItem.id > before).order_by(OutboxItem.id))
    )


def outbox_rows(sessions: sessionmaker[Session]) -> dict[int, OutboxItem]:
    with transaction(sessions, readonly=True) as session:
        return {item.id: item for item in session.scalars(select(OutboxItem))}


def message_of(sessions: sessionmaker[Session], outbox_id: int) -> Message:
    with transaction(sessions, readonly=True) as session:
        item = session.get(OutboxItem, outbox_id)
        assert item is not None and item.message_id is not None
        message = session.get(Message, item.message_id)
        assert message is not None
        return message
