"""Import participants from a CSV roster: check every row first, then store all or nothing.

Rosters are made by project staff in a spreadsheet, so every problem is reported as
`FILE:LINE: what is wrong and what to write instead`, all problems at once, and nothing is
stored while any row is bad: a half-imported roster would be hard to repair by hand.

Columns (header required, any order, letter case ignored): name, phone, whatsapp, telegram,
language, timezone, group. One of phone/whatsapp/telegram must be present in the header; a
missing column counts as empty. Each row needs a phone number (SMS), a WhatsApp number or a
Telegram chat id, and may have more than one. Addresses that already
belong to a participant in the database are errors, never merged: an import only ever
creates new people, so a typo cannot silently attach someone to another person's record.
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from os import PathLike
from pathlib import Path

import phonenumbers
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
from bot.settings import Settings
from storage.bulk import chunks
from storage.database import transaction
from storage.models import AuditEntry, ChannelAddress, Enrolment, Group, Participant
from storage.participants import fresh_pseudonyms, get_or_create_group
from survey_flows.model import Flow

log = logging.getLogger(__name__)

COLUMNS = ("name", "phone", "whatsapp", "telegram", "language", "timezone", "group")
# The columns that reach a person, with the channel each one stores.
ADDRESS_COLUMNS = {"phone": "sms", "whatsapp": "whatsapp", "telegram": "telegram"}
HEADER_EXAMPLE = ",".join(COLUMNS)
MAX_TEXT = 200  # Participant.name and Group.name are String(200)
LANGUAGE = re.compile(r"[a-z]{2,3}(?:[-_][a-z0-9]{2,8})*", re.IGNORECASE)
TELEGRAM_ID = re.compile(r"-?\d{1,20}")
# Ofcom keeps 07700 900000-900999 for films and examples; phonenumbers calls them invalid,
# but staff trying Groundswell out (and the fake Twilio server) use them. No phone has one.
FICTIONAL_MOBILES = "+447700900"
_BATCH = 500  # rows stored between flushes and progress reports; also the size of IN lists
_HINTS = {
    "mobile": "phone", "phone number": "phone", "telephone": "phone", "tel": "phone",
    "number": "phone", "sms": "phone", "chat id": "telegram", "chat_id": "telegram",
    "telegram id": "telegram", "whatsapp number": "whatsapp", "whats app": "whatsapp",
    "wa": "whatsapp", "lang": "language", "tz": "timezone", "time zone": "timezone",
    "zone": "timezone", "team": "group", "street": "group", "full name": "name",
    "first name": "name",
}  # fmt: skip

Progress = Callable[[int, int], None]


RosterProblem = CsvProblem  # one thing wrong with a roster file, as FILE:LINE: message


class RosterError(CsvError):
    """The roster cannot be imported; `problems` lists every reason, not just the first."""


@dataclass(frozen=True)
class RosterRow:
    """One checked row: phone and whatsapp in E.164, telegram a chat id string, empty
    values None."""

    line: int
    name: str | None
    phone: str | None
    whatsapp: str | None
    telegram: str | None
    language: str | None
    timezone: str | None
    group: str | None


@dataclass(frozen=True)
class ImportResult:
    """What an import created."""

    created: int
    groups_created: tuple[str, ...]
    flow_id: str


# --- reading the file --------------------------------------------------------------------


def _header(cells: list[str], name: str) -> list[str]:
    """Column names by position ('' for blank header cells), or RosterError."""
    columns = [" ".join(cell.split()).lower() for cell in cells]
    problems = header_problems(columns, COLUMNS, _HINTS, HEADER_EXAMPLE)
    unknown = any(column and column not in COLUMNS for column in columns)
    if any(columns) and not unknown and not set(ADDRESS_COLUMNS) & set(columns):
        problems.append(
            "the header has no 'phone', 'whatsapp' or 'telegram' column; add at least one, "
            f"e.g. {HEADER_EXAMPLE}"
        )
    if problems:
        raise RosterError([RosterProblem(name, 1, problem) for problem in problems])
    return columns


# --- checking values ---------------------------------------------------------------------


def _spreadsheet_number(value: str) -> bool:
    """True for numbers a spreadsheet has turned into 4.47E+11 or 123.0 form."""
    return bool(re.fullmatch(r"-?\d+(\.\d+)?[eE]\+?\d+|-?\d+\.0+", value))


_AS_TEXT = (
    "the spreadsheet changed it into a decimal number: format the column as Text and type it again"
)


def phone_number(value: str, region: str, column: str = "phone") -> str:
    """A phone number in E.164 form; ValueError saying how to write it otherwise (the
    message names the value `column`, e.g. 'whatsapp')."""
    number, problem = _phone(value.strip(), region, column)
    if number is None:
        raise ValueError(problem)
    return number


def _phone(value: str, region: str, column: str = "phone") -> tuple[str | None, str | None]:
    """(E.164 number, None) or (None, problem); `column` names the value in the problem."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is not None:
        national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
        world = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        how = f"write it like {national}, or with the country code like {world}"
    else:
        how = "write it with the country code, like +44 7400 123456"
    if _spreadsheet_number(value):
        return None, f"{column} '{value}' is not a phone number; {_AS_TEXT}"
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None, f"{column} '{value}' is not a phone number; {how}"
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(number) and not e164.startswith(FICTIONAL_MOBILES):
        where = "" if value.lstrip().startswith(("+", "00")) else f" {region}"
        return None, (
            f"{column} '{value}' is not a valid{where} phone number (a digit missing or extra?); "
            + how
        )
    return e164, None


