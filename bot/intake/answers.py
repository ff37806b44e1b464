"""Import check-ins collected before Groundswell (on paper, in another tool) from a CSV file.

Why: a project that has been asking its questions for months wants those answers in its
change summaries. Staff prepare the file in a spreadsheet, so every problem is reported as
`FILE:LINE: what is wrong and what to write instead`, all at once, and nothing is stored
while any row is bad: re-running a fixed file must never leave half an import behind.

Columns (header on line 1, any order, letter case ignored): participant, group, flow,
checkin, step, value, answered_at; `group` may be left out. Rows with the same participant,
flow and checkin make one completed check-in (channel "import"). Participants are known by
`participant` (kept as `Participant.external_ref`) and created, with their group, when new.
Values are read exactly as replies are (`survey_flows.reading.read_reply`): "seven" is 7,
"Hardly ever" is the choice hardly_ever with its score. `answered_at` is an ISO date or
date-time: a date alone means 12:00 UTC that day, a time without a zone means UTC. Each
check-in remembers its reference (`Checkin.state["imported_ref"]`), so a file imported
twice is refused instead of counting its answers twice.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from os import PathLike
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.intake.csv_files import (
    CsvError,
    CsvProblem,
    csv_records,
    header_problems,
    layout_problems,
    read_csv_text,
)
from storage import flow_versions
from storage.bulk import chunks, insert_many, insert_rows
from storage.database import transaction
from storage.flow_versions import Flows
from storage.models import Answer, AuditEntry, Checkin, Group, Participant, table_of
from storage.participants import fresh_pseudonyms, get_or_create_group
from survey_flows import reading
from survey_flows.checks.problems import FlowError
from survey_flows.keywords import Keyword, classify
from survey_flows.model import Flow, Step

log = logging.getLogger(__name__)

__all__ = [
    "COLUMNS",
    "AnswerImportError",
    "ImportProblem",
    "ImportResult",
    "import_answers",
    "read_answers",
]

COLUMNS = ("participant", "group", "flow", "checkin", "step", "value", "answered_at")
REQUIRED = tuple(column for column in COLUMNS if column != "group")
HEADER_EXAMPLE = ",".join(COLUMNS)
CHANNEL = "import"
NOON = time(12, 0, tzinfo=UTC)  # the time given to answers dated by day only
MAX_TEXT = 200  # Participant.external_ref and Group.name are String(200)
_BATCH = 500  # rows between progress reports; also the size of IN lists
_HINTS = {
    "participant_id": "participant", "person": "participant", "id": "participant",
    "ref": "participant", "reference": "participant", "resident": "participant",
    "name": "participant", "place": "group", "street": "group", "team": "group",
    "survey": "flow", "flow_id": "flow", "questionnaire": "flow", "check_in": "checkin",
    "checkin_id": "checkin", "round": "checkin", "wave": "checkin", "week": "checkin",
    "question": "step", "step_id": "step", "answer": "value", "reply": "value",
    "response": "value", "score": "value", "date": "answered_at", "time": "answered_at",
    "when": "answered_at", "answered": "answered_at", "answer_date": "answered_at",
}  # fmt: skip

ImportProblem = CsvProblem  # a FILE:LINE: message, the same as the roster import's
Progress = Callable[[int, int], None]


class AnswerImportError(CsvError):
    """The file cannot be imported; `problems` lists every reason, not just the first."""


@dataclass(frozen=True)
class AnswerRow:
    """One checked row: the value read by the flow's rules, the time in UTC."""

    line: int
    participant: str
    group: str | None
    flow: Flow
    checkin: str
    step: Step
    value: int | float | str | bool | list[str] | None  # a list: a multiple choice
    score: float | None
    raw: str
    answered_at: datetime


@dataclass(frozen=True)
class ImportResult:
    """What an import stored."""

    checkins: int
    answers: int
    participants_created: int
    groups_created: tuple[str, ...]
    flows: tuple[str, ...]


# --- the header ------------------------------------------------------------------------


