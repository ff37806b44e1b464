"""The worker drains the outbox through the real clients to the fake providers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.simulator import SimulatorSender
from bot.channels.telegram import TelegramSender
from bot.channels.twilio import TwilioSender
from bot.delivery.outbox import Recipient, enqueue_callback_answer
from bot.delivery.rate_limits import RateLimits
from bot.delivery.worker import DrainReport, Worker
from storage.database import transaction
from survey_flows.engine_values import Option, Outgoing
from tests.fakes import FakeTwilio
from tests.fakes.telegram_api import FakeTelegram
from tests.worker.conftest import (
    FakeClock,
    add_person,
    message_of,
    outbox_rows,
    queue,
    queue_outgoing,
)

PHONE = "+15551230001"
CHAT = "4242"
CHOICES = (Option("yes", "Yes"), Option("no", "No"))


def test_drains_sms_telegram_and_sim(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    twilio: FakeTwilio,
    telegram: FakeTelegram,
    sms_sender: TwilioSender,
    telegram_sender: TelegramSender,
) -> None:
    sam = add_person(sessions, "sms", PHONE)
    kim = add_person(sessions, "telegram", CHAT)
    sms_ids = queue(sessions, "sms", PHONE, ["Hello Sam", "How was your week?"], clock.now, sam)
    question = Outgoing("Did you sleep well?", "question", "sleep", CHOICES)
    tg_id = queue_outgoing(sessions, Recipient("telegram", CHAT, kim), question, clock.now)
    sim_id = queue(sessions, "sim", "sim-1", ["Hi from the simulator"], clock.now)[0]
    senders = {"sms": sms_sender, "telegram": telegram_sender, "sim": SimulatorSender()}
    worker = Worker(sessions, senders, clock=clock, sleep=clock.sleep)

    report = worker.run_once()

    assert report == DrainReport(sent=4)
    assert clock.slept == [1.0]  # the second SMS to a long code waits a second
    assert [m["body"] for m in twilio.messages] == ["Hello Sam", "How was your week?"]
    assert all(m["to"] == PHONE for m in twilio.messages)
    [sent] = telegram.sent
    assert sent["chat_id"] == int(CHAT) and sent["text"] == "Did you sleep well?"
    keyboard = sent["reply_markup"]["inline_keyboard"]
    assert [[b["text"], b["callback_data"]] for row in keyboard for b in row] == [
        ["Yes", "yes"],
        ["No", "no"],
    ]
    rows = outbox_rows(sessions)
    sids = [m["sid"] for m in twilio.messages]
    assert [rows[i].provider_id for i in sms_ids] == sids
    assert rows[tg_id].provider_id == f"{CHAT}:{sent['message']['message_id']}"
    assert rows[sim_id].provider_id.startswith("sim-")
    for item in rows.values():
        assert item.status == "sent" and item.attempts == 1 and item.sent_at is not None
        message = message_of(sessions, item.id)
        assert message.status == "sent" and message.provider_id == item.provider_id


def test_nothing_due_means_nothing_sent(
    sessions: sessionmaker[Session], clock: FakeClock, twilio: FakeTwilio, sms_sender: TwilioSender
) -> None:
    with transaction(sessions) as session:
        from bot.delivery.outbox import enqueue_text

        later = clock.now + timedelta(hours=1)
        enqueue_text(session, Recipient("sms", PHONE), "Later", now=clock.now, not_before=later)
    worker = Worker(sessions, {"sms": sms_sender}, clock=clock, sleep=clock.sleep)
    assert worker.run_once() == DrainReport()
    clock.advance(3600)
    assert worker.run_once() == DrainReport(sent=1)
    assert len(twilio.messages) == 1


def test_rows_without_a_sender_stay_queued(
    sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    [tg] = queue(sessions, "telegram", CHAT, ["Hi"], clock.now)
    [sim] = queue(sessions, "sim", "s1", ["Hi"], clock.now)
    worker = Worker(sessions, {"sim": SimulatorSender()}, clock=clock, sleep=clock.sleep)
    assert worker.run_once() == DrainReport(sent=1)
    rows = outbox_rows(sessions)
    assert rows[tg].status == "queued" and rows[sim].status == "sent"


def test_callback_answers_call_answer_callback_query(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    telegram: FakeTelegram,
    telegram_sender: TelegramSender,
) -> None:
    with transaction(sessions) as session:
        first = enqueue_callback_answer(session, "cbq-1", CHAT, clock.now)
        session.flush()
        first_id = first.id
    # A message queued before the press does not hold the answer up, nor the other way.
    queue(sessions, "telegram", CHAT, ["Next question"], clock.now)
    worker = Worker(sessions, {"telegram": telegram_sender}, clock=clock, sleep=clock.sleep)

    assert worker.run_once() == DrainReport(sent=2)

    [answer] = telegram.callback_answers
    assert answer["callback_query_id"] == "cbq-1"
    assert [s["text"] for s in telegram.sent] == ["Next question"]
    assert outbox_rows(sessions)[first_id].status == "sent"


def test_expired_callback_answer_fails_without_retry(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    telegram: FakeTelegram,
    telegram_sender: TelegramSender,
) -> None:
    telegram.fail_next(1, 400, message="Bad Request: query is too old", only="answerCallbackQuery")
    with transaction(sessions) as session:
        item = enqueue_callback_answer(session, "cbq-old", CHAT, clock.now)
        session.flush()
        item_id = item.id
    worker = Worker(sessions, {"telegram": telegram_sender}, clock=clock, sleep=clock.sleep)
    assert worker.run_once() == DrainReport(failed=1)
    assert outbox_rows(sessions)[item_id].status == "failed"


def test_simulator_sender_accepts_everything() -> None:
    from bot.channels.base import OutboundMessage, Sender

    sender = SimulatorSender()
    assert isinstance(sender, Sender)
    message = OutboundMessage("sim", "s1", "Hi")
    first, second = sender.send(message), sender.send(message)
    assert first.provider_id.startswith("sim-") and first != second
    assert sender.find_sent(message, since=FakeClock().now) is None
    sender.close()


def test_unlimited_worker_never_sleeps(sessions: sessionmaker[Session], clock: FakeClock) -> None:
    queue(sessions, "sim", "s1", [f"m{i}" for i in range(5)], clock.now)
    worker = Worker(
        sessions,
        {"sim": SimulatorSender()},
        clock=clock,
        sleep=clock.sleep,
        limits=RateLimits.unlimited(),
    )
    assert worker.run_once().sent == 5
    assert clock.slept == []
