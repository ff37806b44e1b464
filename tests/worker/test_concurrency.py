"""Two workers on one queue (threads, own engines): every row once, each address in order."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from bot.channels.base import OutboundMessage, Sender, SendResult
from bot.channels.simulator import SimulatorSender
from bot.channels.twilio import TwilioSender
from bot.delivery import outbox
from bot.delivery.rate_limits import RateLimits
from bot.delivery.worker import DrainReport, Worker
from storage.database import make_engine, session_factory, transaction
from tests.fakes import FakeTwilio
from tests.worker.conftest import queue, twilio_settings


@pytest.fixture
def engines(database_url: str) -> Iterator[list[Engine]]:
    """One engine per worker, as separate processes would have."""
    made = [make_engine(database_url), make_engine(database_url)]
    yield made
    for engine in made:
        engine.dispose()


def run_two(engines: list[Engine], make_senders: Callable[[], Mapping[str, Sender]]) -> None:
    """Run two workers until the outbox is drained; fail after 60 s."""
    reports = [DrainReport(), DrainReport()]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        sessions = session_factory(engines[index])
        worker = Worker(
            sessions,
            make_senders(),
            name=f"w{index}",
            limits=RateLimits.unlimited(),
            batch=7,
        )
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                reports[index].add(worker.run_once())
                with transaction(sessions, readonly=True) as session:
                    left = outbox.counts(session)
                if not left.get("queued") and not left.get("sending"):
                    return
            raise AssertionError("the outbox never drained")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert all(report.sent > 0 for report in reports), reports  # both took part


def test_two_workers_through_twilio(engines: list[Engine], twilio: FakeTwilio) -> None:
    sessions = session_factory(engines[0])
    now = datetime.now(UTC)
    phones = [f"+1555123{n:04d}" for n in range(10)]
    for phone in phones:
        queue(sessions, "sms", phone, [f"{phone} #{k}" for k in range(5)], now)
    senders: list[TwilioSender] = []

    def make() -> Mapping[str, Sender]:
        sender = TwilioSender(twilio_settings(twilio), timeout=5)
        senders.append(sender)
        return {"sms": sender}

    try:
        run_two(engines, make)
    finally:
        for sender in senders:
            sender.close()

    bodies = [m["body"] for m in twilio.messages]
    assert len(bodies) == 50 and len(set(bodies)) == 50
    for phone in phones:
        assert [m["body"] for m in twilio.messages if m["to"] == phone] == [
            f"{phone} #{k}" for k in range(5)
        ]


def test_two_workers_many_rows(engines: list[Engine]) -> None:
    sessions = session_factory(engines[0])
    now = datetime.now(UTC)
    for n in range(40):
        queue(sessions, "sim", f"s{n}", [f"s{n} #{k}" for k in range(15)], now)
    seen: list[str] = []
    lock = threading.Lock()

    class Recorder(SimulatorSender):
        def send(self, message: OutboundMessage) -> SendResult:
            with lock:
                seen.append(message.body)
            return super().send(message)

    run_two(engines, lambda: {"sim": Recorder()})

    assert len(seen) == 600 and len(set(seen)) == 600
    per_address: dict[str, list[int]] = defaultdict(list)
    for body in seen:
        address, number = body.split(" #")
        per_address[address].append(int(number))
    assert all(numbers == list(range(15)) for numbers in per_address.values())
