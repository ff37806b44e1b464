"""A provider outage (500s, 429s with Retry-After) delays messages; none is lost or doubled,
and each address still gets its messages in order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram import TelegramSender
from bot.channels.twilio import TwilioSender
from bot.delivery.rate_limits import RateLimits
from bot.delivery.worker import Worker
from tests.fakes import FakeTwilio
from tests.fakes.telegram_api import FakeTelegram
from tests.worker.conftest import FakeClock, outbox_rows, queue

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

PHONES = ["+15551230001", "+15551230002", "+15551230003"]
CHATS = ["101", "102", "103"]


def drain(worker: Worker, clock: FakeClock, sessions: sessionmaker[Session]) -> int:
    """Run the worker, jumping the clock to the next retry, until nothing is pending."""
    for rounds in range(1, 100):
        worker.run_once()
        waiting = [r for r in outbox_rows(sessions).values() if r.status in ("queued", "sending")]
        if not waiting:
            return rounds
        later = [r.not_before for r in waiting if r.not_before > clock.now]
        clock.now = min(later) if later else clock.now + timedelta(seconds=1)
    raise AssertionError("the outbox never drained")


def queue_three_each(
    sessions: sessionmaker[Session], channel: str, addresses: list[str], clock: FakeClock
) -> dict[str, list[str]]:
    expected = {}
    for address in addresses:
        texts = [f"{address} message {n}" for n in range(3)]
        queue(sessions, channel, address, texts, clock.now)
        expected[address] = texts
    return expected


@pytest.mark.parametrize("fault", ["500", "429"])
def test_twilio_outage_delays_but_loses_and_doubles_nothing(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    twilio: FakeTwilio,
    sms_sender: TwilioSender,
    fault: str,
) -> None:
    expected = queue_three_each(sessions, "sms", PHONES, clock)
    if fault == "500":
        twilio.fail_next(5, 500)
    else:
        twilio.rate_limit_next(5, retry_after=7)
    worker = Worker(sessions, {"sms": sms_sender}, clock=clock, sleep=clock.sleep)

    rounds = drain(worker, clock, sessions)

    assert rounds > 1
    bodies = [m["body"] for m in twilio.messages]
    assert sorted(bodies) == sorted(b for texts in expected.values() for b in texts)
    for phone, texts in expected.items():
        assert [m["body"] for m in twilio.messages if m["to"] == phone] == texts
    rows = outbox_rows(sessions).values()
    assert all(r.status == "sent" for r in rows)
    assert sum(r.attempts for r in rows) >= len(rows) + 1


@pytest.mark.parametrize("fault", ["500", "429"])
def test_telegram_outage_delays_but_loses_nothing(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    telegram: FakeTelegram,
    telegram_sender: TelegramSender,
    fault: str,
) -> None:
    expected = queue_three_each(sessions, "telegram", CHATS, clock)
    if fault == "500":
        telegram.fail_next(4, 502, only="sendMessage")
    else:
        telegram.rate_limit_next(4, retry_after=3, only="sendMessage")
    worker = Worker(sessions, {"telegram": telegram_sender}, clock=clock, sleep=clock.sleep)

    drain(worker, clock, sessions)

    for chat, texts in expected.items():
        assert [s["text"] for s in telegram.sent if s["chat_id"] == int(chat)] == texts
    assert len(telegram.sent) == 9


def test_retry_after_is_honoured(
    sessions: sessionmaker[Session], clock: FakeClock, twilio: FakeTwilio, sms_sender: TwilioSender
) -> None:
    [first, second] = queue(sessions, "sms", PHONES[0], ["one", "two"], clock.now)
    [other] = queue(sessions, "sms", PHONES[1], ["other"], clock.now)
    twilio.rate_limit_next(1, retry_after=30)
    worker = Worker(
        sessions, {"sms": sms_sender}, clock=clock, sleep=clock.sleep, limits=RateLimits.unlimited()
    )

    report = worker.run_once()

    assert report.retried == 1 and report.sent == 0
    rows = outbox_rows(sessions)
    assert rows[first].status == "queued" and rows[first].attempts == 1
    assert rows[first].not_before >= clock.now + timedelta(seconds=30)
    assert rows[first].not_before <= clock.now + timedelta(seconds=30 + 1)
    assert "429" in (rows[first].last_error or "")
    # The provider asked the channel to wait: the other address's row was handed back,
    # not attempted, and the second row waits behind the first.
    assert rows[other].status == "queued" and rows[other].attempts == 0
    assert rows[second].attempts == 0
    assert twilio.messages == []

    clock.advance(29)
    assert worker.run_once().total == 0
    clock.advance(2)
    assert worker.run_once().sent == 3
    assert [m["body"] for m in twilio.messages if m["to"] == PHONES[0]] == ["one", "two"]


def test_backoff_grows_exponentially(
    sessions: sessionmaker[Session], clock: FakeClock, twilio: FakeTwilio, sms_sender: TwilioSender
) -> None:
    [item] = queue(sessions, "sms", PHONES[0], ["one"], clock.now)
    twilio.fail_next(3, 503, only="create")
    worker = Worker(sessions, {"sms": sms_sender}, clock=clock, sleep=clock.sleep)
    waits = []
    for _ in range(3):
        started = clock.now
        assert worker.run_once().retried == 1
        row = outbox_rows(sessions)[item]
        waits.append((row.not_before - started).total_seconds())
        clock.now = row.not_before
    assert 2 <= waits[0] <= 2.2 and 4 <= waits[1] <= 4.4 and 8 <= waits[2] <= 8.8
    assert worker.run_once().sent == 1
    assert len(twilio.messages) == 1