def _telegram(value: str) -> tuple[str | None, str | None]:
    """(chat id as a string of digits, None) or (None, problem)."""
    if TELEGRAM_ID.fullmatch(value):
        return str(int(value)), None
    if _spreadsheet_number(value):
        return None, f"telegram '{value}' is not a chat id; {_AS_TEXT}"
    if value.startswith("@"):
        return None, (
            f"telegram '{value}' is a username; usernames cannot be used, give the chat id, "
            "a whole number such as 123456789"
        )
    return None, (
        f"telegram '{value}' is not a chat id; write the chat id as a whole number such as "
        "123456789 (group chats start with -)"
    )


def _language(value: str) -> tuple[str | None, str | None]:
    """(lower-case code like 'pt-br', None): the form flow files use for their texts."""
    if LANGUAGE.fullmatch(value):
        return value.lower().replace("_", "-"), None
    return (
        None,
        f"language '{value}' is not a language code; use a short code such as en, cy or pt-BR",
    )


@functools.cache
def _zones() -> dict[str, str]:
    """Every IANA zone name, keyed by its lower-case form."""
    return {zone.lower(): zone for zone in zoneinfo.available_timezones()}


def _timezone(value: str) -> tuple[str | None, str | None]:
    """(IANA zone name in its proper spelling, None) or (None, problem)."""
    zone = _zones().get(value.lower())
    if zone is not None:
        return zone, None
    close = difflib.get_close_matches(value, sorted(_zones().values()), 1, 0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return None, (
        f"timezone '{value}' is not a time zone{hint}; use a name such as Europe/London, "
        "or leave it empty for the project's default"
    )


def _text(column: str, value: str) -> tuple[str | None, str | None]:
    if len(value) > MAX_TEXT:
        return None, f"{column} is {len(value)} characters long; shorten it to {MAX_TEXT} or fewer"
    return value, None


def _check_row(
    line: int, values: dict[str, str], settings: Settings
) -> tuple[RosterRow, list[str]]:
    """The row's usable values (None where unusable) and the problems with it."""
    problems: list[str] = []

    def use(value: str, check: Callable[[str], tuple[str | None, str | None]]) -> str | None:
        if not value:
            return None
        result, problem = check(value)
        if problem:
            problems.append(problem)
        return result

    region = settings.default_region
    row = RosterRow(
        line=line,
        name=use(values["name"], lambda v: _text("name", v)),
        phone=use(values["phone"], lambda v: _phone(v, region)),
        whatsapp=use(values["whatsapp"], lambda v: _phone(v, region, "whatsapp")),
        telegram=use(values["telegram"], _telegram),
        language=use(values["language"], _language),
        timezone=use(values["timezone"], _timezone),
        group=use(" ".join(values["group"].split()), lambda v: _text("group", v)),
    )
    if not any(values[column] for column in ADDRESS_COLUMNS):
        problems.append(
            "this row has no phone number, whatsapp number or telegram chat id; "
            "give at least one so we can reach the person"
        )
    return row, problems


def read_roster(path: str | PathLike[str], settings: Settings) -> list[RosterRow]:
    """Every row of the roster, checked; RosterError listing every bad row otherwise.

    Duplicates within the file are found here; addresses already in the database are
    checked by `import_participants`, inside the transaction that stores the rows.
    """
    name = str(path)
    problems: list[RosterProblem] = []
    rows: list[RosterRow] = []
    seen: dict[tuple[str, str], int] = {}
    columns: list[str] | None = None
    try:
        text = read_csv_text(Path(path), name, HEADER_EXAMPLE)
        for line, cells in csv_records(text, name, COLUMNS):
            if columns is None:
                columns = _header(cells, name)
                continue
            if not any(cell.strip() for cell in cells):
                continue  # blank lines and rows of empty cells, as spreadsheets leave them
            row_problems = layout_problems(cells, columns, COLUMNS)
            values = {column: "" for column in COLUMNS}
            for column, cell in zip(columns, cells, strict=False):
                if column:
                    values[column] = cell.strip()
            row, value_problems = _check_row(line, values, settings)
            row_problems += value_problems
            for column in ADDRESS_COLUMNS:
                address = getattr(row, column)
                if address is None:
                    continue
                first = seen.setdefault((column, address), line)
                if first != line:
                    row_problems.append(
                        f"the {column} on this row is also on line {first}; each person needs "
                        f"their own {column}: remove one of the rows or correct it"
                    )
            problems += [RosterProblem(name, line, problem) for problem in row_problems]
            if not row_problems:
                rows.append(row)
    except CsvError as error:  # unreadable CSV: stop, but keep what was found before
        raise RosterError(problems + error.problems) from None
    if problems:
        raise RosterError(problems)
    if not rows:
        raise RosterError(
            [RosterProblem(name, 1, "the file has a header but no participants below it")]
        )
    return rows


# --- storing -----------------------------------------------------------------------------


def _known_addresses(session: Session, rows: list[RosterRow], name: str) -> list[RosterProblem]:
    """Rows whose phone, WhatsApp number or chat id already belongs to a participant."""
    problems = []
    for column, channel in ADDRESS_COLUMNS.items():
        wanted = {getattr(row, column): row.line for row in rows if getattr(row, column)}
        owners: dict[str, str] = {}
        for chunk in chunks(sorted(wanted), _BATCH):
            found = session.execute(
                select(ChannelAddress.address, Participant.pseudonym)
                .join(Participant, Participant.id == ChannelAddress.participant_id)
                .where(ChannelAddress.channel == channel, ChannelAddress.address.in_(chunk))
            )
            owners.update({address: pseudonym for address, pseudonym in found})
        for address, pseudonym in owners.items():
            problems.append(
                RosterProblem(
                    name,
                    wanted[address],
                    f"the {column} on this row already belongs to participant {pseudonym}; "
                    "imports never merge people, so remove this row (or correct the "
                    f"{column} if this is someone else)",
                )
            )
    return sorted(problems, key=lambda problem: problem.line)


def _groups(session: Session, rows: list[RosterRow]) -> tuple[dict[str, Group], list[str]]:
    """The rows' groups by name, and the names of those created now.

    Names match existing groups whatever their letter case ("elm street" joins "Elm Street").
    """
    existing = {name.lower(): name for name in session.scalars(select(Group.name))}
    by_name: dict[str, Group] = {}
    created: list[str] = []
    for row in rows:
        if row.group is None or row.group in by_name:
            continue
        spelling = existing.get(row.group.lower())
        if spelling is None:
            spelling = row.group
            existing[row.group.lower()] = row.group
            created.append(row.group)
        if spelling not in by_name:
            by_name[spelling] = get_or_create_group(session, spelling)
        by_name[row.group] = by_name[spelling]
    return by_name, created


def import_participants(
    sessions: sessionmaker[Session],
    path: str | PathLike[str],
    flow: Flow,
    settings: Settings,
    now: datetime,
    *,
    progress: Progress | None = None,
    actor: str = "command line",
) -> ImportResult:
    """Create a participant, their addresses and an enrolment in `flow` for every row.

    All or nothing: RosterError (every bad row, as FILE:LINE: message) stores nothing.
    `progress(done, total)` is called as rows are stored. Logs counts only, never an
    address or a name.
    """
    name = str(path)
    rows = read_roster(path, settings)
    with transaction(sessions) as session:
        problems = _known_addresses(session, rows, name)
        if problems:
            raise RosterError(problems)
        groups, created_groups = _groups(session, rows)
        pseudonyms = fresh_pseudonyms(session, len(rows))
        for done, (row, pseudonym) in enumerate(zip(rows, pseudonyms, strict=True), start=1):
            group = groups.get(row.group) if row.group else None
            group_id = group.id if group else None
            participant = Participant(
                pseudonym=pseudonym,
                name=row.name,
                language=row.language,
                timezone=row.timezone,  # None: the scheduler uses settings.default_timezone
                group_id=group_id,
                created_at=now,
            )
            session.add(participant)
            for column, channel in ADDRESS_COLUMNS.items():
                address = getattr(row, column)
                if address:
                    session.add(
                        ChannelAddress(participant=participant, channel=channel, address=address)
                    )
            # next_due_at stays None: the scheduler computes the first due time from the
            # flow's schedule and the participant's time zone.
            session.add(
                Enrolment(
                    participant=participant, group_id=group_id, flow_id=flow.id, enrolled_at=now
                )
            )
            if done % _BATCH == 0 or done == len(rows):
                session.flush()
                if progress is not None:
                    progress(done, len(rows))
        session.add(
            AuditEntry(
                at=now,
                actor=actor,
                action="imported participants",
                subject=f"{len(rows)} from {Path(path).name} into flow {flow.id}",
            )
        )
    log.info(
        "imported %d participants into flow %s (%d new groups)",
        len(rows),
        flow.id,
        len(created_groups),
    )
    return ImportResult(len(rows), tuple(created_groups), flow.id)