def _column_name(cell: str) -> str:
    """A header cell as a column name: letter case, spaces and dashes do not matter."""
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


def _header(cells: list[str], name: str) -> list[str]:
    """Column names by position ('' for blank cells), or AnswerImportError."""
    columns = [_column_name(cell) for cell in cells]
    problems = header_problems(columns, COLUMNS, _HINTS, HEADER_EXAMPLE)
    missing = [column for column in REQUIRED if column not in columns]
    if any(columns) and missing:
        problems.append(
            f"the header has no {', '.join(repr(c) for c in missing)} column(s); every one of "
            f"{', '.join(REQUIRED)} is needed (group may be left out), e.g. {HEADER_EXAMPLE}"
        )
    if problems:
        raise AnswerImportError([ImportProblem(name, 1, problem) for problem in problems])
    return columns


# --- values ----------------------------------------------------------------------------


def _expects(step: Step) -> str:
    """What a step takes, in plain words."""
    low, high = _shown(step.min), _shown(step.max)
    if step.type == "scale":
        return f"a whole number from {low} to {high}"
    if step.type == "number":
        if step.min is not None and step.max is not None:
            return f"a number from {low} to {high}"
        if step.min is not None:
            return f"a number of at least {low}"
        if step.max is not None:
            return f"a number of at most {high}"
        return "a number"
    if step.type == "choice":
        listed = ", ".join(f"{c.value} ({next(iter(c.label.values()))})" for c in step.choices)
        if step.multiple:
            return (
                f"one or more of the choices {listed}, or their numbers 1 to "
                f"{len(step.choices)}, all in one row (e.g. '1 3' or '{step.choices[0].value}; "
                f"{step.choices[-1].value}')"
            )
        return f"one of the choices {listed}, or its number 1 to {len(step.choices)}"
    if step.type == "yes_no":
        return "yes or no"
    if step.max_length is not None:
        return f"a text of at most {step.max_length} characters"
    return "a text"


def _shown(number: float | None) -> str:
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else str(number)


_EMPTY = {
    "participant": "give the reference you know this person by (e.g. the number on their form)",
    "checkin": "give each check-in a reference (e.g. 2024-03 or week 1), the same on every row "
    "of that check-in",
}
_WHY = {
    reading.EMPTY: "is empty",
    reading.NOT_A_NUMBER: "is not a number",
    reading.NOT_WHOLE: "is not a whole number",
    reading.FRACTION: "is a fraction",
    reading.AMBIGUOUS: "could be read as more than one answer",
    reading.OUT_OF_RANGE: "is out of range",
    reading.UNKNOWN_CHOICE: "is not one of the choices",
    reading.NOT_YES_NO: "is not yes or no",
    reading.TOO_LONG: "is too long",
}


def _value_problem(step: Step, value: str, error: str | None) -> str:
    shown = value if len(value) <= 60 else value[:57] + "..."
    why = _WHY.get(error or "", "cannot be read")
    return f"value '{shown}' {why}; step '{step.id}' takes {_expects(step)}"


#: A number in exponent notation ("1e1", "2.5E-1"): a chat reply reader takes "1e1" as 1
#: (a resident's typo), but in a file it is a spreadsheet's way of writing 10, so refuse it.
_EXPONENT = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+\s*$")


