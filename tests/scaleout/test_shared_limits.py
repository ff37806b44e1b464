"""Sender limits shared by every worker: slots taken under row locks on PostgreSQL, and
three real `groundswell worker` processes that never send above a limit together."""

from __future__ import annotations

import bisect
import signal
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery.outbox import Recipient, Send, enqueue_many
from bot.delivery.rate_limits import (
    LIMIT_KINDS,
    SHARED_MARGIN,
    RateLimits,
    SharedLimiter,
    limit_key,
    shared_limiter,
)
from storage import send_limits
from storage.database import transaction
from storage.models import OutboxItem, SendLimit
from tests.fakes import FakeTwilio
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from tests.scaleout.conftest import Processes, environment

pytestmark = pytest.mark.postgres


def most_in_a_second(times: list[float]) -> int:
    """The most events in any half-open window [t, t + 1 s)."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


def test_slots_under_one_limit_are_an_interval_apart(pg_sessions: sessionmaker[Session]) -> None:
    slots = []
    for _ in range(5):
        with transaction(pg_sessions) as session:
            slots.append(send_limits.reserve(session, {"sms:+1555": 0.5}).at)
    gaps = [b - a for a, b in pairwise(slots)]
    assert all(gap >= 0.5 - 1e-6 for gap in gaps), gaps
    with transaction(pg_sessions) as session:  # another limit is not held up by this one
        assert send_limits.reserve(session, {"sms:+1666": 0.5}).wait == 0


def test_a_send_under_two_limits_takes_the_later_slot_of_both(
    pg_sessions: sessionmaker[Session],
) -> None:
    with transaction(pg_sessions) as session:
        first = send_limits.reserve(session, {"chat:a": 1.0})
    with transaction(pg_sessions) as session:
        both = send_limits.reserve(session, {"chat:a": 1.0, "overall": 0.1})
        rows = dict(session.execute(select(SendLimit.key, SendLimit.next_at)).all())
    assert both.at >= first.at + 1.0 - 1e-6
    # Both rows move on from the slot the send really takes, not from their own.
    assert rows["overall"] == pytest.approx(both.at + 0.1)
    assert rows["chat:a"] == pytest.approx(both.at + 1.0)


def test_threads_racing_for_one_limit_each_get_their_own_slot(
    pg_sessions: sessionmaker[Session],
) -> None:
    slots: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(5):
            with transaction(pg_sessions) as session:
                at = send_limits.reserve(session, {"telegram:bot1": 0.2, "z": 0.05}).at
            with lock:
                slots.append(at)

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slots.sort()
    assert len(slots) == 30
    assert min(b - a for a, b in pairwise(slots)) >= 0.2 - 1e-6


def test_recipients_are_hashed_and_idle_rows_forgotten(pg_sessions: sessionmaker[Session]) -> None:
    chat = next(k for k in LIMIT_KINDS if k.per_recipient)
    key = limit_key(chat, "bot1", "123456789")
    assert "123456789" not in key and len(key) <= 100
    with transaction(pg_sessions) as session:
        session.add(SendLimit(key="old", next_at=1.0))
        session.add(SendLimit(key="fresh", next_at=send_limits.database_now(session)))
    with transaction(pg_sessions) as session:
        assert send_limits.forget_idle(session) == 1
        assert set(session.scalars(select(SendLimit.key))) == {"fresh"}


def test_shared_limiter_is_for_postgresql_only(
    pg_sessions: sessionmaker[Session], sessions: sessionmaker[Session], db_backend: str
) -> None:
    limits = RateLimits()
    assert isinstance(shared_limiter(pg_sessions, limits, {}, time.sleep), SharedLimiter)
    assert (shared_limiter(sessions, limits, {}, time.sleep) is None) == (db_backend == "sqlite")


def test_the_limiter_sleeps_until_its_slot(pg_sessions: sessionmaker[Session]) -> None:
    slept: list[float] = []
    limiter = SharedLimiter(pg_sessions, RateLimits(sms=2), slept.append, {"sms": "+1555"})
    limiter.wait("sms", "+447700900001")
    limiter.wait("sms", "+447700900002")  # no real sleep: the second slot is still ahead
    assert slept and slept[-1] == pytest.approx((1 + SHARED_MARGIN) / 2, abs=0.05)
    assert limiter.wait("sim", "x") == 0  # no limit on the simulator


# ---------------------------------------------------------------- three real workers

SMS_FROM = "+15557650000"
WINDOW = 9.0
TELEGRAM_RATE = 5  # scaled down from 30/s to keep the test short and the queue small


def test_three_worker_processes_keep_every_limit_together(
    pg_url: str, pg_sessions: sessionmaker[Session], processes: Processes, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    sends = [Send(Recipient("sms", f"+1555{n:07d}"), f"SMS {n}", now) for n in range(40)]
    for n in range(120):  # 40 chats, 3 each: the per-chat limit matters too
        sends.append(Send(Recipient("telegram", str(700_000 + n % 40)), f"TG {n}", now))
    with transaction(pg_sessions) as session:
        enqueue_many(session, sends, now=now)

    with FakeTwilio() as twilio, FakeTelegram() as telegram:
        env = environment(
            pg_url,
            TWILIO_ACCOUNT_SID=DEFAULT_ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=DEFAULT_AUTH_TOKEN,
            TWILIO_FROM=SMS_FROM,
            TWILIO_API_URL=twilio.base_url,
            TELEGRAM_BOT_TOKEN=telegram.token,
            TELEGRAM_API_URL=telegram.base_url,
            GROUNDSWELL_RATE_SMS="1",
            GROUNDSWELL_RATE_TELEGRAM=str(TELEGRAM_RATE),
            GROUNDSWELL_RATE_TELEGRAM_CHAT="1",
        )
        workers = [processes.start(env, "worker", name=f"worker{n}") for n in range(3)]
        twilio.wait_for_messages(1, timeout=60)  # all three are up by the first send
        began = time.monotonic()
        while time.monotonic() - began < WINDOW:
            assert all(w.poll() is None for w in workers), processes.logs()
            time.sleep(0.5)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(timeout=30) == 0, processes.logs()
        sms = sorted(m["received_at"] for m in twilio.messages)
        tg = telegram.sent

    gaps = [b - a for a, b in pairwise(sms)]
    assert len(sms) >= 7, processes.logs()  # it did send, at about the limit
    assert min(gaps) >= 1.0, gaps  # never two SMS in under a second
    tg_times = [m["received_at"] for m in tg]
    assert len(tg_times) >= 2 * TELEGRAM_RATE
    assert most_in_a_second(tg_times) <= TELEGRAM_RATE
    by_chat: dict[object, list[float]] = defaultdict(list)
    for message in tg:
        by_chat[message["chat_id"]].append(message["received_at"])
    assert max(most_in_a_second(times) for times in by_chat.values()) <= 1
    with transaction(pg_sessions, readonly=True) as session:
        senders = set(
            session.scalars(select(OutboxItem.claimed_by).where(OutboxItem.status == "sent"))
        )
    assert len(senders) >= 2, senders  # the workers really shared the sending
