"""A tick works through the due set in claimed batches of at most `batch` enrolments, so
what one transaction holds (rows read, check-ins, messages) is bounded by the batch
however many are due, and the batches' sizes add up to everyone due, once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.checkins import starting
from bot.schedule import clock
from bot.schedule.clock import tick
from survey_flows.checks.folder import FlowLibrary
from tests.clock.test_clock import FRIDAY_18, SETTINGS, TUESDAY, add_people

DUE, BATCH = 130, 40


def counting(sizes: list[int], real: Callable[..., Any], argument: int) -> Callable[..., Any]:
    """`real`, recording the length of its positional argument number `argument`."""

    def counted(*args: Any, **kwargs: Any) -> Any:
        sizes.append(len(args[argument]))
        return real(*args, **kwargs)

    return counted


def test_a_tick_claims_starts_and_queues_in_batches_of_at_most_batch(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    add_people(sessions, DUE)
    tick(sessions, FlowLibrary(), SETTINGS, TUESDAY)  # schedules the first due times
    claimed: list[int] = []
    started: list[int] = []
    queued: list[int] = []
    real_claim = clock._claim_due

    def claim(*args: Any) -> Any:
        rows = real_claim(*args)
        claimed.append(len(rows))
        return rows

    monkeypatch.setattr(clock, "_claim_due", claim)
    monkeypatch.setattr(clock, "start_checkins", counting(started, clock.start_checkins, 1))
    monkeypatch.setattr(starting, "enqueue_many", counting(queued, starting.enqueue_many, 1))

    report = tick(sessions, FlowLibrary(), SETTINGS, FRIDAY_18 + timedelta(seconds=5), batch=BATCH)

    assert report.started == DUE
    assert claimed == [40, 40, 40, 10]
    assert started == claimed
    assert queued == [2 * size for size in claimed]  # a greeting and the first question each