def _plain(value: str) -> str:
    """What an exponent-notation number is, written plainly (``1e1`` -> ``10``)."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _read_value(
    step: Step, value: str, language: str, cache: dict[tuple[int, str], reading.Reading]
) -> reading.Reading | str:
    """The value read as a reply to `step` (SKIP passes over an optional step), or a problem."""
    if not value:
        return (
            "value is empty; write the answer, or leave the row out if the question was "
            "not answered"
        )
    if step.type in ("scale", "number", "choice") and _EXPONENT.match(value):
        return (
            f"value '{value}' is written with an exponent (as spreadsheets sometimes write "
            f"numbers); write the number itself, e.g. {_plain(value)}, for step '{step.id}'"
        )
    if classify(value) is Keyword.SKIP:
        if step.optional:
            return reading.Reading(ok=True)  # skipped: stored with no value, as the engine does
        return f"value '{value}' skips step '{step.id}', which cannot be skipped; write the answer"
    key = (id(step), value)  # steps live as long as the checker's flows: ids stay theirs
    found = cache.get(key)
    if found is None:
        found = cache[key] = reading.read_reply(step, value, language)
    if not found.ok:
        return _value_problem(step, value, found.error)
    return found


def parse_answered_at(value: str) -> datetime:
    """An ISO date (12:00 UTC that day) or date-time (UTC when it has no zone) as aware UTC.

    ValueError says how to write it otherwise.
    """
    text = value.strip()
    how = "write it as YYYY-MM-DD (e.g. 2024-03-05) or YYYY-MM-DD HH:MM (e.g. 2024-03-05 18:30)"
    if not text:
        raise ValueError(f"answered_at is empty; {how}")
    try:
        if len(text) <= 10:
            return datetime.combine(date.fromisoformat(text), NOON)
        moment = datetime.fromisoformat(text)
    except ValueError:
        hint = ""
        if re.fullmatch(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}.*", text):
            hint = " (the spreadsheet may have changed the date format: format the column as Text)"
        raise ValueError(f"answered_at '{text}' is not a date{hint}; {how}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- reading the file ------------------------------------------------------------------


@dataclass
class _Checker:
    """Checks rows one by one, remembering what it needs to find rows that clash."""

    name: str
    library: Flows
    now: datetime

    def __post_init__(self) -> None:
        self.flows: dict[str, Flow | str] = {}
        self.readings: dict[tuple[int, str], reading.Reading] = {}
        self.seen: dict[tuple[str, str, str, str], int] = {}
        self.groups: dict[str, tuple[str, int]] = {}  # participant -> (group, first line)

    def flow(self, name: str) -> Flow | str:
        """The flow called `name`, or the problem with it (looked up once per name)."""
        if name not in self.flows:
            try:
                self.flows[name] = self.library.resolve(name)
            except FlowError as error:
                known = ", ".join(self.library.ids()) or "none"
                if name in self.library.ids():
                    first = error.problems[0] if error.problems else "it has problems"
                    self.flows[name] = (
                        f"flow '{name}' cannot be used: its file has problems ({first}); "
                        "run `groundswell flows check` and fix them first"
                    )
                else:
                    self.flows[name] = (
                        f"flow '{name}' is not in the flows folder (flows there: {known}); "
                        "write one of those flow ids"
                    )
        return self.flows[name]

    def step(self, flow: Flow, step_id: str) -> Step | str:
        questions = [step.id for step in flow.steps if step.asks]
        try:
            step = flow.step(step_id)
        except KeyError:
            close = difflib.get_close_matches(step_id, questions, 1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            return (
                f"step '{step_id}' is not a question of flow '{flow.id}'{hint}; "
                f"its questions are {', '.join(questions)}"
            )
        if not step.asks:
            return (
                f"step '{step_id}' of flow '{flow.id}' asks nothing (it only says something); "
                f"its questions are {', '.join(questions)}"
            )
        return step

    def row(self, line: int, values: dict[str, str]) -> tuple[AnswerRow | None, list[str]]:
        """The checked row (None when unusable) and every problem with it."""
        problems: list[str] = []
        participant, checkin = values["participant"], values["checkin"]
        group = " ".join(values["group"].split()) or None
        for column, cell in (("participant", participant), ("checkin", checkin)):
            if not cell:
                problems.append(f"{column} is empty; {_EMPTY[column]}")
        for column, text in (("participant", participant), ("group", group), ("checkin", checkin)):
            if text and len(text) > MAX_TEXT:
                problems.append(
                    f"{column} is {len(text)} characters long; shorten it to {MAX_TEXT} or fewer"
                )
        if participant and group:
            problems += self.same_group(line, participant, group)
        try:
            answered_at = parse_answered_at(values["answered_at"])
        except ValueError as error:
            problems.append(str(error))
            answered_at = None
        if answered_at is not None and answered_at > self.now:
            problems.append(f"answered_at {values['answered_at']} is in the future; check the date")
        flow = self.flow(values["flow"]) if values["flow"] else "flow is empty; write a flow id"
        if isinstance(flow, str):
            return None, [*problems, flow]
        step = self.step(flow, values["step"]) if values["step"] else "step is empty"
        if isinstance(step, str):
            if step == "step is empty":
                step += f"; write the id of a question of flow '{flow.id}'"
            return None, [*problems, step]
        read = _read_value(step, values["value"], flow.language, self.readings)
        if isinstance(read, str):
            problems.append(read)
        key = (participant, flow.id, checkin, step.id)
        first = self.seen.setdefault(key, line)
        if first != line:
            together = (
                " (a question with several answers takes them all in one row, e.g. '1 3')"
                if step.multiple
                else ""
            )
            problems.append(
                f"step '{step.id}' of check-in '{checkin}' of participant '{participant}' is "
                f"already answered on line {first}; keep one of the two rows{together}"
            )
        if problems or isinstance(read, str) or answered_at is None:
            return None, problems
        value = read.value
        score = read.score if step.measure and value is not None else None
        row = AnswerRow(
            line,
            participant,
            group,
            flow,
            checkin,
            step,
            value,
            score,
            values["value"],
            answered_at,
        )
        return row, []

    def same_group(self, line: int, participant: str, group: str) -> list[str]:
        """A participant belongs to one group on every row that names one."""
        first_group, first_line = self.groups.setdefault(participant, (group, line))
        if first_group.lower() == group.lower():
            return []
        return [
            f"participant '{participant}' is in group '{first_group}' on line {first_line} but "
            f"'{group}' here; a person belongs to one group: correct one of the rows"
        ]


def _cells(
    records: Iterator[tuple[int, list[str]]], name: str
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header's columns and the non-blank records below it."""
    columns: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for line, cells in records:
        if columns is None:
            columns = _header(cells, name)
        elif any(cell.strip() for cell in cells):
            rows.append((line, cells))  # blank lines and rows of empty cells are left out
    return columns or [], rows


