"""Roster import: every bad value reported at the file's own line, and all or nothing."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import survey_flows
from bot.intake.roster import RosterError, import_participants, read_roster
from bot.settings import Settings
from storage.database import transaction
from storage.models import AuditEntry, ChannelAddress, Enrolment, Group, Participant
from survey_flows.checks.folder import FlowLibrary
from survey_flows.model import Flow

NOW = datetime(2025, 5, 2, 9, 0, tzinfo=UTC)
HEADER = "name,phone,telegram,language,timezone,group\n"
SETTINGS = Settings()  # default_region GB


@pytest.fixture(scope="module")
def flow() -> Flow:
    library = FlowLibrary(Path(survey_flows.__file__).parent / "library")
    return library.resolve("weekly-wellbeing")


def write(tmp_path: Path, text: str | bytes, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def problems_of(path: Path, settings: Settings = SETTINGS) -> list[str]:
    with pytest.raises(RosterError) as caught:
        read_roster(path, settings)
    return [str(problem) for problem in caught.value.problems]


def count(sessions: sessionmaker[Session], model: type) -> int:
    with transaction(sessions, readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- good imports --------------------------------------------------------------------------


def test_good_import_creates_people_addresses_groups_and_enrolments(
    sessions: sessionmaker[Session], tmp_path: Path, flow: Flow
) -> None:
    with transaction(sessions) as session:
        session.add(Group(name="Oak Road"))
    path = write(
        tmp_path,
        HEADER
        + "Ada,07700 900123,,en,Europe/London,Elm Street\n"
        + "Bryn,,-100123,CY,europe/london,oak road\n"
        + '"Cai, Jr", +44 7911 123456 ,0555,pt-BR,,elm street\n'
        + ",,,,,\n",  # a row of empty cells, as spreadsheets leave at the end
    )
    calls: list[tuple[int, int]] = []
    result = import_participants(
        sessions, path, flow, SETTINGS, NOW, progress=lambda d, t: calls.append((d, t))
    )
    assert result.created == 3
    assert result.groups_created == ("Elm Street",)
    assert result.flow_id == "weekly-wellbeing"
    assert calls == [(3, 3)]
    with transaction(sessions, readonly=True) as session:
        people = {p.name: p for p in session.scalars(select(Participant))}
        assert set(people) == {"Ada", "Bryn", "Cai, Jr"}
        groups = {g.name: g.id for g in session.scalars(select(Group))}
        assert set(groups) == {"Elm Street", "Oak Road"}
        addresses = {
            (a.participant_id, a.channel, a.address)
            for a in session.scalars(select(ChannelAddress))
        }
        assert addresses == {
            (people["Ada"].id, "sms", "+447700900123"),
            (people["Bryn"].id, "telegram", "-100123"),
            (people["Cai, Jr"].id, "sms", "+447911123456"),
            (people["Cai, Jr"].id, "telegram", "555"),
        }
        assert people["Ada"].timezone == "Europe/London"
        assert people["Bryn"].timezone == "Europe/London"
        assert people["Cai, Jr"].timezone is None
        assert [people[n].language for n in ("Ada", "Bryn", "Cai, Jr")] == ["en", "cy", "pt-br"]
        assert people["Bryn"].group_id == groups["Oak Road"]
        assert people["Cai, Jr"].group_id == groups["Elm Street"]
        for person in people.values():
            assert re.fullmatch(r"P-[2-9A-HJKMNP-Z]{6}", person.pseudonym)
            assert person.created_at == NOW
            assert not person.opted_out
        enrolments = session.scalars(select(Enrolment)).all()
        assert len(enrolments) == 3
        for enrolment in enrolments:
            assert enrolment.flow_id == "weekly-wellbeing"
            assert enrolment.next_due_at is None  # the scheduler computes it
            assert enrolment.active
            assert enrolment.enrolled_at == NOW
            assert enrolment.group_id == next(
                p.group_id for p in people.values() if p.id == enrolment.participant_id
            )
        audit = session.scalars(select(AuditEntry)).one()
        assert audit.action == "imported participants"
        assert audit.subject == "3 from roster.csv into flow weekly-wellbeing"


def test_columns_in_any_order_and_missing_optional_columns(
    sessions: sessionmaker[Session], tmp_path: Path, flow: Flow
) -> None:
    path = write(tmp_path, "Telegram , Phone\n42,07911 123456\n")
    assert import_participants(sessions, path, flow, SETTINGS, NOW).created == 1
    with transaction(sessions, readonly=True) as session:
        person = session.scalars(select(Participant)).one()
        assert person.name is None and person.group_id is None
        assert {a.address for a in person.addresses} == {"42", "+447911123456"}


def test_whatsapp_column_stores_whatsapp_addresses_beside_phone_and_telegram(
    sessions: sessionmaker[Session], tmp_path: Path, flow: Flow
) -> None:
    path = write(
        tmp_path,
        "name,whatsapp,phone,telegram\n"
        + "Ada,07911 123456,07911 123456,\n"  # the same number for SMS and WhatsApp
        + "Bo,+351 912 345 678,,\n"  # any country, with the country code
        + "Cy,0044 7911 123457,,77\n"
        + "Di,(07700) 900-124,,\n",
    )
    calls: list[tuple[int, int]] = []
    result = import_participants(
        sessions, path, flow, SETTINGS, NOW, progress=lambda d, t: calls.append((d, t))
    )
    assert result.created == 4
    assert calls == [(4, 4)]
    with transaction(sessions, readonly=True) as session:
        names = {p.id: p.name for p in session.scalars(select(Participant))}
        addresses = {
            (names[a.participant_id], a.channel, a.address)
            for a in session.scalars(select(ChannelAddress))
        }
    assert addresses == {
        ("Ada", "whatsapp", "+447911123456"),
        ("Ada", "sms", "+447911123456"),
        ("Bo", "whatsapp", "+351912345678"),
        ("Cy", "whatsapp", "+447911123457"),
        ("Cy", "telegram", "77"),
        ("Di", "whatsapp", "+447700900124"),
    }


def test_bad_whatsapp_numbers_are_reported_at_their_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name,phone,whatsapp\n"  # 1
        + "Ada,,07911 123456\n"  # 2: good
        + "Bo,,not a number\n"  # 3
        + "Cy,,07911 12\n"  # 4
        + "Di,,4.47911E+11\n"  # 5
        + "Ed,,+44 7911 123456\n"  # 6: same WhatsApp as line 2
        + "Fi,07911 123456,\n",  # 7: good: SMS and WhatsApp are different channels
    )
    assert problems_of(path) == [
        f"{path}:3: whatsapp 'not a number' is not a phone number; write it like 07400 123456, "
        "or with the country code like +44 7400 123456",
        f"{path}:4: whatsapp '07911 12' is not a valid GB phone number (a digit missing or "
        "extra?); write it like 07400 123456, or with the country code like +44 7400 123456",
        f"{path}:5: whatsapp '4.47911E+11' is not a phone number; the spreadsheet changed it "
        "into a decimal number: format the column as Text and type it again",
        f"{path}:6: the whatsapp on this row is also on line 2; each person needs their own "
        "whatsapp: remove one of the rows or correct it",
    ]


def test_whatsapp_header_alone_is_enough_and_near_misses_are_named(tmp_path: Path) -> None:
    rows = read_roster(write(tmp_path, "WhatsApp\n07911 123456\n"), SETTINGS)
    assert [(row.whatsapp, row.phone, row.telegram) for row in rows] == [
        ("+447911123456", None, None)
    ]
    path = write(tmp_path, "name,whats app\nAda,07911 123456\n", "near.csv")
    [problem] = problems_of(path)
    assert "'whats app' (did you mean 'whatsapp'?)" in problem


def test_utf8_with_bom_and_windows_line_endings(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffname,phone\r\nSiân,07911 123456\r\n".encode())
    rows = read_roster(path, SETTINGS)
    assert [(row.line, row.name, row.phone) for row in rows] == [(2, "Siân", "+447911123456")]


def test_semicolon_separated_files_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "name;phone;group\nAda;07911 123456;Elm, North\n")
    rows = read_roster(path, SETTINGS)
    assert [(row.name, row.group) for row in rows] == [("Ada", "Elm, North")]


def test_region_setting_decides_numbers_without_country_code(tmp_path: Path) -> None:
    path = write(tmp_path, "phone\n(202) 555-0123\n")
    [row] = read_roster(path, Settings(default_region="US"))
    assert row.phone == "+12025550123"
    assert problems_of(path) == [
        f"{path}:2: phone '(202) 555-0123' is not a valid GB phone number (a digit missing or "
        "extra?); write it like 07400 123456, or with the country code like +44 7400 123456"
    ]


# --- bad values, each at its own line ----------------------------------------------------


def test_every_bad_value_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER  # line 1
        + "Ada,07700 900123,,en,,Elm\n"  # 2: good
        + '"Bea\nTwo Lines",07911 123456,,,,\n'  # 3-4: good, one record over two lines
        + "Cy,not a phone,,,,\n"  # 5
        + "Di,07700 12,,,,\n"  # 6
        + "Ed,,@ed,,,\n"  # 7
        + "Fi,,12.5x,,,\n"  # 8
        + "Gu,07911 123457,,English,,\n"  # 9
        + "Ha,07911 123458,,,Europe/Londn,\n"  # 10
        + "Io,,,en,,\n"  # 11
        + "Jo,07911 123456,,,,\n"  # 12: same phone as line 3
        + "Ka,,4.47701E+11,,,\n"  # 13
        + "La,07911 123459,,,,,extra\n"  # 14
        + "Mo,,77,,,\n"  # 15: good
        + "No,,0077,,,\n"  # 16: same chat id as line 15
        + f"{'x' * 201},,78,,,\n",  # 17
    )
    assert problems_of(path) == [
        f"{path}:5: phone 'not a phone' is not a phone number; write it like 07400 123456, "
        "or with the country code like +44 7400 123456",
        f"{path}:6: phone '07700 12' is not a valid GB phone number (a digit missing or extra?); "
        "write it like 07400 123456, or with the country code like +44 7400 123456",
        f"{path}:7: telegram '@ed' is a username; usernames cannot be used, give the chat id, "
        "a whole number such as 123456789",
        f"{path}:8: telegram '12.5x' is not a chat id; write the chat id as a whole number such "
        "as 123456789 (group chats start with -)",
        f"{path}:9: language 'English' is not a language code; use a short code such as en, cy "
        "or pt-BR",
        f"{path}:10: timezone 'Europe/Londn' is not a time zone (did you mean Europe/London?); "
        "use a name such as Europe/London, or leave it empty for the project's default",
        f"{path}:11: this row has no phone number, whatsapp number or telegram chat id; give at "
        "least one so we can reach the person",
        f"{path}:12: the phone on this row is also on line 3; each person needs their own "
        "phone: remove one of the rows or correct it",
        f"{path}:13: telegram '4.47701E+11' is not a chat id; the spreadsheet changed it into a "
        "decimal number: format the column as Text and type it again",
        f"{path}:14: this row has 7 values but the header names 6 columns; wrap a value that "
        "contains a comma in double quotes, or remove the extra values",
        f"{path}:16: the telegram on this row is also on line 15; each person needs their own "
        "telegram: remove one of the rows or correct it",
        f"{path}:17: name is 201 characters long; shorten it to 200 or fewer",
    ]


def test_several_problems_on_one_row_are_all_reported(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "Ada,12,x,english,Mars/Base,\n")
    problems = problems_of(path)
    assert len(problems) == 4
    assert all(problem.startswith(f"{path}:2: ") for problem in problems)
    assert [p.split(": ", 1)[1].split(" ")[0] for p in problems] == [
        "phone",
        "telegram",
        "language",
        "timezone",
    ]


def test_unclosed_quote_is_reported_where_it_opens(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "Bad,,x,,,\n" + '"Ada,07911 123456,,,,\nBo,,5,,,\n')
    assert problems_of(path) == [
        f"{path}:2: telegram 'x' is not a chat id; write the chat id as a whole number such as "
        "123456789 (group chats start with -)",
        f'{path}:3: a double quote (") that starts a value on this line is never closed, so the '
        "rest of the file would be one value; close the quote or remove it",
    ]


def test_stray_quote_inside_a_value(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + 'Ada "Al",07911 123456,,,,\n"Bo"x,,5,,,\n')
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:3: this line cannot be read as CSV (")
    assert problem.endswith('and write a quote inside it twice ("")')


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "name,mobile,telegramm,notes\n",
            "unknown column(s) 'mobile' (did you mean 'phone'?), 'telegramm' (did you mean "
            "'telegram'?), 'notes' in the header; the columns are name, phone, whatsapp, "
            "telegram, language, timezone, group: rename or delete the others (the first line "
            "must be the header)",
        ),
        (
            "name,group\n",
            "the header has no 'phone', 'whatsapp' or 'telegram' column; add at least one, e.g. "
            "name,phone,whatsapp,telegram,language,timezone,group",
        ),
        (
            "phone,name,Phone\n",
            "column 'phone' appears more than once in the header (columns 1, 3); keep one",
        ),
        (
            "\n",
            "the first line is empty; it must be the header, e.g. "
            "name,phone,whatsapp,telegram,language,timezone,group",
        ),
        ("phone\n", "the file has a header but no participants below it"),
        (
            "",
            "the file is empty; the first line must be the header, e.g. "
            "name,phone,whatsapp,telegram,language,timezone,group",
        ),
    ],
)
def test_header_problems(tmp_path: Path, header: str, message: str) -> None:
    path = write(tmp_path, header + ("" if header in ("phone\n", "") else "Ada,07911 123456\n"))
    assert problems_of(path) == [f"{path}:1: {message}"]


def test_value_under_a_blank_header_cell(tmp_path: Path) -> None:
    path = write(tmp_path, "name,phone,\nAda,07911 123456,\nBo,07911 123457,oops\n")
    assert problems_of(path) == [
        f"{path}:3: column 3 has a value but no name in the header; name the column (name, "
        "phone, whatsapp, telegram, language, timezone, group) or delete the value"
    ]


# --- files that are not UTF-8 CSV ------------------------------------------------------------


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, (HEADER + "Ada,07911 123456,,,,\nJosé,07911 123457,,,,\n").encode("cp1252")
    )
    assert problems_of(path) == [
        f'{path}:3: the file is not UTF-8 text (plain "CSV" from Excel uses another encoding); '
        'in your spreadsheet choose Save As (or Download) > "CSV UTF-8" and import that file'
    ]


@pytest.mark.parametrize(
    ("data", "start"),
    [
        (
            b"PK\x03\x04\x14\x00\x06\x00",
            "this is a spreadsheet file (.xlsx or .ods), not a CSV file",
        ),
        ("name,phone\n".encode("utf-16"), "this file is saved as UTF-16"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "this looks like a binary file, not a CSV text file"),
    ],
)
def test_files_that_are_not_csv(tmp_path: Path, data: bytes, start: str) -> None:
    path = write(tmp_path, data)
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:1: {start}")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    assert problems_of(missing) == [
        f"{missing}:1: there is no such file; check the file name and folder"
    ]
    assert problems_of(tmp_path) == [f"{tmp_path}:1: this is a folder, not a CSV file"]


# --- all or nothing, and the database ---------------------------------------------------------


def test_one_bad_row_imports_nothing(
    sessions: sessionmaker[Session], tmp_path: Path, flow: Flow
) -> None:
    path = write(tmp_path, HEADER + "Ada,07911 123456,,,,New Group\nBo,,x,,,Other\n")
    with pytest.raises(RosterError) as caught:
        import_participants(sessions, path, flow, SETTINGS, NOW)
    assert [problem.line for problem in caught.value.problems] == [3]
    for model in (Participant, ChannelAddress, Enrolment, Group, AuditEntry):
        assert count(sessions, model) == 0


def test_addresses_already_in_the_database_are_errors_not_merges(
    sessions: sessionmaker[Session], tmp_path: Path, flow: Flow
) -> None:
    with transaction(sessions) as session:
        known = Participant(pseudonym="P-KNWN22", name="Known")
        session.add(known)
        session.add(ChannelAddress(participant=known, channel="sms", address="+447911123456"))
        session.add(ChannelAddress(participant=known, channel="telegram", address="555"))
        session.add(ChannelAddress(participant=known, channel="whatsapp", address="+447911123450"))
    path = write(
        tmp_path,
        HEADER.replace("group", "group,whatsapp")
        + "New,07911 123457,,,,,07911 123456\nSame phone,07911123456,,,,,\n"
        + "Same chat,,555,,,,\nSame WhatsApp,,,,,,07911 123450\n",
    )
    with pytest.raises(RosterError) as caught:
        import_participants(sessions, path, flow, SETTINGS, NOW)
    assert [str(problem) for problem in caught.value.problems] == [
        f"{path}:3: the phone on this row already belongs to participant P-KNWN22; imports "
        "never merge people, so remove this row (or correct the phone if this is someone else)",
        f"{path}:4: the telegram on this row already belongs to participant P-KNWN22; imports "
        "never merge people, so remove this row (or correct the telegram if this is someone "
        "else)",
        f"{path}:5: the whatsapp on this row already belongs to participant P-KNWN22; imports "
        "never merge people, so remove this row (or correct the whatsapp if this is someone "
        "else)",
    ]
    assert count(sessions, Participant) == 1
    assert count(sessions, ChannelAddress) == 3


def test_long_roster_reports_progress_in_batches(
    sessions: sessionmaker[Session], tmp_path: Path, flow: Flow
) -> None:
    rows = "".join(f"P{i},07911 1{i:05d},,,,Block {i % 3}\n" for i in range(1100))
    path = write(tmp_path, HEADER + rows)
    calls: list[tuple[int, int]] = []
    result = import_participants(
        sessions, path, flow, SETTINGS, NOW, progress=lambda d, t: calls.append((d, t))
    )
    assert result.created == 1100
    assert sorted(result.groups_created) == ["Block 0", "Block 1", "Block 2"]
    assert calls == [(500, 1100), (1000, 1100), (1100, 1100)]
    assert count(sessions, Participant) == 1100
    with transaction(sessions, readonly=True) as session:
        pseudonyms = session.scalars(select(Participant.pseudonym)).all()
    assert len(set(pseudonyms)) == 1100


def test_import_never_logs_phone_numbers_or_names(
    sessions: sessionmaker[Session], tmp_path: Path, flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = write(tmp_path, HEADER + "Ada Lovelace,07700 900123,,,,\nBo,,98765,,,\n")
    import_participants(sessions, path, flow, SETTINGS, NOW)
    assert "imported 2 participants" in caplog.text
    for secret in ("7700", "900123", "98765", "Lovelace"):
        assert secret not in caplog.text
