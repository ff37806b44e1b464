"""Load what a change summary needs from the database, as numpy arrays.

A report may cover a million answers, so nothing here builds ORM objects or loops over rows
in Python: each query selects a few plain columns and ``reports.columns`` moves the result
straight into numpy arrays (binary COPY on PostgreSQL), one array per column.

Conventions shared with ``reports.build``:

- the period is ``[start, end)`` in aware UTC datetimes (either end may be open); answers are
  in it by ``answered_at``, check-ins by ``started_at``, enrolments count when made before
  ``end``;
- check-ins are counted per participant in SQL; answers to measures come as rows, because
  the pairing and the weekly means need each answer's time;
- a participant's group is their current ``Participant.group_id``; ``-1`` means no group;
- participant ids are the database ids; pseudonyms appear only in stories;
- test participants (``Participant.is_test``: the Simulator's, or marked by staff) are
  never read: no figure, count or story of a report includes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from reports.columns import read_columns
from reports.sorting import lexsort_order
from storage.models import Answer, Checkin, Enrolment, Group, Participant
from survey_flows.model import Flow

__all__ = [
    "NO_GROUP",
    "CheckinCounts",
    "MeasureAnswers",
    "Population",
    "ReportData",
    "Story",
    "counted_participants",
    "load_choice_answers",
    "load_report_data",
]

#: The group id used for participants who belong to no group.
NO_GROUP = -1

_I64 = np.int64


@dataclass(frozen=True)
class MeasureAnswers:
    """Every scored answer to one measure in the period: parallel arrays, one row per answer.

    ``answered_at`` is ``datetime64[us]`` (UTC); ``group_id`` is the participant's current
    group (``NO_GROUP`` for none).
    """

    participant_id: np.ndarray
    group_id: np.ndarray
    answered_at: np.ndarray
    score: np.ndarray

    def where(self, mask: np.ndarray) -> MeasureAnswers:
        """The rows selected by a boolean mask."""
        return MeasureAnswers(
            self.participant_id[mask],
            self.group_id[mask],
            self.answered_at[mask],
            self.score[mask],
        )


@dataclass(frozen=True)
class CheckinCounts:
    """Check-ins of the flow started in the period, counted per participant (sorted ids)."""

    participant_id: np.ndarray
    sent: np.ndarray
    completed: np.ndarray


@dataclass(frozen=True)
class Population:
    """Everyone a report counts: enrolled in the flow, or sent or answering a check-in of it.

    ``id`` is sorted; ``enrolment`` says whether the person has an enrolment in the flow made
    before the end of the period (people whose check-ins were imported may have none).
    ``withdrawn`` marks people who opted out (texted STOP or blocked the bot) before the end
    of the period; ``forgotten`` those whose data was erased at their request by then.
    """

    id: np.ndarray
    group_id: np.ndarray
    enrolment: np.ndarray
    withdrawn: np.ndarray
    forgotten: np.ndarray


@dataclass(frozen=True)
class Story:
    """One answer to a ``text`` step: the qualitative side of the report."""

    answered_at: datetime
    group_id: int
    pseudonym: str
    step_id: str
    text: str


@dataclass(frozen=True)
class ReportData:
    """All the raw material of one report, for one flow and period (every group)."""

    measures: dict[str, MeasureAnswers]
    checkins: CheckinCounts
    population: Population
    group_names: dict[int, str]
    stories: list[Story]


# --------------------------------------------------------------------------- SQL helpers


def counted_participants() -> ColumnElement[bool]:
    """The one condition on ``Participant`` that every report query reading people or
    answers applies: test participants (the Simulator's, or marked by staff) never count."""
    return Participant.is_test.is_(False)


def _in_period(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    """Conditions putting ``column`` in ``[start, end)``."""
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


# --------------------------------------------------------------------------- loading


def _measure_answers(
    session: Session,
    flow: Flow,
    start: datetime | None,
    end: datetime | None,
    groups: tuple[np.ndarray, np.ndarray],
) -> dict[str, MeasureAnswers]:
    """Scored answers to each of the flow's measures in the period, with participants' groups.

    One query for all measures (one pass over the table), each row tagged with its
    measure's position in the flow, then split in numpy and put in the order every later
    step sorts them in (participant, time, score: see ``reports.sorting``), so that none
    of them has to sort again. Rows already in that order (as the benchmark's are) or in
    the order they were given (as a live database's mostly are) cost one linear pass or
    one stable sort; others are sorted in full.
    """
    names = list(flow.measures)
    if not names:
        return {}
    code = case(*((Answer.measure == name, i) for i, name in enumerate(names)), else_=-1)
    statement = select(code, Answer.participant_id, Answer.answered_at, Answer.score).where(
        Answer.flow_id == flow.id,
        Answer.measure.in_(names),
        Answer.score.is_not(None),
        *_in_period(Answer.answered_at, start, end),
    )
    codes, pid, at, score = read_columns(session, statement, ("int", "int", "time", "float"))
    by_measure = np.argsort(codes.astype(np.int16), kind="stable")  # a linear radix sort
    bounds = np.searchsorted(codes[by_measure], np.arange(len(names) + 1))
    del codes
    out = {}
    for i, name in enumerate(names):
        rows = by_measure[bounds[i] : bounds[i + 1]]
        m_pid, m_at, m_score = pid[rows], at[rows], score[rows]
        order = lexsort_order((m_score, m_at, m_pid))
        if order is not None:
            m_pid, m_at, m_score = m_pid[order], m_at[order], m_score[order]
        out[name] = MeasureAnswers(m_pid, _lookup_group(m_pid, *groups), m_at, m_score)
    return out


def _lookup_group(pid: np.ndarray, ids: np.ndarray, group_ids: np.ndarray) -> np.ndarray:
    """Each participant's group, from the sorted participant ids and their groups."""
    if ids.size == 0:
        return np.full(pid.shape, NO_GROUP, dtype=_I64)
    at = np.clip(np.searchsorted(ids, pid), 0, ids.size - 1)
    return np.where(ids[at] == pid, group_ids[at], NO_GROUP).astype(_I64)


def _all_participant_groups(
    session: Session, end: datetime | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every participant's id (sorted), group id (``NO_GROUP`` for none) and status by the
    end of the period: 1 withdrawn (opted out), 2 forgotten, 3 both, 0 neither.

    An opt-out without a recorded time (older rows) counts as before the end.
    """
    opted_out: ColumnElement[bool] = Participant.opted_out.is_(True)
    forgotten_by_end: ColumnElement[bool] = Participant.forgotten_at.is_not(None)
    if end is not None:
        opted_out = opted_out & (
            Participant.opted_out_at.is_(None) | (Participant.opted_out_at < end)
        )
        forgotten_by_end = forgotten_by_end & (Participant.forgotten_at < end)
    withdrawn = case((opted_out, 1), else_=0)
    status = withdrawn + case((forgotten_by_end, 2), else_=0)
    statement = select(Participant.id, func.coalesce(Participant.group_id, NO_GROUP), status)
    ids, groups, flags = read_columns(session, statement, ("int", "int", "int"))
    order = np.argsort(ids, kind="stable")
    return ids[order], groups[order], flags[order]


def _test_participants(session: Session) -> np.ndarray:
    """Ids of test participants (sorted): left out of every report."""
    statement = select(Participant.id).where(~counted_participants())
    (ids,) = read_columns(session, statement, ("int",))
    return np.sort(ids)


def _without(ids: np.ndarray, tests: np.ndarray) -> np.ndarray:
    """A mask of the rows whose participant is not a test participant."""
    return ~np.isin(ids, tests)


def _checkins(
    session: Session, flow_id: str, start: datetime | None, end: datetime | None
) -> CheckinCounts:
    """Check-ins of the flow started in the period, sent and completed per participant."""
    statement = (
        select(
            Checkin.participant_id,
            func.count(),
            func.sum(case((Checkin.status == "completed", 1), else_=0)),
        )
        .where(Checkin.flow_id == flow_id, *_in_period(Checkin.started_at, start, end))
        .group_by(Checkin.participant_id)
    )
    pid, sent, completed = read_columns(session, statement, ("int", "int", "int"))
    return CheckinCounts(pid, sent, completed)


def _enrolled(session: Session, flow_id: str, end: datetime | None) -> np.ndarray:
    """Participants with an enrolment in the flow made before the end of the period."""
    statement = (
        select(Enrolment.participant_id)
        .where(Enrolment.flow_id == flow_id, *_in_period(Enrolment.enrolled_at, None, end))
        .distinct()
    )
    (pid,) = read_columns(session, statement, ("int",))
    return pid


def _stories(
    session: Session,
    flow: Flow,
    start: datetime | None,
    end: datetime | None,
) -> list[Story]:
    """Answers to the flow's ``text`` steps in the period, oldest first.

    Stories of participants who asked to be forgotten are left out: free text can identify
    someone even when the numbers kept about them cannot.
    """
    text_steps = [step.id for step in flow.steps if step.type == "text"]
    if not text_steps:
        return []
    statement = (
        select(
            Answer.answered_at,
            func.coalesce(Participant.group_id, NO_GROUP),
            Participant.pseudonym,
            Answer.step_id,
            Answer.value,
        )
        .join(Participant, Participant.id == Answer.participant_id)
        .where(
            Answer.flow_id == flow.id,
            Answer.measure.is_(None),  # text steps have none; lets the index serve the query
            Answer.step_id.in_(text_steps),
            Answer.value.is_not(None),
            Participant.forgotten_at.is_(None),
            counted_participants(),
            *_in_period(Answer.answered_at, start, end),
        )
        .order_by(Answer.answered_at, Participant.pseudonym, Answer.id)
    )
    stories = []
    for answered_at, group_id, pseudonym, step_id, value in session.execute(statement):
        text = value if isinstance(value, str) else str(value)
        if text.strip():
            stories.append(Story(answered_at, int(group_id), pseudonym, step_id, text))
    return stories


def load_choice_answers(
    session: Session,
    flow: Flow,
    step_ids: list[str],
    *,
    start: datetime | None,
    end: datetime | None,
    group_id: int | None,
    label: Callable[[str, Any], str] | None = None,
) -> dict[str, dict[int, set[str]]]:
    """Answers to the given multiple-choice steps in the period: step id -> participant id ->
    the values they picked (a skip counts as answered, with no value). With `label`, any
    step's answers, each as `label(step_id, value)` (how per-question counts name them).

    Test participants are left out as everywhere in a report; ``group_id`` limits the rows
    to one group's participants by their current group (None: everyone).
    """
    statement = (
        select(Answer.step_id, Answer.participant_id, Answer.value)
        .join(Participant, Participant.id == Answer.participant_id)
        .where(
            Answer.flow_id == flow.id,
            Answer.step_id.in_(step_ids),
            counted_participants(),
            *_in_period(Answer.answered_at, start, end),
        )
    )
    if group_id is not None:
        statement = statement.where(Participant.group_id == group_id)
    found: dict[str, dict[int, set[str]]] = {}
    for step_id, participant_id, value in session.execute(statement):
        chosen = found.setdefault(step_id, {}).setdefault(participant_id, set())
        if label is not None and value is not None:
            chosen.add(label(step_id, value))
        elif isinstance(value, str):
            chosen.add(value)
    return found


def _union(parts: list[np.ndarray]) -> np.ndarray:
    """The sorted distinct ids in any of ``parts``: marked in a table indexed by id (ids are
    a table's serial numbers, so it is small) rather than sorted, or sorted when they are
    not small positive numbers."""
    every = np.concatenate(parts).astype(_I64)
    if every.size == 0 or every.min() < 0 or every.max() > 4 * every.size + 1_000_000:
        return np.unique(every)
    seen = np.zeros(int(every.max()) + 1, dtype=bool)
    seen[every] = True
    return np.flatnonzero(seen).astype(_I64)


def _distinct_sorted(ids: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array, in one pass."""
    if ids.size == 0:
        return ids
    new = np.empty(ids.size, dtype=bool)
    new[0] = True
    np.not_equal(ids[1:], ids[:-1], out=new[1:])
    return ids[new]


def _population(
    enrolled: np.ndarray,
    checkins: CheckinCounts,
    measures: dict[str, MeasureAnswers],
    groups: tuple[np.ndarray, np.ndarray],
    status: np.ndarray,
) -> Population:
    """The union of the enrolled, the people sent check-ins and the people who answered."""
    answering = [_distinct_sorted(m.participant_id) for m in measures.values()]
    ids = _union([enrolled, checkins.participant_id, *answering])
    flags = _lookup_group(ids, groups[0], status)  # the same lookup, status for group
    flags = np.where(flags == NO_GROUP, 0, flags)
    return Population(
        id=ids,
        group_id=_lookup_group(ids, *groups),
        enrolment=np.isin(ids, enrolled),
        withdrawn=(flags & 1) > 0,
        forgotten=(flags & 2) > 0,
    )


def load_report_data(
    session: Session, flow: Flow, *, start: datetime | None, end: datetime | None
) -> ReportData:
    """Everything a report on ``flow`` over ``[start, end)`` needs, for all groups at once.

    Groups are not filtered here: suppression must weigh every group even when a report
    shows one, so that a group's report cannot undo another group's protection.
    """
    ids, group_ids, status = _all_participant_groups(session, end)
    groups = (ids, group_ids)
    tests = _test_participants(session)
    measures = _measure_answers(session, flow, start, end, groups)
    checkins = _checkins(session, flow.id, start, end)
    enrolled = _enrolled(session, flow.id, end)
    if tests.size:  # without copying ten million rows to keep them all
        measures = {
            name: answers.where(_without(answers.participant_id, tests))
            for name, answers in measures.items()
        }
        keep = _without(checkins.participant_id, tests)
        checkins = CheckinCounts(
            checkins.participant_id[keep], checkins.sent[keep], checkins.completed[keep]
        )
        enrolled = enrolled[_without(enrolled, tests)]
    group_names = {
        int(gid): str(name) for gid, name in session.execute(select(Group.id, Group.name))
    }
    return ReportData(
        measures=measures,
        checkins=checkins,
        population=_population(enrolled, checkins, measures, groups, status),
        group_names=group_names,
        stories=_stories(session, flow, start, end),
    )
