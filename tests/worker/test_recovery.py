"""A worker killed mid-send loses nothing; Twilio's record prevents a second send,
Telegram (which cannot tell) sends again and logs the possible duplicate."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import OutboundMessage
from bot.channels.telegram import TelegramSender
from bot.channels.twilio import TwilioSender
from bot.delivery import outbox
from bot.delivery.worker import DrainReport, Worker
from storage.database import transaction
from tests.fakes import FakeTwilio
from tests.fakes.telegram_api import FakeTelegram
from tests.worker.conftest import FakeClock, outbox_rows, queue, twilio_settings

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

PHONE = "+15551230001"
CHAT = "4242"
LEASE = timedelta(seconds=60)


def die_mid_send(
    sessions: sessionmaker[Session], clock: FakeClock, send: object | None = None
) -> OutboundMessage:
    """Claim the head row as a worker that then sends it and dies before marking it."""
    with transaction(sessions) as session:
        [item] = outbox.claim(session, "doomed", clock.now, limit=1, lease=LEASE)
        message = OutboundMessage(item.channel, item.address, item.body, key=item.idempotency_key)
    if send is not None:
        send.send(message)  # type: ignore[attr-defined]
    return message


def test_twilio_send_found_after_a_crash_is_not_sent_again(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    twilio: FakeTwilio,
    sms_sender: TwilioSender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    [lost, after] = queue(sessions, "sms", PHONE, ["Your check-in", "Thanks!"], clock.now)
    die_mid_send(sessions, clock, sms_sender)
    [accepted] = twilio.messages
    worker = Worker(sessions, {"sms": sms_sender}, clock=clock, sleep=clock.sleep)

    assert worker.run_once() == DrainReport()  # the dead worker's lease still holds
    clock.advance(61)
    caplog.set_level(logging.DEBUG, logger="bot.delivery.worker")
    report = worker.run_once()

    assert report == DrainReport(sent=1, recovered=1)
    assert [m["body"] for m in twilio.messages] == ["Your check-in", "Thanks!"]
    rows = outbox_rows(sessions)
    assert rows[lost].status == "sent" and rows[lost].provider_id == accepted["sid"]
    assert rows[lost].attempts == 2 and rows[after].status == "sent"
    assert PHONE not in caplog.text and "check-in" not in caplog.text


def test_twilio_crash_before_the_send_sends_once(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    twilio: FakeTwilio,
    sms_sender: TwilioSender,
) -> None:
    [lost] = queue(sessions, "sms", PHONE, ["Your check-in"], clock.now)
    die_mid_send(sessions, clock, send=None)
    clock.advance(61)
    worker = Worker(sessions, {"sms": sms_sender}, clock=clock, sleep=clock.sleep)
    assert worker.run_once() == DrainReport(sent=1)
    assert len(twilio.messages) == 1
    assert [r.operation for r in twilio.requests] == ["list", "create"]
    assert outbox_rows(sessions)[lost].provider_id == twilio.messages[0]["sid"]


def test_an_earlier_identical_text_is_not_mistaken_for_the_lost_one(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    twilio: FakeTwilio,
    sms_sender: TwilioSender,
) -> None:
    """Two rows with the same text: the first went out, the second's worker died before
    sending. The provider's match belongs to the first row, so the second is sent."""
    [first, second] = queue(sessions, "sms", PHONE, ["Thanks!", "Thanks!"], clock.now)
    worker = Worker(sessions, {"sms": sms_sender}, clock=clock, sleep=clock.sleep, batch=1)
    with transaction(sessions) as session:
        [item] = outbox.claim(session, worker.name, clock.now, limit=1)
        assert item.id == first
    result = sms_sender.send(OutboundMessage("sms", PHONE, "Thanks!"))
    with transaction(sessions) as session:
        outbox.mark_sent(session, first, worker.name, result.provider_id, clock.now)
    die_mid_send(sessions, clock, send=None)
    clock.advance(61)

    assert worker.run_once() == DrainReport(sent=1)
    assert len(twilio.messages) == 2
    rows = outbox_rows(sessions)
    assert rows[first].provider_id != rows[second].provider_id