def read_answers(
    path: str | PathLike[str],
    library: Flows,
    now: datetime,
    *,
    progress: Progress | None = None,
) -> list[AnswerRow]:
    """Every row of the file, checked; AnswerImportError listing every bad row otherwise.

    Clashes within the file are found here; clashes with the database (a participant in
    another group, a check-in imported before) by `import_answers`, inside its transaction.
    """
    name = str(path)
    try:
        text = read_csv_text(Path(path), name, HEADER_EXAMPLE)
        records = csv_records(text, name, COLUMNS)
        columns, records_read = _cells(records, name)
    except CsvError as error:
        raise AnswerImportError(error.problems) from None
    checker = _Checker(name, library, now)
    problems: list[ImportProblem] = []
    rows: list[AnswerRow] = []
    for done, (line, cells) in enumerate(records_read, start=1):
        row_problems = layout_problems(cells, columns, COLUMNS)
        values = {column: "" for column in COLUMNS}
        for column, cell in zip(columns, cells, strict=False):
            if column:
                values[column] = cell.strip()
        row, value_problems = checker.row(line, values)
        problems += [ImportProblem(name, line, p) for p in row_problems + value_problems]
        if row is not None and not row_problems:
            rows.append(row)
        if progress is not None and (done % _BATCH == 0 or done == len(records_read)):
            progress(done, len(records_read))
    if problems:
        raise AnswerImportError(problems)
    if not rows:
        raise AnswerImportError(
            [ImportProblem(name, 1, "the file has a header but no answers below it")]
        )
    return rows


