"""STOP while a message to the resident is already claimed by a worker.

The fault week found that an opt-out used to cancel only the rows still `queued`: a row a
worker had claimed (`sending`) survived it and was sent after the STOP, either because
the worker was about to send it, or because its attempt failed in a way that might have
delivered it (a timeout) and the retry went out minutes later. Telegram is where this
reached the resident: Twilio refuses sends to a number that texted STOP (error 21610),
Telegram does not. Now a STOP cancels claimed rows too and the worker checks it still
holds a row just before sending it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import InboundMessage
from bot.channels.telegram import TelegramSender, TelegramSettings
from bot.checkins.inbound import handle
from bot.delivery.outbox import Recipient, enqueue_text
from bot.delivery.rate_limits import RateLimits
from bot.delivery.worker import Worker
from bot.settings import Settings
from storage.database import transaction
from storage.models import ChannelAddress, OutboxItem, Participant
from survey_flows.checks.folder import FlowLibrary
from survey_flows.languages import system_text
from tests.fakes.telegram_api import FakeTelegram

CHAT = "4242"
OPTED_OUT = system_text("opted_out", None)


class Clock:
    """Aware UTC time that moves only when told to (or when the worker sleeps)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def _resident(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as session:
        person = Participant(name="Sam", opted_out=False)
        session.add(person)
        session.flush()
        session.add(ChannelAddress(participant_id=person.id, channel="telegram", address=CHAT))
        return person.id


def _queue(sessions: sessionmaker[Session], person: int, texts: list[str], now: datetime) -> None:
    with transaction(sessions) as session:
        for text in texts:
            enqueue_text(session, Recipient("telegram", CHAT, person), text, now=now)


def _stop(sessions: sessionmaker[Session]) -> None:
    """The resident texts STOP; the webhook handles it (committed when this returns)."""
    handle(
        sessions,
        InboundMessage("telegram", CHAT, "STOP", provider_id="900001"),
        library=FlowLibrary(),
        settings=Settings(),
        clock=lambda: datetime.now(UTC),
    )


def _after(telegram: FakeTelegram, count_before: int) -> list[str]:
    """Texts sent to the chat after the first `count_before`, bar the opt-out confirmation."""
    texts = [m["text"] for m in telegram.sent if str(m["chat_id"]) == CHAT]
    return [text for text in texts[count_before:] if text != OPTED_OUT]


def _opted_out(sessions: sessionmaker[Session], person: int) -> bool:
    with transaction(sessions, readonly=True) as session:
        return bool(session.scalar(select(Participant.opted_out).where(Participant.id == person)))


def test_a_claimed_message_is_not_sent_after_stop(
    sessions: sessionmaker[Session], telegram: FakeTelegram
) -> None:
    """Telegram's one message a second per chat: the question waits, claimed, behind the
    intro; the resident answers the intro with STOP during that second."""
    person = _resident(sessions)
    clock = Clock()
    _queue(sessions, person, ["Hi Sam, your check-in. Reply STOP to stop.", "Question 1?"], clock())
    seen: list[int] = []

    def sleep(seconds: float) -> None:  # the worker waits for the chat's rate limit
        if not seen:
            seen.append(len(telegram.sent))
            _stop(sessions)
        clock.advance(seconds)

    with TelegramSender(TelegramSettings(token=telegram.token, api_url=telegram.base_url)) as s:
        worker = Worker(
            sessions,
            {"telegram": s},
            clock=clock,
            sleep=sleep,
            limits=RateLimits(sms=0, telegram=0, telegram_chat=1),
        )
        worker.run_once()
        clock.advance(5)
        worker.run_once()

    assert seen, "the worker never waited for the chat's rate limit"
    assert _opted_out(sessions, person)
    assert _after(telegram, seen[0]) == []


def test_a_send_in_doubt_is_not_retried_after_stop(
    sessions: sessionmaker[Session], telegram: FakeTelegram
) -> None:
    """The provider takes the question but answers too late; the resident has it and
    texts STOP; the worker's timed-out attempt must not be retried after that."""
    person = _resident(sessions)
    clock = Clock()
    _queue(sessions, person, ["Question 1?"], clock())
    telegram.hang_next(1, 3.0, accepted=True, only="sendMessage")
    stopped = threading.Event()

    def resident() -> None:
        telegram.wait_for_sent(1, timeout=30)  # the question reached the phone
        _stop(sessions)
        stopped.set()

    settings = TelegramSettings(token=telegram.token, api_url=telegram.base_url)
    with TelegramSender(settings, timeout=1.0) as sender:
        worker = Worker(sessions, {"telegram": sender}, clock=clock, limits=RateLimits.unlimited())
        thread = threading.Thread(target=resident)
        thread.start()
        worker.run_once()  # times out: the outcome is unknown
        thread.join(timeout=30)
        assert stopped.is_set()
        clock.advance(60)  # past the retry's backoff
        worker.run_once()

    assert _opted_out(sessions, person)
    with transaction(sessions, readonly=True) as session:
        statuses = list(session.scalars(select(OutboxItem.status).order_by(OutboxItem.id)))
    assert _after(telegram, 1) == [], statuses
