"""The report reads each measure's answers already sorted (participant, time, score), so the
statistics skip their sorts (``reports.sorting``); the figures must be exactly those of
answers in any order, which the statistics sort themselves.

On both databases: the report built from the database is compared, as JSON text, with the
report built from the same answers read row by row and shuffled, with and without
disclosure control, on the test cohort plus answers whose float sums depend on the order
they are added in (0.1 + 0.2 + 0.7 at one moment).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reports.build import analyse
from reports.data import MeasureAnswers, ReportData
from reports.disclosure import EXACT, DisclosurePolicy
from reports.formats.json import render
from reports.sorting import lexsort_order, unique_codes
from storage.database import transaction
from storage.models import Answer, Checkin, Participant
from tests.reports.dataset import T0, Dataset, insert_dataset

STAMP = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def _add_awkward_sums(sessions: sessionmaker[Session], data: Dataset) -> None:
    """Three answers to each measure at one moment, whose float sum depends on its order."""
    with transaction(sessions) as session:
        person = session.scalars(select(Participant).order_by(Participant.id).limit(1)).one()
        started = T0 + timedelta(weeks=3, hours=1)
        for step in ("mood", "worry", "energy"):
            for part, score in enumerate((0.7, 0.1, 0.2)):
                checkin = Checkin(
                    participant_id=person.id,
                    flow_id=data.flow.id,
                    flow_version=data.flow.version,
                    channel="sms",
                    status="completed",
                    started_at=started,
                )
                session.add(checkin)
                session.flush()
                session.add(
                    Answer(
                        checkin_id=checkin.id,
                        participant_id=person.id,
                        flow_id=data.flow.id,
                        flow_version=data.flow.version,
                        step_id=step,
                        part=part,
                        value=score,
                        score=score,
                        measure=step,
                        answered_at=started + timedelta(minutes=5),
                        channel="sms",
                    )
                )


def _row_by_row(session: Session, loaded: ReportData, seed: int) -> ReportData:
    """``loaded`` with each measure's answers read again one Python row at a time (no
    ``read_columns``, no sorting) and shuffled."""
    measures = {}
    for name, previous in loaded.measures.items():
        rows = session.execute(
            select(Answer.participant_id, Answer.answered_at, Answer.score).where(
                Answer.measure == name, Answer.score.is_not(None)
            )
        ).all()
        random.Random(seed).shuffle(rows)
        pid = np.array([r[0] for r in rows], dtype=np.int64)
        at = np.array([r[1].replace(tzinfo=None) for r in rows], dtype="datetime64[us]")
        score = np.array([r[2] for r in rows], dtype=np.float64)
        groups = dict(
            zip(previous.participant_id.tolist(), previous.group_id.tolist(), strict=True)
        )
        group = np.array([groups[p] for p in pid.tolist()], dtype=np.int64)
        measures[name] = MeasureAnswers(pid, group, at, score)
    return replace(loaded, measures=measures)


@pytest.mark.parametrize("policy", [None, replace(EXACT, threshold=3)], ids=["full", "exact"])
def test_sorted_reading_gives_the_same_report_json_as_any_order(
    sessions: sessionmaker[Session], policy: DisclosurePolicy | None
) -> None:
    data = insert_dataset(sessions)
    _add_awkward_sums(sessions, data)
    options: dict[str, Any] = {"generated_at": STAMP, "threshold": 3, "policy": policy}
    cache: dict[tuple[Any, ...], ReportData] = {}
    from_database = render(analyse(sessions, data.flow, loaded=cache, **options).data)
    (key,) = cache
    sorted_pid = cache[key].measures["mood"].participant_id
    assert np.all(sorted_pid[1:] >= sorted_pid[:-1])  # read in participant order
    for seed in (1, 2):
        with transaction(sessions, readonly=True) as session:
            shuffled = _row_by_row(session, cache[key], seed)
        assert not np.all(np.diff(shuffled.measures["mood"].participant_id) >= 0)
        again = render(analyse(sessions, data.flow, loaded={key: shuffled}, **options).data)
        assert again == from_database


def _rows(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random (score, time, person) keys with plenty of ties on each."""
    return (
        rng.integers(0, 3, n).astype(np.float64),
        rng.integers(0, 4, n),
        rng.integers(0, 20, n),
    )


@pytest.mark.parametrize(
    "shape", ["random", "sorted", "time order", "scan from the middle", "short"]
)
def test_lexsort_order_puts_rows_as_lexsort_does(shape: str) -> None:
    keys = _rows(np.random.default_rng(5), 2 if shape == "short" else 500)
    if shape == "sorted":
        order = np.lexsort(keys)
        keys = tuple(k[order] for k in keys)
    elif shape == "time order":  # given in time order: a stable sort by person suffices
        order = np.lexsort(keys[:2])
        keys = tuple(k[order] for k in keys)
    elif shape == "scan from the middle":  # sorted, but read from row 250 round to 249
        order = np.roll(np.lexsort(keys), -250)
        keys = tuple(k[order] for k in keys)
    found = lexsort_order(keys)
    expected = np.lexsort(keys)
    got = np.arange(keys[0].size) if found is None else found
    for key in keys:
        assert np.array_equal(key[got], key[expected])
    assert (found is None) == (shape == "sorted" or np.array_equal(expected, np.arange(2)))


@pytest.mark.parametrize("shape", ["sorted", "small range", "wide range"])
def test_unique_codes_are_numpys(shape: str) -> None:
    labels = np.random.default_rng(9).integers(-5, 40, 300)
    if shape == "sorted":
        labels = np.sort(labels)
    elif shape == "wide range":
        labels = labels * 10**9
    uniq, codes = unique_codes(labels)
    expected_uniq, expected_codes = np.unique(labels, return_inverse=True)
    assert np.array_equal(uniq, expected_uniq) and uniq.dtype == labels.dtype
    assert np.array_equal(codes, expected_codes.reshape(-1))
    assert codes.dtype == np.int64