# --- storing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Known:
    """What the database already holds about the file's participants."""

    ids: dict[str, int]  # external_ref -> participant id
    groups: dict[str, str | None]  # external_ref -> group name
    imported: set[tuple[str, str, str]]  # (external_ref, flow, checkin reference)


def _known(session: Session, refs: list[str]) -> _Known:
    ids: dict[str, int] = {}
    groups: dict[str, str | None] = {}
    imported: set[tuple[str, str, str]] = set()
    for chunk in chunks(refs, _BATCH):
        people = session.execute(
            select(Participant.external_ref, Participant.id, Group.name)
            .outerjoin(Group, Group.id == Participant.group_id)
            .where(Participant.external_ref.in_(chunk))
        )
        for ref, pid, group in people:
            if ref is not None:  # always, given the IN above
                ids[ref], groups[ref] = pid, group
        checkins = session.execute(
            select(Participant.external_ref, Checkin.flow_id, Checkin.state)
            .join(Participant, Participant.id == Checkin.participant_id)
            .where(Participant.external_ref.in_(chunk), Checkin.channel == CHANNEL)
        )
        for ref, flow_id, state in checkins:
            if isinstance(state, dict) and state.get("imported_ref") is not None:
                imported.add((ref, flow_id, str(state["imported_ref"])))
    return _Known(ids, groups, imported)


def _database_problems(rows: list[AnswerRow], known: _Known, name: str) -> list[ImportProblem]:
    """Rows that clash with what is stored: another group, or a check-in imported before."""
    problems = []
    for row in rows:
        stored = known.groups.get(row.participant, "")
        if (
            row.participant in known.ids
            and row.group
            and (stored or "").lower() != row.group.lower()
        ):
            where = f"group '{stored}'" if stored else "no group"
            problems.append(
                ImportProblem(
                    name,
                    row.line,
                    f"participant '{row.participant}' is already in the database with {where}, "
                    f"not '{row.group}'; write their group as it is (or leave group empty)",
                )
            )
        if (row.participant, row.flow.id, row.checkin) in known.imported:
            problems.append(
                ImportProblem(
                    name,
                    row.line,
                    f"check-in '{row.checkin}' of participant '{row.participant}' in flow "
                    f"'{row.flow.id}' was imported before; remove its rows so its answers "
                    "are not counted twice",
                )
            )
    return problems


def _groups(session: Session, wanted: list[str]) -> tuple[dict[str, int], list[str]]:
    """Group ids by lower-case name, and the names of the groups created now.

    Names match existing groups whatever their letter case ("elm street" joins "Elm Street").
    """
    existing = {
        name.lower(): (gid, name) for gid, name in session.execute(select(Group.id, Group.name))
    }
    ids: dict[str, int] = {}
    created: list[str] = []
    for name in wanted:
        key = name.lower()
        if key in ids:
            continue
        if key in existing:
            ids[key] = existing[key][0]
        else:
            ids[key] = get_or_create_group(session, name).id
            created.append(name)
    return ids, created


