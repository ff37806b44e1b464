"""Token buckets on a fake clock: the worker waits (never skips) to stay under the limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import OutboundMessage, SendResult
from bot.channels.simulator import SimulatorSender
from bot.channels.twilio import TwilioSender
from bot.delivery import outbox
from bot.delivery.rate_limits import Limiter, RateLimits, TokenBucket
from bot.delivery.worker import Worker
from bot.settings import SettingsError
from storage.database import transaction
from tests.fakes import FakeTwilio
from tests.worker.conftest import FakeClock, queue


class Seconds:
    """A float clock whose sleep moves it."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_n_sends_at_one_per_second_take_n_minus_one_seconds() -> None:
    clock = Seconds()
    limiter = Limiter(RateLimits(sms=1), clock, clock.sleep)
    for _ in range(10):
        limiter.wait("sms", "+15551230001")
    assert sum(clock.slept) == pytest.approx(9.0)
    assert len(clock.slept) == 9


def test_idle_time_refills_the_bucket_but_only_to_its_burst() -> None:
    clock = Seconds()
    limiter = Limiter(RateLimits(sms=1), clock, clock.sleep)
    limiter.wait("sms", "a")
    clock.now += 60  # quiet for a minute: one token, not sixty
    limiter.wait("sms", "a")
    limiter.wait("sms", "a")
    assert clock.slept == [pytest.approx(1.0)]


def test_telegram_is_one_per_second_per_chat_and_thirty_overall() -> None:
    clock = Seconds()
    limiter = Limiter(RateLimits(), clock, clock.sleep)
    start = clock.now
    for _ in range(3):
        for chat in ("1", "2", "3"):
            limiter.wait("telegram", chat)
    # Per chat 1/s: the third round starts 2 s after the first; within a round the
    # overall limit spaces sends 1/30 s apart.
    assert clock.now - start == pytest.approx(2.0 + 2 / 30)

    clock = Seconds()
    limiter = Limiter(RateLimits(), clock, clock.sleep)
    start = clock.now
    for chat in range(61):
        limiter.wait("telegram", str(chat))
    assert clock.now - start == pytest.approx(2.0)  # 61 chats at 30/s overall


def test_callback_answers_count_only_against_the_overall_limit() -> None:
    clock = Seconds()
    limiter = Limiter(RateLimits(), clock, clock.sleep)
    limiter.wait("telegram", "1")
    limiter.wait("telegram", "1", per_chat=False)
    assert clock.now - 1_000.0 == pytest.approx(1 / 30)


def test_zero_means_unlimited_and_other_channels_are_free() -> None:
    clock = Seconds()
    limiter = Limiter(RateLimits.unlimited(), clock, clock.sleep)
    for _ in range(100):
        limiter.wait("sms", "a")
        limiter.wait("telegram", "1")
    limiter = Limiter(RateLimits(), clock, clock.sleep)
    for _ in range(100):
        limiter.wait("sim", "s")
    assert clock.slept == []


def test_bucket_burst() -> None:
    bucket = TokenBucket(rate=2, now=0, burst=3)
    for _ in range(3):
        assert bucket.delay(0) == 0
        bucket.take(0)
    assert bucket.delay(0) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        TokenBucket(rate=0, now=0)


def test_limits_from_env() -> None:
    assert RateLimits.from_env({}) == RateLimits(sms=1, telegram=30, telegram_chat=1)
    env = {
        "GROUNDSWELL_RATE_SMS": "10",
        "GROUNDSWELL_RATE_TELEGRAM": "0",
        "GROUNDSWELL_RATE_TELEGRAM_CHAT": "0.5",
    }
    assert RateLimits.from_env(env) == RateLimits(sms=10, telegram=0, telegram_chat=0.5)
    for bad in ("fast", "-1", "nan", "inf"):
        with pytest.raises(SettingsError, match="GROUNDSWELL_RATE_SMS"):
            RateLimits.from_env({"GROUNDSWELL_RATE_SMS": bad})


def test_worker_waits_rather_than_skipping(
    sessions: sessionmaker[Session], clock: FakeClock, twilio: FakeTwilio, sms_sender: TwilioSender
) -> None:
    phones = [f"+1555123000{n}" for n in range(5)]
    for phone in phones:
        queue(sessions, "sms", phone, [f"hi {phone}"], clock.now)
    queue(sessions, "sim", "s1", ["free"], clock.now)
    worker = Worker(
        sessions, {"sms": sms_sender, "sim": SimulatorSender()}, clock=clock, sleep=clock.sleep
    )
    assert worker.run_once().sent == 6
    assert sum(clock.slept) == pytest.approx(4.0)
    assert [m["to"] for m in twilio.messages] == phones


