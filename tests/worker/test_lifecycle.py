"""Running until stopped, handing back unsent rows, and choosing senders from the environment."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import OutboundMessage, SendResult
from bot.channels.simulator import SimulatorSender
from bot.channels.telegram import TelegramSender
from bot.channels.twilio import TwilioSender
from bot.delivery.senders import senders_from_env
from bot.delivery.worker import DrainReport, Worker
from tests.worker.conftest import FakeClock, outbox_rows, queue


def test_run_forever_sends_new_rows_and_stops_promptly(
    sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    sent = threading.Event()

    class Signalling(SimulatorSender):
        def send(self, message: OutboundMessage) -> SendResult:
            sent.set()
            return super().send(message)

    worker = Worker(sessions, {"sim": Signalling()}, clock=clock, sleep=clock.sleep)
    stop = threading.Event()
    totals: list[DrainReport] = []
    thread = threading.Thread(target=lambda: totals.append(worker.run_forever(stop, poll=0.02)))
    thread.start()
    try:
        queue(sessions, "sim", "s1", ["hello"], clock.now)
        assert sent.wait(10)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert totals == [DrainReport(sent=1)]


def test_stop_mid_batch_finishes_the_current_send_and_hands_back_the_rest(
    sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    ids = [queue(sessions, "sim", f"s{n}", ["hi"], clock.now)[0] for n in range(5)]
    stop = threading.Event()

    class StopsAfterOne(SimulatorSender):
        def send(self, message: OutboundMessage) -> SendResult:
            stop.set()  # SIGTERM arrives while the first send is in flight
            return super().send(message)

    worker = Worker(sessions, {"sim": StopsAfterOne()}, clock=clock, sleep=clock.sleep)
    assert worker.run_once(stop) == DrainReport(sent=1)
    rows = outbox_rows(sessions)
    assert rows[ids[0]].status == "sent"
    for item_id in ids[1:]:
        row = rows[item_id]
        assert (row.status, row.attempts, row.claimed_by) == ("queued", 0, None)
    # Handed back, not leased: another worker takes them at once.
    other = Worker(sessions, {"sim": SimulatorSender()}, clock=clock, sleep=clock.sleep)
    assert other.run_once() == DrainReport(sent=4)


def test_senders_from_env() -> None:
    assert set(senders_from_env({})) == {"sim"}
    env = {
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "secret",
        "TWILIO_FROM": "+15557650000",
        "TELEGRAM_BOT_TOKEN": "123:ABC",
    }
    senders = senders_from_env(env)
    try:
        assert set(senders) == {"sms", "telegram", "sim"}
        assert isinstance(senders["sms"], TwilioSender)
        assert isinstance(senders["telegram"], TelegramSender)
        assert all(name == sender.channel for name, sender in senders.items())
    finally:
        for sender in senders.values():
            sender.close()


def test_client_request_logs_with_numbers_stay_quiet(
    sessions: sessionmaker[Session], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """twilio logs each request's query string at INFO (To=+1555... when looking for a
    lost send); the worker's senders keep that logger at WARNING."""
    from bot.channels.twilio import TwilioSettings
    from bot.delivery import outbox
    from storage.database import transaction
    from tests.fakes import FakeTwilio
    from tests.worker.conftest import twilio_settings

    phone = "+15551230009"
    logging.getLogger("twilio.http_client").setLevel(logging.NOTSET)
    caplog.set_level(logging.INFO)
    with FakeTwilio() as fake:
        settings = twilio_settings(fake)
        env = {
            "TWILIO_ACCOUNT_SID": settings.account_sid,
            "TWILIO_AUTH_TOKEN": settings.auth_token,
            "TWILIO_FROM": settings.from_number or "",
            "TWILIO_API_URL": fake.base_url,
        }
        assert TwilioSettings.from_env(env).configured
        senders = senders_from_env(env)
        try:
            queue(sessions, "sms", phone, ["Private words"], clock.now)
            with transaction(sessions) as session:  # a worker died mid-send
                outbox.claim(session, "doomed", clock.now)
            clock.advance(61)
            worker = Worker(sessions, senders, clock=clock, sleep=clock.sleep)
            assert worker.run_once().sent == 1
        finally:
            for sender in senders.values():
                sender.close()
    assert "+1555" not in caplog.text and "%2B1555" not in caplog.text
    assert "Private" not in caplog.text
