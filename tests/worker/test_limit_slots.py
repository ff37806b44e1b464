"""Send slots shared by workers (`storage.send_limits`, `SharedLimiter`) on both databases,
with an injected clock: the limits hold for workers racing each other, and packed sends
reach the configured rate (less the safety margin) without losing time between slots."""

from __future__ import annotations

import threading
from collections import defaultdict
from itertools import pairwise

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery.rate_limits import SHARED_MARGIN, RateLimits, SharedLimiter
from storage import send_limits
from storage.database import transaction
from storage.models import SendLimit

START = 1_000_000.0


class FakeClock:
    """Seconds since the epoch that move only when told to (thread-safe)."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def test_workers_racing_each_get_their_own_slot_and_none_is_wasted(
    sessions: sessionmaker[Session],
) -> None:
    """Four workers (threads, each its own connection) take 10 slots each under one shared
    limit (1 s) and a limit each of their own (0.2 s), plus a limit none of them has used
    before (created by whichever comes first). Slots under every limit are at least an
    interval apart, and back to back: 40 slots span exactly 39 intervals."""
    clock = FakeClock()
    taken: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for _ in range(10):
                intervals = {"sms:shared": 1.0, f"chat:{n}": 0.2, "new:first-use": 0.5}
                with transaction(sessions) as session:
                    slot = send_limits.reserve(session, intervals, now=clock())
                assert slot.taken and slot.wait >= 0
                with lock:
                    for key in intervals:
                        taken[key].append(slot.at)
                clock.advance(0.001)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    shared = sorted(taken["sms:shared"])
    assert len(shared) == 40
    assert min(b - a for a, b in pairwise(shared)) >= 1.0 - 1e-6
    assert shared[-1] - shared[0] == pytest.approx(39.0, abs=1e-6)  # no slot lost
    for n in range(4):
        own = sorted(taken[f"chat:{n}"])
        assert min(b - a for a, b in pairwise(own)) >= 0.2 - 1e-6
    with transaction(sessions, readonly=True) as session:
        rows = dict(session.execute(select(SendLimit.key, SendLimit.next_at)).all())
    assert rows["sms:shared"] == pytest.approx(shared[-1] + 1.0)
    assert rows["new:first-use"] == pytest.approx(shared[-1] + 0.5)


def test_a_slot_further_off_than_the_caller_waits_is_not_taken(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as session:
        first = send_limits.reserve(session, {"sms:a": 2.0}, now=START)
    with transaction(sessions) as session:
        later = send_limits.reserve(session, {"sms:a": 2.0, "chat:b": 1.0}, 1.0, now=START + 0.5)
    assert first.taken and first.at == START and first.wait == 0
    assert not later.taken and later.at == START + 2.0 and later.wait == pytest.approx(1.5)
    with transaction(sessions, readonly=True) as session:
        rows = dict(session.execute(select(SendLimit.key, SendLimit.next_at)).all())
    assert rows == {"sms:a": START + 2.0}  # nothing moved, nothing created


def test_a_late_send_pushes_the_next_slot_back(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        assert send_limits.reserve(session, {"sms:a": 1.0}, now=START).at == START
    with transaction(sessions) as session:  # the send took 3 s to return
        send_limits.settle(session, {"sms:a": 1.0}, START + 3.0)
    with transaction(sessions) as session:
        nxt = send_limits.reserve(session, {"sms:a": 1.0}, now=START + 1.0)
    assert nxt.at == pytest.approx(START + 4.0) and nxt.wait == pytest.approx(3.0)
    with transaction(sessions) as session:  # settling never pulls a slot forward
        send_limits.settle(session, {"sms:a": 1.0}, START)
        assert session.scalar(select(SendLimit.next_at)) == pytest.approx(START + 5.0)


def test_limiters_of_three_workers_send_at_the_configured_rate_and_no_faster(
    sessions: sessionmaker[Session],
) -> None:
    """Three workers' limiters take turns (a fake clock that only sleeping moves): every
    send is 1/rate x (1 + margin) after the previous one, never less and never more."""
    clock = FakeClock()
    limits = RateLimits(sms=2)
    workers = [
        SharedLimiter(sessions, limits, clock.advance, {"sms": "+1555"}, clock=clock)
        for _ in range(3)
    ]
    sends = []
    for n in range(12):
        limiter = workers[n % 3]
        limiter.wait("sms", f"+4477009000{n:02d}")
        sends.append(clock())
        clock.advance(0.01)  # the send itself
        limiter.sent()
    gap = (1 + SHARED_MARGIN) / 2
    assert [b - a for a, b in pairwise(sends)] == pytest.approx([gap + 0.01] * 11)


def test_try_wait_asks_again_when_the_slot_is_near(sessions: sessionmaker[Session]) -> None:
    """A slot too far off is not taken; the limiter says when to ask again: as it comes
    near (half an interval before it), so the next try takes it and sleeps the rest."""
    clock = FakeClock()
    limits = RateLimits(telegram=10, telegram_chat=0)
    one, two = (
        SharedLimiter(sessions, limits, clock.advance, {"telegram": "bot"}, clock=clock)
        for _ in range(2)
    )
    assert one.try_wait("telegram", "1") is None
    interval = (1 + SHARED_MARGIN) / 10
    again = two.try_wait("telegram", "2")
    assert again == pytest.approx(interval / 2)
    clock.advance(again or 0.0)
    assert two.try_wait("telegram", "2") is None  # taken; slept the other half
    assert clock() == pytest.approx(START + interval)
