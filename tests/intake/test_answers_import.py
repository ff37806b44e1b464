"""Answers import: check-ins from a CSV file, read like replies, all or nothing, never twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import survey_flows
from bot.commands.answers import answers as answers_command
from bot.intake.answers import AnswerImportError, import_answers, read_answers
from storage.database import transaction
from storage.models import Answer, AuditEntry, Checkin, FlowVersion, Group, Participant
from survey_flows.checks.folder import FlowLibrary

NOW = datetime(2025, 5, 2, 9, 0, tzinfo=UTC)
HEADER = "participant,group,flow,checkin,step,value,answered_at\n"
WW = "weekly-wellbeing"


@pytest.fixture(scope="module")
def library() -> FlowLibrary:
    return FlowLibrary(Path(survey_flows.__file__).parent / "library")


def write(tmp_path: Path, text: str | bytes, name: str = "answers.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def problems_of(path: Path, library: FlowLibrary) -> list[str]:
    with pytest.raises(AnswerImportError) as caught:
        read_answers(path, library, NOW)
    return [str(problem) for problem in caught.value.problems]


def count(sessions: sessionmaker[Session], model: type) -> int:
    with transaction(sessions, readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


GOOD = HEADER + (
    f"A-1,Elm Street,{WW},2024-03,life_satisfaction,seven,2024-03-05\n"
    f"A-1,Elm Street,{WW},2024-03,lonely,Hardly ever,2024-03-05 18:30\n"
    f'A-1,Elm Street,{WW},2024-03,story,"New bench, by the shop",2024-03-05T19:00:00+01:00\n'
    f"A-1,Elm Street,{WW},2024-04,life_satisfaction,8,2024-04-02\n"
    f"B-2,Riverside,{WW},2024-03,life_satisfaction,I'd say 5,2024-03-06\n"
    f"B-2,,{WW},2024-03,callback,yes,2024-03-06\n"
)


# --- good imports ------------------------------------------------------------------------


def test_good_import_makes_completed_checkins_with_scored_answers(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    result = import_answers(sessions, write(tmp_path, GOOD), library, NOW)

    assert (result.checkins, result.answers, result.participants_created) == (3, 6, 2)
    assert result.groups_created == ("Elm Street", "Riverside")
    assert result.flows == (WW,)
    with transaction(sessions, readonly=True) as session:
        checkins = session.scalars(select(Checkin).order_by(Checkin.id)).all()
        assert [(c.status, c.channel, c.state["imported_ref"]) for c in checkins] == [
            ("completed", "import", "2024-03"),
            ("completed", "import", "2024-04"),
            ("completed", "import", "2024-03"),
        ]
        first = checkins[0]
        assert first.started_at == datetime(2024, 3, 5, 12, 0, tzinfo=UTC)  # earliest answer
        assert first.finished_at == datetime(2024, 3, 5, 18, 30, tzinfo=UTC)  # latest answer
        assert session.get(FlowVersion, first.flow_version) is not None
        rows = session.execute(
            select(
                Participant.external_ref,
                Answer.step_id,
                Answer.value,
                Answer.score,
                Answer.measure,
                Answer.answered_at,
                Answer.channel,
                Answer.raw_text,
            )
            .join(Participant, Participant.id == Answer.participant_id)
            .order_by(Answer.id)
        ).all()
        assert [tuple(row) for row in rows] == [
            ("A-1", "life_satisfaction", 7, 7.0, "life_satisfaction",
             datetime(2024, 3, 5, 12, 0, tzinfo=UTC), "import", "seven"),
            ("A-1", "lonely", "hardly_ever", 1.0, "loneliness",
             datetime(2024, 3, 5, 18, 30, tzinfo=UTC), "import", "Hardly ever"),
            ("A-1", "story", "New bench, by the shop", None, None,
             datetime(2024, 3, 5, 18, 0, tzinfo=UTC), "import", "New bench, by the shop"),
            ("A-1", "life_satisfaction", 8, 8.0, "life_satisfaction",
             datetime(2024, 4, 2, 12, 0, tzinfo=UTC), "import", "8"),
            ("B-2", "life_satisfaction", 5, 5.0, "life_satisfaction",
             datetime(2024, 3, 6, 12, 0, tzinfo=UTC), "import", "I'd say 5"),
            ("B-2", "callback", True, None, None,
             datetime(2024, 3, 6, 12, 0, tzinfo=UTC), "import", "yes"),
        ]  # fmt: skip
        people = session.execute(
            select(Participant.external_ref, Group.name, Participant.pseudonym)
            .join(Group, Group.id == Participant.group_id)
            .order_by(Participant.external_ref)
        ).all()
        assert [(ref, group) for ref, group, _ in people] == [
            ("A-1", "Elm Street"),
            ("B-2", "Riverside"),
        ]
        assert all(pseudonym.startswith("P-") for _, _, pseudonym in people)
        audit = session.scalars(select(AuditEntry)).one()
        assert audit.action == "imported answers"
        assert audit.subject == "6 answers in 3 check-ins from answers.csv"


def test_known_participants_and_groups_are_reused_whatever_the_letter_case(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    with transaction(sessions) as session:
        session.add(Group(name="Oak Road"))
    first = HEADER + f"C-3,oak road,{WW},w1,happy,6,2024-03-01\n"
    second = HEADER + f"C-3,,{WW},w2,happy,7,2024-03-08\nC-3,OAK ROAD,{WW},w3,happy,8,2024-03-15\n"

    result = import_answers(sessions, write(tmp_path, first, "one.csv"), library, NOW)
    again = import_answers(sessions, write(tmp_path, second, "two.csv"), library, NOW)

    assert (result.participants_created, result.groups_created) == (1, ())
    assert (again.participants_created, again.checkins) == (0, 2)
    assert count(sessions, Participant) == 1
    assert count(sessions, Group) == 1
    with transaction(sessions, readonly=True) as session:
        group = session.scalars(select(Group.name).join(Participant)).one()
        assert group == "Oak Road"


def test_times_dates_are_noon_utc_naive_times_utc_and_zones_converted(
    tmp_path: Path, library: FlowLibrary
) -> None:
    text = HEADER + (
        f"D,,{WW},1,happy,5,2024-03-05\n"
        f"D,,{WW},1,anxious,5,2024-03-05 07:15\n"
        f"D,,{WW},1,worthwhile,5,2024-07-05T07:15:00+01:00\n"
        f"D,,{WW},1,lonely,5,2024-07-05T07:15Z\n"
    )
    rows = read_answers(write(tmp_path, text), library, NOW)
    assert [row.answered_at for row in rows] == [
        datetime(2024, 3, 5, 12, 0, tzinfo=UTC),
        datetime(2024, 3, 5, 7, 15, tzinfo=UTC),
        datetime(2024, 7, 5, 6, 15, tzinfo=UTC),
        datetime(2024, 7, 5, 7, 15, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("step", "text", "value", "score"),
    [
        ("life_satisfaction", "seven", 7, 7.0),
        ("life_satisfaction", "7/10", 7, 7.0),
        ("life_satisfaction", "I'd say 6", 6, 6.0),
        ("lonely", "Hardly ever", "hardly_ever", 1.0),
        ("lonely", "rarely", "hardly_ever", 1.0),
        ("lonely", "1", "often", 4.0),
        ("lonely", "some of the time", "some", 3.0),
        ("callback", "No thanks", False, None),
        ("story", "SKIP", None, None),
    ],
)
def test_values_are_read_with_the_rules_of_replies(
    tmp_path: Path, library: FlowLibrary, step: str, text: str, value: object, score: object
) -> None:
    path = write(tmp_path, HEADER + f"E,,{WW},1,{step},{text},2024-03-05\n")
    (row,) = read_answers(path, library, NOW)
    assert (row.value, row.score) == (value, score)


def test_columns_in_any_order_with_group_left_out_and_a_semicolon_file(
    tmp_path: Path, library: FlowLibrary
) -> None:
    text = f"Answered At;Value;Step;Checkin;Flow;Participant\n2024-03-05;4;happy;1;{WW};F\n"
    (row,) = read_answers(write(tmp_path, text), library, NOW)
    assert (row.participant, row.group, row.step.id, row.value) == ("F", None, "happy", 4)


def test_progress_is_reported_as_rows_are_checked(tmp_path: Path, library: FlowLibrary) -> None:
    text = HEADER + "".join(f"P{i},,{WW},1,happy,5,2024-03-05\n" for i in range(1200))
    seen: list[tuple[int, int]] = []
    read_answers(write(tmp_path, text), library, NOW, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(500, 1200), (1000, 1200), (1200, 1200)]


# --- bad rows ----------------------------------------------------------------------------

CHOICES = (
    "one of the choices often (Often or always), some (Some of the time), occasionally "
    "(Occasionally), hardly_ever (Hardly ever), never (Never), or its number 1 to 5"
)
QUESTIONS = "life_satisfaction, worthwhile, happy, anxious, callback, lonely, story"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            f"A,,{WW},1,happy,12,2024-03-05",
            "value '12' is out of range; step 'happy' takes a whole number from 0 to 10",
        ),
        (
            f"A,,{WW},1,happy,lots,2024-03-05",
            "value 'lots' is not a number; step 'happy' takes a whole number from 0 to 10",
        ),
        (
            f"A,,{WW},1,happy,6.5,2024-03-05",
            "value '6.5' is not a whole number; step 'happy' takes a whole number from 0 to 10",
        ),
        (
            f"A,,{WW},1,lonely,sometimes,2024-03-05",
            f"value 'sometimes' is not one of the choices; step 'lonely' takes {CHOICES}",
        ),
        (
            f"A,,{WW},1,callback,maybe,2024-03-05",
            "value 'maybe' is not yes or no; step 'callback' takes yes or no",
        ),
        (
            f"A,,{WW},1,happy,,2024-03-05",
            "value is empty; write the answer, or leave the row out if the question was not "
            "answered",
        ),
        (
            f"A,,{WW},1,happy,skip,2024-03-05",
            "value 'skip' skips step 'happy', which cannot be skipped; write the answer",
        ),
        (
            f"A,,{WW},1,lonley,2,2024-03-05",
            f"step 'lonley' is not a question of flow '{WW}' (did you mean 'lonely'?); "
            f"its questions are {QUESTIONS}",
        ),
        (
            "A,,welcome,1,what_we_keep,yes,2024-03-05",
            "step 'what_we_keep' of flow 'welcome' asks nothing (it only says something); "
            "its questions are consent, name",
        ),
        (
            "A,,wellbeing,1,happy,2,2024-03-05",
            "flow 'wellbeing' is not in the flows folder (flows there: neighbourhood, "
            "weekly-wellbeing, welcome); write one of those flow ids",
        ),
        (
            f"A,,{WW},1,happy,2,05/03/2024",
            "answered_at '05/03/2024' is not a date (the spreadsheet may have changed the date "
            "format: format the column as Text); write it as YYYY-MM-DD (e.g. 2024-03-05) or "
            "YYYY-MM-DD HH:MM (e.g. 2024-03-05 18:30)",
        ),
        (
            f"A,,{WW},1,happy,2,2030-01-01",
            "answered_at 2030-01-01 is in the future; check the date",
        ),
        (
            f",,{WW},1,happy,2,2024-03-05",
            "participant is empty; give the reference you know this person by (e.g. the "
            "number on their form)",
        ),
        (
            f"A,,{WW},,happy,2,2024-03-05",
            "checkin is empty; give each check-in a reference (e.g. 2024-03 or week 1), the "
            "same on every row of that check-in",
        ),
    ],
)
def test_each_bad_value_is_reported_at_its_own_line(
    tmp_path: Path, library: FlowLibrary, row: str, message: str
) -> None:
    good = f"Z,,{WW},1,happy,5,2024-03-05\n"
    path = write(tmp_path, HEADER + good + row + "\n" + good.replace("Z,", "Y,"))
    assert problems_of(path, library) == [f"{path}:3: {message}"]


def test_duplicates_and_clashing_groups_name_the_earlier_line(
    tmp_path: Path, library: FlowLibrary
) -> None:
    text = HEADER + (
        f"A,Elm,{WW},1,happy,5,2024-03-05\n"
        f"A,Elm,{WW},1,happy,6,2024-03-05\n"
        f"A,Oak,{WW},2,happy,6,2024-03-12\n"
        f"A,elm,{WW},3,happy,6,2024-03-19\n"
    )
    path = write(tmp_path, text)
    assert problems_of(path, library) == [
        f"{path}:3: step 'happy' of check-in '1' of participant 'A' is already answered on "
        "line 2; keep one of the two rows",
        f"{path}:4: participant 'A' is in group 'Elm' on line 2 but 'Oak' here; a person "
        "belongs to one group: correct one of the rows",
    ]


def test_a_quoted_value_over_two_lines_keeps_the_file_line_numbers(
    tmp_path: Path, library: FlowLibrary
) -> None:
    text = HEADER + (
        f'A,,{WW},1,story,"Two\nlines",2024-03-05\nA,,{WW},1,happy,eleven,2024-03-05\n'
    )
    path = write(tmp_path, text)
    assert problems_of(path, library) == [
        f"{path}:4: value 'eleven' is out of range; step 'happy' takes a whole number from 0 to 10"
    ]


def test_header_problems_are_on_line_1_with_suggestions(
    tmp_path: Path, library: FlowLibrary
) -> None:
    path = write(tmp_path, "participant,flow,check-in,question,answer,answered_at,notes\n")
    assert problems_of(path, library) == [
        f"{path}:1: unknown column(s) 'check_in' (did you mean 'checkin'?), 'question' (did "
        "you mean 'step'?), 'answer' (did you mean 'value'?), 'notes' in the header; the "
        "columns are participant, group, flow, checkin, step, value, answered_at: rename or "
        "delete the others (the first line must be the header)",
        f"{path}:1: the header has no 'checkin', 'step', 'value' column(s); every one of "
        "participant, flow, checkin, step, value, answered_at is needed (group may be left "
        "out), e.g. participant,group,flow,checkin,step,value,answered_at",
    ]


def test_files_that_are_not_csv_text_are_explained(tmp_path: Path, library: FlowLibrary) -> None:
    empty = write(tmp_path, "", "empty.csv")
    assert problems_of(empty, library) == [
        f"{empty}:1: the file is empty; the first line must be the header, e.g. "
        "participant,group,flow,checkin,step,value,answered_at"
    ]
    header_only = write(tmp_path, HEADER, "header.csv")
    assert problems_of(header_only, library) == [
        f"{header_only}:1: the file has a header but no answers below it"
    ]
    missing = tmp_path / "missing.csv"
    assert problems_of(missing, library) == [
        f"{missing}:1: there is no such file; check the file name and folder"
    ]


# --- all or nothing, never twice --------------------------------------------------------


def test_one_bad_row_stores_nothing_at_all(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    path = write(tmp_path, GOOD + f"C,New Group,{WW},1,happy,eleven,2024-03-05\n")
    with pytest.raises(AnswerImportError) as caught:
        import_answers(sessions, path, library, NOW)
    assert [p.line for p in caught.value.problems] == [8]
    for model in (Participant, Group, Checkin, Answer, FlowVersion, AuditEntry):
        assert count(sessions, model) == 0


def test_importing_the_same_checkins_again_is_refused_row_by_row(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    path = write(tmp_path, GOOD)
    import_answers(sessions, path, library, NOW)
    with pytest.raises(AnswerImportError) as caught:
        import_answers(sessions, path, library, NOW)
    problems = [str(problem) for problem in caught.value.problems]
    assert len(problems) == 6
    assert problems[0] == (
        f"{path}:2: check-in '2024-03' of participant 'A-1' in flow '{WW}' was imported "
        "before; remove its rows so its answers are not counted twice"
    )
    assert count(sessions, Answer) == 6
    assert count(sessions, Checkin) == 3


def test_a_known_participant_in_another_group_is_refused(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    import_answers(sessions, write(tmp_path, GOOD, "one.csv"), library, NOW)
    later = write(tmp_path, HEADER + f"A-1,Northgate,{WW},2024-05,happy,5,2024-05-01\n")
    with pytest.raises(AnswerImportError) as caught:
        import_answers(sessions, later, library, NOW)
    assert [str(p) for p in caught.value.problems] == [
        f"{later}:2: participant 'A-1' is already in the database with group 'Elm Street', "
        "not 'Northgate'; write their group as it is (or leave group empty)"
    ]
    assert count(sessions, Group) == 2


# --- the command -------------------------------------------------------------------------


def test_command_imports_and_reports_bad_rows_with_exit_1(
    database_url: str, tmp_path: Path, library: FlowLibrary
) -> None:
    env = {"DATABASE_URL": database_url, "GROUNDSWELL_FLOWS": str(library.folder)}
    runner = CliRunner()
    good = write(tmp_path, GOOD, "good.csv")
    result = runner.invoke(answers_command, ["import", str(good)], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        f"Imported 6 answer(s) in 3 check-in(s) of {WW}. New participants: 2; "
        "new groups: Elm Street, Riverside."
    )

    bad = write(tmp_path, HEADER + f"Q,,{WW},1,happy,lots,2024-03-05\n", "bad.csv")
    result = runner.invoke(answers_command, ["import", str(bad)], env=env)
    assert result.exit_code == 1
    assert result.stdout == (
        f"{bad}:2: value 'lots' is not a number; step 'happy' takes a whole number from 0 to 10\n"
    )
    assert "Nothing was imported. Fix the rows above and run the import again." in result.stderr


@pytest.mark.parametrize(("value", "plain"), [("1e1", "10"), ("1E0", "1"), ("2.5e-1", "0.25")])
def test_a_number_in_exponent_notation_is_refused_not_read_as_its_first_digit(
    tmp_path: Path, library: FlowLibrary, value: str, plain: str
) -> None:
    """A chat reply "1e1" may be a typo for 1, but in a file it is a spreadsheet's 10:
    importing it as 1 would corrupt the change figures, so it is refused."""
    path = write(tmp_path, HEADER + f"A,,{WW},1,happy,{value},2024-03-05\n")
    assert problems_of(path, library) == [
        f"{path}:2: value '{value}' is written with an exponent (as spreadsheets sometimes "
        f"write numbers); write the number itself, e.g. {plain}, for step 'happy'"
    ]