def _store(
    session: Session, rows: list[AnswerRow], known: _Known, now: datetime
) -> tuple[int, int, list[str]]:
    """Write participants, groups, check-ins and answers; (check-ins, new people, new groups)."""
    group_of: dict[str, str] = {}
    for row in rows:
        if row.group:
            group_of.setdefault(row.participant, row.group)
    new_people = sorted({row.participant for row in rows} - set(known.ids))
    group_ids, created_groups = _groups(
        session, list(dict.fromkeys(group_of[ref] for ref in new_people if ref in group_of))
    )
    pseudonyms = fresh_pseudonyms(session, len(new_people))
    person_ids = dict(known.ids)
    new_ids = insert_many(
        session,
        table_of(Participant),
        [
            {
                "pseudonym": pseudonym,
                "name": None,
                "language": None,
                "timezone": None,
                "group_id": group_ids[group_of[ref].lower()] if ref in group_of else None,
                "opted_out": False,
                "opted_out_at": None,
                "external_ref": ref,
                "created_at": now,
                "forgotten_at": None,
            }
            for ref, pseudonym in zip(new_people, pseudonyms, strict=True)
        ],
    )
    person_ids.update(zip(new_people, new_ids, strict=True))
    for flow in {row.flow.version: row.flow for row in rows}.values():
        flow_versions.remember(session, flow)

    checkins: dict[tuple[str, str, str], list[AnswerRow]] = {}
    for row in rows:
        checkins.setdefault((row.participant, row.flow.id, row.checkin), []).append(row)
    checkin_ids = insert_many(
        session,
        table_of(Checkin),
        [_checkin_row(person_ids[key[0]], key[2], group) for key, group in checkins.items()],
    )
    answers = [
        {
            "checkin_id": checkin_id,
            "participant_id": person_ids[row.participant],
            "flow_id": row.flow.id,
            "flow_version": row.flow.version,
            "step_id": row.step.id,
            "part": part,
            "value": value,
            "score": row.score,
            "measure": row.step.measure,
            "raw_text": row.raw,
            "answered_at": row.answered_at,
            "channel": CHANNEL,
            "message_id": None,
        }
        for checkin_id, group in zip(checkin_ids, checkins.values(), strict=True)
        for row in group
        for part, value in _parts(row.value)
    ]
    for start in range(0, len(answers), 10 * _BATCH):
        insert_rows(session, table_of(Answer), answers[start : start + 10 * _BATCH])
    return len(checkin_ids), len(new_people), created_groups


def _parts(value: Any) -> list[tuple[int, Any]]:
    """The stored rows of one answer: (part, value); a multiple choice's values 1, 2, ..."""
    if isinstance(value, list):
        return list(enumerate(value, 1)) or [(0, None)]
    return [(0, value)]


def _checkin_row(participant_id: int, ref: str, rows: list[AnswerRow]) -> dict[str, Any]:
    """One completed check-in from its rows; its state records the file's reference."""
    flow = rows[0].flow
    started = min(row.answered_at for row in rows)
    finished = max(row.answered_at for row in rows)
    return {
        "participant_id": participant_id,
        "enrolment_id": None,
        "flow_id": flow.id,
        "flow_version": flow.version,
        "channel": CHANNEL,
        "status": "completed",
        "state": {
            "flow_id": flow.id,
            "flow_version": flow.version,
            "status": "completed",
            "waiting_for": None,
            "attempts": 0,
            "answers": {row.step.id: row.value for row in rows},
            "language": None,
            "started_at": started.isoformat(),
            "asked_at": None,
            "reminders_sent": 0,
            "imported_ref": ref,
        },
        "started_at": started,
        "finished_at": finished,
        "scheduled_for": None,
        "next_timer_at": None,
        "reminders_sent": 0,
    }


def import_answers(
    sessions: sessionmaker[Session],
    path: str | PathLike[str],
    library: Flows,
    now: datetime,
    *,
    progress: Progress | None = None,
    actor: str = "command line",
) -> ImportResult:
    """Store every check-in of the file as a completed check-in with its answers.

    All or nothing: AnswerImportError (every bad row, as FILE:LINE: message) stores
    nothing. `progress(done, total)` is called as rows are checked. Logs counts only.
    """
    name = str(path)
    rows = read_answers(path, library, now, progress=progress)
    with transaction(sessions) as session:
        known = _known(session, sorted({row.participant for row in rows}))
        problems = _database_problems(rows, known, name)
        if problems:
            raise AnswerImportError(problems)
        checkins, people, groups = _store(session, rows, known, now)
        session.add(
            AuditEntry(
                at=now,
                actor=actor,
                action="imported answers",
                subject=f"{len(rows)} answers in {checkins} check-ins from {Path(path).name}",
            )
        )
    flows = tuple(sorted({row.flow.id for row in rows}))
    log.info(
        "imported %d answers in %d check-ins (%d new participants, %d new groups)",
        len(rows),
        checkins,
        people,
        len(groups),
    )
    return ImportResult(checkins, len(rows), people, tuple(groups), flows)