def test_a_lost_send_is_found_behind_a_newer_identical_text(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    twilio: FakeTwilio,
    sms_sender: TwilioSender,
) -> None:
    """Two rows with the same text both went out, the second's worker dying before it
    could mark it. Twilio lists newest first, the first row's message may be listed
    first: the lookup must pass over it and find the second's, not send it again."""
    [first, second] = queue(sessions, "sms", PHONE, ["Thanks!", "Thanks!"], clock.now)
    worker = Worker(sessions, {"sms": sms_sender}, clock=clock, sleep=clock.sleep, batch=1)
    with transaction(sessions) as session:
        [item] = outbox.claim(session, worker.name, clock.now, limit=1)
        assert item.id == first
    # The second row's message reaches Twilio (its worker dies below before marking it),
    # then the first row's: Twilio lists the first row's message first.
    lost = sms_sender.send(OutboundMessage("sms", PHONE, "Thanks!")).provider_id
    newer = sms_sender.send(OutboundMessage("sms", PHONE, "Thanks!")).provider_id
    with transaction(sessions) as session:
        outbox.mark_sent(session, first, worker.name, newer, clock.now)
    die_mid_send(sessions, clock, send=None)
    clock.advance(61)

    assert worker.run_once() == DrainReport(recovered=1)
    assert len(twilio.messages) == 2
    rows = outbox_rows(sessions)
    assert rows[second].provider_id == lost


def test_twilio_timeout_after_acceptance_is_recovered(
    sessions: sessionmaker[Session], clock: FakeClock, twilio: FakeTwilio
) -> None:
    """The provider took the message but the answer never came (client timeout)."""
    [item] = queue(sessions, "sms", PHONE, ["Your check-in"], clock.now)
    twilio.hang_next(1, 3, accepted=True, only="create")
    impatient = TwilioSender(twilio_settings(twilio), timeout=0.3)
    try:
        worker = Worker(sessions, {"sms": impatient}, clock=clock, sleep=clock.sleep)
        assert worker.run_once() == DrainReport(retried=1)
        row = outbox_rows(sessions)[item]
        assert row.status == "queued" and outbox.UNKNOWN_OUTCOME in (row.last_error or "")
        clock.now = row.not_before
        assert worker.run_once() == DrainReport(recovered=1)
    finally:
        impatient.close()
    assert len(twilio.messages) == 1
    assert outbox_rows(sessions)[item].provider_id == twilio.messages[0]["sid"]


def test_telegram_resends_after_a_crash_and_logs_a_possible_duplicate(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    telegram: FakeTelegram,
    telegram_sender: TelegramSender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    [lost] = queue(sessions, "telegram", CHAT, ["Your check-in"], clock.now)
    die_mid_send(sessions, clock, telegram_sender)
    clock.advance(61)
    worker = Worker(sessions, {"telegram": telegram_sender}, clock=clock, sleep=clock.sleep)
    caplog.set_level(logging.DEBUG, logger="bot.delivery.worker")

    assert worker.run_once() == DrainReport(sent=1)

    assert [s["text"] for s in telegram.sent] == ["Your check-in", "Your check-in"]
    [warning] = [r for r in caplog.records if "possible duplicate" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert f"outbox {lost} " in warning.getMessage()
    assert CHAT not in caplog.text and "check-in" not in caplog.text
    assert outbox_rows(sessions)[lost].status == "sent"


def test_a_retryable_failure_without_doubt_gives_no_warning(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    telegram: FakeTelegram,
    telegram_sender: TelegramSender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 429 says the message did not go out: the retry is no possible duplicate."""
    queue(sessions, "telegram", CHAT, ["Hello"], clock.now)
    telegram.rate_limit_next(1, retry_after=2, only="sendMessage")
    worker = Worker(sessions, {"telegram": telegram_sender}, clock=clock, sleep=clock.sleep)
    assert worker.run_once().retried == 1
    clock.advance(3)
    assert worker.run_once().sent == 1
    assert "possible duplicate" not in caplog.text
