"""Telegram long polling against the fake Bot API with the real python-telegram-bot client:
updates are stored once, button presses answered, and nothing is lost while the database
is away."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import InboundMessage
from bot.channels.telegram import TelegramSettings
from bot.checkins import inbound as inbound_module
from bot.checkins.receiving import Received
from bot.delivery.telegram_polling import TelegramPoller
from bot.settings import Settings
from storage.database import transaction
from storage.models import ChannelAddress, Enrolment, OutboxItem
from tests.fakes import FakeTelegram, telegram_callback_update, telegram_text_update
from tests.web.conftest import (
    CHAT_ID,
    Clock,
    add_group,
    add_participant,
    answers,
    counts,
    start_flow,
)

WAIT = 15


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def handled() -> queue.Queue[tuple[InboundMessage, Received]]:
    return queue.Queue()


@pytest.fixture
def poller(
    fake: FakeTelegram,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: Clock,
    handled: queue.Queue[tuple[InboundMessage, Received]],
) -> Iterator[TelegramPoller]:
    poller = TelegramPoller(
        sessions,
        TelegramSettings(token=fake.token, api_url=fake.base_url),
        settings,
        clock=clock,
        poll_timeout=5,
        on_handled=lambda inbound, received: handled.put((inbound, received)),
    )
    stop = threading.Event()
    thread = threading.Thread(target=poller.run, args=(stop,), daemon=True)
    thread.start()
    fake.wait_for_pollers(1)
    try:
        yield poller
    finally:
        stop.set()
        thread.join(timeout=WAIT)
        assert not thread.is_alive(), "the poller did not stop"


def _next(handled: queue.Queue[tuple[InboundMessage, Received]]) -> tuple[Any, Received]:
    return handled.get(timeout=WAIT)


def test_text_is_handled_once(
    poller: TelegramPoller,
    fake: FakeTelegram,
    sessions: sessionmaker[Session],
    settings: Settings,
    handled: queue.Queue[tuple[InboundMessage, Received]],
) -> None:
    participant = add_participant(sessions, channel="telegram", address=str(CHAT_ID))
    start_flow(sessions, participant, "weekly-wellbeing", settings)

    fake.push_update(telegram_text_update(101, CHAT_ID, "6"))
    inbound, received = _next(handled)

    assert (inbound.provider_id, received.duplicate, received.messages) == ("101", False, 1)
    assert answers(sessions, participant) == {"life_satisfaction": 6}


def test_start_code_joins_and_the_welcome_flow_enrols(
    poller: TelegramPoller,
    fake: FakeTelegram,
    sessions: sessionmaker[Session],
    handled: queue.Queue[tuple[InboundMessage, Received]],
) -> None:
    add_group(sessions)

    fake.push_update(telegram_text_update(1, CHAT_ID, "/start ELM"))
    fake.push_update(telegram_text_update(2, CHAT_ID, "yes"))
    fake.push_update(telegram_text_update(3, CHAT_ID, "Robin"))
    joined = [_next(handled)[1].joined for _ in range(3)]

    assert joined == [True, False, False]
    with transaction(sessions, readonly=True) as session:
        address = session.scalars(select(ChannelAddress)).one()
        enrolment = session.scalars(select(Enrolment)).one()
    assert address.address == str(CHAT_ID)
    assert enrolment.participant_id == address.participant_id


def test_button_press_is_recorded_and_its_answer_queued(
    poller: TelegramPoller,
    fake: FakeTelegram,
    sessions: sessionmaker[Session],
    settings: Settings,
    handled: queue.Queue[tuple[InboundMessage, Received]],
) -> None:
    participant = add_participant(sessions, channel="telegram", address=str(CHAT_ID))
    start_flow(sessions, participant, "neighbourhood", settings)

    fake.push_update(telegram_callback_update(7, CHAT_ID, "very_safe", 1, callback_id="cb-7"))
    inbound, _ = _next(handled)

    assert inbound.callback_query_id == "cb-7"
    assert answers(sessions, participant) == {"safe": "very_safe"}
    with transaction(sessions, readonly=True) as session:
        kinds = list(session.scalars(select(OutboxItem.kind).order_by(OutboxItem.id)))
    assert kinds.count("callback_answer") == 1


def test_an_update_waits_for_the_database_and_is_not_lost(
    poller: TelegramPoller,
    fake: FakeTelegram,
    sessions: sessionmaker[Session],
    settings: Settings,
    handled: queue.Queue[tuple[InboundMessage, Received]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    participant = add_participant(sessions, channel="telegram", address=str(CHAT_ID))
    start_flow(sessions, participant, "weekly-wellbeing", settings)
    before = counts(sessions)
    real = inbound_module.receive
    outage = {"left": 1}

    def flaky(*args: Any) -> Received:
        if outage["left"]:
            outage["left"] -= 1
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return real(*args)

    monkeypatch.setattr(inbound_module, "receive", flaky)
    fake.push_update(telegram_text_update(201, CHAT_ID, "9"))
    fake.push_update(telegram_text_update(202, CHAT_ID, "8"))
    first, second = _next(handled), _next(handled)

    assert [first[0].provider_id, second[0].provider_id] == ["201", "202"]
    assert answers(sessions, participant) == {"life_satisfaction": 9, "worthwhile": 8}
    assert counts(sessions)["messages"] == before["messages"] + 4  # 2 in, 2 replies