def test_worker_renews_its_lease_during_a_slow_batch(
    sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    """30 sends of a second each outlast a 20 s lease: the worker renews it, so no row
    becomes claimable by another worker while it is still in this batch."""

    class Slow(SimulatorSender):
        def send(self, message: OutboundMessage) -> SendResult:
            clock.advance(1)
            return super().send(message)

    for n in range(30):
        queue(sessions, "sim", f"s{n}", ["hi"], clock.now)
    worker = Worker(
        sessions, {"sim": Slow()}, clock=clock, sleep=clock.sleep, lease=timedelta(seconds=20)
    )
    other = Worker(sessions, {"sim": SimulatorSender()}, clock=clock, sleep=clock.sleep)
    stolen = []

    def send_and_try_stealing(message: OutboundMessage) -> SendResult:
        stolen.append(other.run_once().total)
        return Slow.send(slow, message)

    slow = worker.senders["sim"]
    slow.send = send_and_try_stealing  # type: ignore[method-assign]
    assert worker.run_once().sent == 30
    assert set(stolen) == {0}
    with transaction(sessions, readonly=True) as session:
        assert outbox.counts(session) == {"sent": 30}


def test_an_sms_backlog_does_not_hold_up_telegram(
    sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    """SMS go at 1/s; Telegram rows, queued before or during that backlog, go meanwhile."""
    order: list[str] = []

    class Recorder(SimulatorSender):
        def __init__(self, channel: str) -> None:
            self.channel = channel

        def send(self, message: OutboundMessage) -> SendResult:
            order.append(message.body)
            if message.body == "sms 2":  # a resident's Telegram message arrives meanwhile
                queue(sessions, "telegram", "77", ["late telegram"], clock.now)
            return super().send(message)

    for n in range(12):
        queue(sessions, "sms", f"+1555123{n:04d}", [f"sms {n}"], clock.now)
    queue(sessions, "telegram", "42", ["tg 0", "tg 1"], clock.now)
    worker = Worker(
        sessions,
        {"sms": Recorder("sms"), "telegram": Recorder("telegram")},
        clock=clock,
        sleep=clock.sleep,
    )

    assert worker.run_once().sent == 15

    assert order.index("tg 0") < order.index("sms 1")
    assert order.index("tg 1") < order.index("sms 3")  # one second later, same chat
    assert order.index("late telegram") < order.index("sms 5")
    assert sum(clock.slept) == pytest.approx(11.0)  # 12 SMS at 1/s


def test_a_send_that_returns_late_pushes_the_next_one_back() -> None:
    clock = Seconds()
    limiter = Limiter(RateLimits(sms=1), clock, clock.sleep)
    limiter.wait("sms", "a")
    clock.now += 0.4  # the send took 0.4 s to go out and return
    limiter.sent("sms", "a")
    limiter.wait("sms", "a")
    assert clock.slept == [pytest.approx(1.0)]  # counted from the return, not the permit


class LateSender:
    """Instant, except that each message reaches the provider after a given delay (a busy
    machine between the limit's permit and the request); records arrivals."""

    def __init__(self, clock: FakeClock, delays: list[float]) -> None:
        self.clock = clock
        self.delays = delays
        self.arrivals: list[float] = []

    def send(self, message: OutboundMessage) -> SendResult:
        self.clock.advance(self.delays.pop(0) if self.delays else 0.0)
        self.arrivals.append(self.clock.now.timestamp())
        return SendResult(f"SM{len(self.arrivals)}")

    def find_sent(self, message: OutboundMessage, since: object) -> str | None:
        return None

    def close(self) -> None:
        pass


def test_sends_held_up_on_their_way_never_arrive_closer_than_the_limit(
    sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    for n in range(4):
        queue(sessions, "sms", f"+155512300{n:02d}", ["hi"], clock.now)
    sender = LateSender(clock, [0.5, 0.0, 0.7, 0.0])
    worker = Worker(sessions, {"sms": sender}, clock=clock, sleep=clock.sleep)
    assert worker.run_once().sent == 4
    gaps = [b - a for a, b in zip(sender.arrivals, sender.arrivals[1:], strict=False)]
    assert min(gaps) >= 1.0 - 1e-6, gaps
