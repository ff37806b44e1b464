"""Export every answer, one row each: the raw material behind every figure in a report.

A funder or council can recompute each figure of the JSON report from this file alone
(a test does exactly that), so the export names participants only by pseudonym and gives
each answer's group, flow version, check-in, step, value, score, measure, time and channel.

Rows are streamed (``yield_per``, a server-side cursor on PostgreSQL), so exporting a
million answers holds one batch in memory, not the whole table.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reports.formats.cells import cell
from storage.database import transaction
from storage.models import Answer, Group, Participant

__all__ = ["ANSWER_COLUMNS", "answer_cells", "export_answers", "iso_utc", "write_answers_csv"]

ANSWER_COLUMNS = [
    "participant",
    "group",
    "flow",
    "flow_version",
    "checkin",
    "step",
    "value",
    "score",
    "measure",
    "answered_at",
    "channel",
]

_BATCH = 5_000


def export_answers(
    sessions: sessionmaker[Session], flow: str | None = None, *, batch: int = _BATCH
) -> Iterator[dict[str, Any]]:
    """Every answer (of flow ``flow``, or all flows), oldest id first, as a dict per row.

    Keys are ``ANSWER_COLUMNS``; values are as stored (``answered_at`` an aware UTC
    datetime, ``value`` a str / number / bool / None). The read-only transaction stays open
    while the rows are consumed, so the export is one consistent snapshot.
    """
    statement = (
        select(
            Participant.pseudonym,
            Group.name,
            Answer.flow_id,
            Answer.flow_version,
            Answer.checkin_id,
            Answer.step_id,
            Answer.value,
            Answer.score,
            Answer.measure,
            Answer.answered_at,
            Answer.channel,
        )
        .join(Participant, Participant.id == Answer.participant_id)
        .outerjoin(Group, Group.id == Participant.group_id)
        .order_by(Answer.id)
    )
    if flow is not None:
        statement = statement.where(Answer.flow_id == flow)
    with transaction(sessions, readonly=True) as session:
        result = session.execute(statement.execution_options(yield_per=batch))
        for row in result:
            yield dict(zip(ANSWER_COLUMNS, row, strict=True))


def iso_utc(at: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with microseconds and ``Z``."""
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _value_cell(value: Any) -> str:
    """An answer's value as a cell: yes/no for booleans, numbers in full, text as given."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | dict):
        return cell(json.dumps(value, ensure_ascii=False))
    return cell(value)


def answer_cells(row: dict[str, Any]) -> list[str]:
    """One exported answer as CSV cells in ``ANSWER_COLUMNS`` order."""
    return [
        cell(row["participant"]),
        cell(row["group"]),
        cell(row["flow"]),
        cell(row["flow_version"]),
        cell(row["checkin"]),
        cell(row["step"]),
        _value_cell(row["value"]),
        cell(row["score"]),
        cell(row["measure"]),
        iso_utc(row["answered_at"]),
        cell(row["channel"]),
    ]


def write_answers_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Write a header and the rows as CSV to ``out``; returns the number of answers."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ANSWER_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(answer_cells(row))
        count += 1
    return count
