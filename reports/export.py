"""Export answers, check-ins and enrolments, one row each: the raw material of a report.

A funder or council can recompute each figure of the JSON report from these three files
alone (a test does exactly that): the measure figures and stories from the answers, the
participation counts and attrition from the check-ins and enrolments with them. The
exports name participants only by pseudonym; a participant who asked to be forgotten
appears as the report counts them, under their pseudonym (their name is erased and, unless
their answers were kept, their answers and check-ins are gone). Each row's ``group`` is the
participant's current group, the one the report counts them in. An answer to a
`multiple: true` choice question is one row per chosen value, ``part`` 1, 2, ...; every
other answer is one row with ``part`` 0.

Rows are streamed (``yield_per``, a server-side cursor on PostgreSQL), so exporting a
million rows holds one batch in memory, not the whole table.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Select, case, select, type_coerce
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from reports.data import counted_participants
from reports.formats.cells import cell
from storage.database import transaction
from storage.models import Answer, Checkin, Enrolment, Group, Participant

__all__ = [
    "ANSWER_COLUMNS",
    "CHECKIN_COLUMNS",
    "ENROLMENT_COLUMNS",
    "answer_cells",
    "checkin_cells",
    "enrolment_cells",
    "export_answers",
    "export_checkins",
    "export_enrolments",
    "iso_utc",
    "write_answers_csv",
    "write_checkins_csv",
    "write_csv",
    "write_enrolments_csv",
]

ANSWER_COLUMNS = [
    "participant",
    "group",
    "flow",
    "flow_version",
    "checkin",
    "step",
    "part",
    "value",
    "score",
    "measure",
    "answered_at",
    "channel",
]

CHECKIN_COLUMNS = [
    "participant",
    "group",
    "flow",
    "flow_version",
    "checkin",
    "status",
    "started_at",
    "finished_at",
    "channel",
    "scheduled_for",
]

ENROLMENT_COLUMNS = [
    "participant",
    "group",
    "flow",
    "enrolled_at",
    "active",
    "withdrawn_at",
    "forgotten_at",
]

_BATCH = 5_000


def _stream(
    sessions: sessionmaker[Session], statement: Select[Any], columns: list[str], batch: int
) -> Iterator[dict[str, Any]]:
    """The rows of ``statement`` as dicts keyed by ``columns``, fetched ``batch`` at a time.

    The read-only transaction stays open while the rows are consumed, so an export is one
    consistent snapshot.
    """
    with transaction(sessions, readonly=True) as session:
        result = session.execute(statement.execution_options(yield_per=batch))
        for row in result:
            yield dict(zip(columns, row, strict=True))


def _export(
    sessions: sessionmaker[Session],
    model: type[Answer | Checkin | Enrolment],
    columns: Sequence[InstrumentedAttribute[Any] | ColumnElement[Any]],
    names: list[str],
    flow: str | None,
    batch: int,
    include_tests: bool = False,
) -> Iterator[dict[str, Any]]:
    """Stream ``model`` rows as pseudonym, group, then ``columns``: the one export query.

    Test participants (the Simulator's, or marked by staff) are left out unless
    ``include_tests``: reports never count them, so the exports that check reports do not
    either."""
    statement = (
        select(Participant.pseudonym, Group.name, *columns)
        .join(Participant, Participant.id == model.participant_id)
        .outerjoin(Group, Group.id == Participant.group_id)
        .order_by(model.id)
    )
    if flow is not None:
        statement = statement.where(model.flow_id == flow)
    if not include_tests:
        statement = statement.where(counted_participants())
    return _stream(sessions, statement, names, batch)


def export_answers(
    sessions: sessionmaker[Session],
    flow: str | None = None,
    *,
    batch: int = _BATCH,
    include_tests: bool = False,
) -> Iterator[dict[str, Any]]:
    """Every answer (of flow ``flow``, or all flows), oldest id first, as a dict per row.

    Keys are ``ANSWER_COLUMNS``; values are as stored (``answered_at`` an aware UTC
    datetime, ``value`` a str / number / bool / None). The read-only transaction stays open
    while the rows are consumed, so the export is one consistent snapshot.
    """
    columns = (
        Answer.flow_id,
        Answer.flow_version,
        Answer.checkin_id,
        Answer.step_id,
        Answer.part,
        Answer.value,
        Answer.score,
        Answer.measure,
        Answer.answered_at,
        Answer.channel,
    )
    return _export(sessions, Answer, columns, ANSWER_COLUMNS, flow, batch, include_tests)


def export_checkins(
    sessions: sessionmaker[Session],
    flow: str | None = None,
    *,
    batch: int = _BATCH,
    include_tests: bool = False,
) -> Iterator[dict[str, Any]]:
    """Every check-in (of flow ``flow``, or all flows), oldest id first, as a dict per row.

    Keys are ``CHECKIN_COLUMNS``; times are aware UTC datetimes (``finished_at`` and
    ``scheduled_for`` may be None). Check-ins with no answers are here too: the report
    counts every check-in started as sent, and the completed ones as completed.
    """
    columns = (
        Checkin.flow_id,
        Checkin.flow_version,
        Checkin.id,
        Checkin.status,
        Checkin.started_at,
        Checkin.finished_at,
        Checkin.channel,
        Checkin.scheduled_for,
    )
    return _export(sessions, Checkin, columns, CHECKIN_COLUMNS, flow, batch, include_tests)


def export_enrolments(
    sessions: sessionmaker[Session],
    flow: str | None = None,
    *,
    batch: int = _BATCH,
    include_tests: bool = False,
) -> Iterator[dict[str, Any]]:
    """Every enrolment (in flow ``flow``, or all flows), oldest id first, as a dict per row.

    Keys are ``ENROLMENT_COLUMNS``; ``enrolled_at`` is an aware UTC datetime, ``active`` a
    bool. ``group`` is the participant's current group (as in the report), not the group
    recorded when they enrolled. ``withdrawn_at`` is when the person opted out (texted STOP
    or blocked the service; None if they have not), ``forgotten_at`` when their data was
    erased at their request: the report's withdrawn and forgotten stages.
    """
    columns = (
        Enrolment.flow_id,
        Enrolment.enrolled_at,
        Enrolment.active,
        type_coerce(
            case((Participant.opted_out.is_(True), Participant.opted_out_at), else_=None),
            Participant.opted_out_at.type,
        ),
        Participant.forgotten_at,
    )
    return _export(sessions, Enrolment, columns, ENROLMENT_COLUMNS, flow, batch, include_tests)


def iso_utc(at: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with microseconds and ``Z``."""
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _time_cell(at: datetime | None) -> str:
    """An optional time as a cell: ``iso_utc``, or empty for None."""
    return "" if at is None else iso_utc(at)


def _value_cell(value: Any) -> str:
    """An answer's value as a cell: yes/no for booleans, numbers in full, text as given."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | dict):
        return cell(json.dumps(value, ensure_ascii=False))
    return cell(value)


def _bool_cell(value: Any) -> str:
    """A stored flag as a cell: ``true`` or ``false`` (never empty)."""
    return cell(bool(value))


_ANSWER_CELLS: dict[str, Callable[[Any], str]] = {"value": _value_cell, "answered_at": iso_utc}
_CHECKIN_CELLS: dict[str, Callable[[Any], str]] = {
    "started_at": iso_utc,
    "finished_at": _time_cell,
    "scheduled_for": _time_cell,
}
_ENROLMENT_CELLS: dict[str, Callable[[Any], str]] = {
    "enrolled_at": iso_utc,
    "active": _bool_cell,
    "withdrawn_at": _time_cell,
    "forgotten_at": _time_cell,
}


def _cells(
    row: dict[str, Any], columns: list[str], special: dict[str, Callable[[Any], str]]
) -> list[str]:
    """``row`` as CSV cells in ``columns`` order, by ``cell`` unless ``special`` names another."""
    return [special.get(column, cell)(row[column]) for column in columns]


def answer_cells(row: dict[str, Any]) -> list[str]:
    """One exported answer as CSV cells in ``ANSWER_COLUMNS`` order."""
    return _cells(row, ANSWER_COLUMNS, _ANSWER_CELLS)


def checkin_cells(row: dict[str, Any]) -> list[str]:
    """One exported check-in as CSV cells in ``CHECKIN_COLUMNS`` order."""
    return _cells(row, CHECKIN_COLUMNS, _CHECKIN_CELLS)


def enrolment_cells(row: dict[str, Any]) -> list[str]:
    """One exported enrolment as CSV cells in ``ENROLMENT_COLUMNS`` order."""
    return _cells(row, ENROLMENT_COLUMNS, _ENROLMENT_CELLS)


def write_csv(
    rows: Iterable[dict[str, Any]],
    out: TextIO,
    columns: list[str],
    cells: Callable[[dict[str, Any]], list[str]],
) -> int:
    """Write the header ``columns`` and each row's ``cells`` as CSV; returns the row count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(cells(row))
        count += 1
    return count


def write_answers_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Write a header and the answers as CSV to ``out``; returns the number of answers."""
    return write_csv(rows, out, ANSWER_COLUMNS, answer_cells)


def write_checkins_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Write a header and the check-ins as CSV to ``out``; returns the number of check-ins."""
    return write_csv(rows, out, CHECKIN_COLUMNS, checkin_cells)


def write_enrolments_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Write a header and the enrolments as CSV to ``out``; returns the number of enrolments."""
    return write_csv(rows, out, ENROLMENT_COLUMNS, enrolment_cells)
