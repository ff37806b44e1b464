"""The inbound path's statements, prepared once, returning typed rows.

Built and compiled once and run on the DBAPI cursor (see `storage.bulk.Prepared`): building
a statement per message, and SQLAlchemy's execution around it, cost several times what the
database takes to run it. `bot.checkins` reads a sender and their open check-in with
`sender_and_open_checkin`, saves an outcome with `save_outcome` and reads last time's answers
with `previous_answers`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, bindparam, insert, literal_column, select, update

from storage.bulk import Prepared
from storage.models import Answer, ChannelAddress, Checkin, Participant, table_of

_PARTICIPANTS = table_of(Participant)
_ADDRESSES = table_of(ChannelAddress)
_CHECKINS = table_of(Checkin)
_ANSWERS = table_of(Answer)


class PersonRow(NamedTuple):
    """What the host reads of a participant to run a check-in (the columns of `_SENDER`)."""

    id: int
    pseudonym: str
    name: str | None
    language: str | None
    opted_out: bool
    group_id: int | None

    @classmethod
    def of(cls, participant: Participant) -> PersonRow:
        """The row of a participant loaded as an ORM object."""
        return cls(
            participant.id,
            participant.pseudonym,
            participant.name,
            participant.language,
            participant.opted_out,
            participant.group_id,
        )


class OpenCheckin(NamedTuple):
    """What the host needs of an open check-in to apply an outcome (the columns of `_ACTIVE`)."""

    id: int
    participant_id: int
    flow_version: str
    channel: str
    status: str
    state: dict[str, Any]
    finished_at: datetime | None

    @classmethod
    def of(cls, checkin: Checkin) -> OpenCheckin:
        """The row of a check-in loaded as an ORM object."""
        return cls(
            checkin.id,
            checkin.participant_id,
            checkin.flow_version,
            checkin.channel,
            checkin.status,
            checkin.state,
            checkin.finished_at,
        )


_SENDER_COLUMNS = (
    _PARTICIPANTS.c.id,
    _PARTICIPANTS.c.pseudonym,
    _PARTICIPANTS.c.name,
    _PARTICIPANTS.c.language,
    _PARTICIPANTS.c.opted_out,
    _PARTICIPANTS.c.group_id,
)
_OPEN_COLUMNS = (
    _CHECKINS.c.id,
    _CHECKINS.c.participant_id,
    _CHECKINS.c.flow_version,
    _CHECKINS.c.channel,
    _CHECKINS.c.status,
    _CHECKINS.c.state,
    _CHECKINS.c.finished_at,
)
_FROM_ADDRESS = (
    _ADDRESSES.c.channel == bindparam("channel"),
    _ADDRESSES.c.address == bindparam("address"),
)
# A literal, not a parameter: SQLite re-plans a statement at every execution when a
# parameter decides whether a partial index (here uq_checkins_one_active) applies.
_IS_OPEN = _CHECKINS.c.status == literal_column("'active'")
# The sender and their open check-in, both row-locked (PostgreSQL; on SQLite the
# transaction's BEGIN IMMEDIATE holds the one write lock): the usual case in one round
# trip. No row when there is no such sender or no open check-in; and when a concurrent
# transaction held the locks and closed the check-in meanwhile, PostgreSQL re-checks
# the join on the rows as committed and returns none either. The caller then asks again
# in two steps (`_SENDER`, `_ACTIVE`), which see everything committed before them.
_SENDER_AND_OPEN = Prepared(
    select(*_SENDER_COLUMNS, *[c.label(f"checkin_{c.key}") for c in _OPEN_COLUMNS])
    .join(_ADDRESSES, _ADDRESSES.c.participant_id == _PARTICIPANTS.c.id)
    .join(_CHECKINS, and_(_CHECKINS.c.participant_id == _PARTICIPANTS.c.id, _IS_OPEN))
    .where(*_FROM_ADDRESS)
    .with_for_update(of=[_PARTICIPANTS, _CHECKINS])
)
_SENDER = Prepared(
    select(*_SENDER_COLUMNS)
    .join(_ADDRESSES, _ADDRESSES.c.participant_id == _PARTICIPANTS.c.id)
    .where(*_FROM_ADDRESS)
    .with_for_update(of=_PARTICIPANTS)
)
_ACTIVE = Prepared(
    select(*_OPEN_COLUMNS)
    .where(_CHECKINS.c.participant_id == bindparam("participant_id"), _IS_OPEN)
    .with_for_update()
)
STATE_COLUMNS = ("state", "status", "reminders_sent", "finished_at", "next_timer_at")
ANSWER_COLUMNS = (
    "checkin_id",
    "participant_id",
    "flow_id",
    "flow_version",
    "step_id",
    "part",
    "value",
    "score",
    "measure",
    "raw_text",
    "answered_at",
    "channel",
    "message_id",
)
_SAVE_STATE = Prepared(
    update(_CHECKINS).where(_CHECKINS.c.id == bindparam("checkin_id")), STATE_COLUMNS
)
_INSERT_ANSWER = Prepared(insert(_ANSWERS), ANSWER_COLUMNS)
# PostgreSQL: the new state and the one answer in one statement (one round trip).
_SAVE_STATE_AND_ANSWER = Prepared(
    update(_CHECKINS)
    .where(_CHECKINS.c.id == bindparam("checkin_id"))
    .values({c: bindparam(c, type_=_CHECKINS.c[c].type) for c in STATE_COLUMNS})
    .add_cte(
        insert(_ANSWERS)
        .values({c: bindparam(c, type_=_ANSWERS.c[c].type) for c in ANSWER_COLUMNS})
        .cte("answer")
    )
)
_LAST_COMPLETED = (
    select(_CHECKINS.c.id)
    .where(
        _CHECKINS.c.participant_id == bindparam("participant_id"),
        _CHECKINS.c.flow_id == bindparam("flow_id"),
        _CHECKINS.c.status == literal_column("'completed'"),
    )
    .order_by(_CHECKINS.c.started_at.desc(), _CHECKINS.c.id.desc())
    .limit(1)
)
_PREVIOUS = Prepared(
    select(_ANSWERS.c.step_id, _ANSWERS.c.value, _ANSWERS.c.part)
    .where(_ANSWERS.c.checkin_id == _LAST_COMPLETED.scalar_subquery())
    .order_by(_ANSWERS.c.step_id, _ANSWERS.c.part)
)


def sender_and_open_checkin(
    connection: Connection, channel: str, address: str
) -> tuple[PersonRow | None, OpenCheckin | None]:
    """The participant at (`channel`, `address`) and their open check-in, both row-locked."""
    sender = {"channel": channel, "address": address}
    found = _SENDER_AND_OPEN.first(connection, sender)
    if found is not None:
        return PersonRow._make(found[:6]), OpenCheckin._make(found[6:])
    person = _SENDER.first(connection, sender)
    if person is None:
        return None, None
    return PersonRow._make(person), open_checkin(connection, person[0])


def open_checkin(connection: Connection, participant_id: int) -> OpenCheckin | None:
    """The participant's open check-in, row-locked, or None."""
    found = _ACTIVE.first(connection, {"participant_id": participant_id})
    return OpenCheckin._make(found) if found is not None else None


def save_outcome(
    connection: Connection, state: dict[str, Any], answers: list[dict[str, Any]]
) -> None:
    """Save a check-in's new state (`STATE_COLUMNS` and `checkin_id`) and its new answers
    (`ANSWER_COLUMNS`): on PostgreSQL one answer goes in the same statement as the state."""
    answers = list(answers)
    if len(answers) == 1 and connection.dialect.name == "postgresql":
        _SAVE_STATE_AND_ANSWER.rows(connection, state | answers.pop())
    else:
        _SAVE_STATE.rows(connection, state)
    for row in answers:
        _INSERT_ANSWER.rows(connection, row)


def previous_answers(connection: Connection, participant_id: int, flow_id: str) -> dict[str, Any]:
    """The answers of the participant's last completed check-in of this flow."""
    rows = _PREVIOUS.rows(connection, {"participant_id": participant_id, "flow_id": flow_id})
    previous: dict[str, Any] = {}
    for step, value, part in rows:
        if part:  # a multiple choice: its chosen values, as a list
            previous.setdefault(step, []).append(value)
        else:
            previous[step] = value
    return previous
