"""`groundswell participants ...` and `groundswell groups ...`, run as staff would run them."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from storage.database import transaction
from storage.models import AuditEntry, Group, Participant
from tests.people.test_privacy import PHONE, seed_person

HEADER = "name,phone,telegram,language,timezone,group\n"


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner whose commands use this test's database and the shipped flows."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("GROUNDSWELL_FLOWS", raising=False)
    monkeypatch.delenv("GROUNDSWELL_FORGET_KEEPS_ANSWERS", raising=False)
    yield CliRunner()


def run(cli: CliRunner, *args: str, input: str | None = None) -> Result:
    return cli.invoke(main, list(args), input=input, catch_exceptions=False)


# --- participants import ---------------------------------------------------------------------


def test_import_prints_a_summary(cli: CliRunner, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "Ada,07700 900123,,,,Elm Street\nBo,,42,,,\n", encoding="utf-8")
    result = run(cli, "participants", "import", str(roster), "--flow", "weekly-wellbeing")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Imported 2 participant(s) into flow weekly-wellbeing. New groups: Elm Street. "
        "The scheduler sets when each first check-in is due.\n"
    )


def test_import_lists_every_bad_row_and_imports_nothing(
    cli: CliRunner, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "Ada,07700 900123,,,,\nBo,,x,,,\nCy,,,,,\n", encoding="utf-8")
    result = run(cli, "participants", "import", str(roster), "--flow", "weekly-wellbeing")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines] == [f"{roster}:3", f"{roster}:4"]
    assert result.stderr == ("Nothing was imported. Fix the rows above and run the import again.\n")
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(Participant)).all() == []


def test_import_with_an_unknown_flow(cli: CliRunner, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "Ada,07700 900123,,,,\n", encoding="utf-8")
    result = run(cli, "participants", "import", str(roster), "--flow", "weekly")
    assert result.exit_code == 1
    assert "There is no flow called 'weekly'" in result.stderr
    assert "weekly-wellbeing" in result.stderr  # the flows that exist are listed


def test_long_import_shows_progress(
    cli: CliRunner, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "".join(f"P{i},,{1000 + i},,,\n" for i in range(150)))
    result = run(cli, "participants", "import", str(roster), "--flow", "weekly-wellbeing")
    assert result.exit_code == 0, result.output
    assert "Importing participants" in result.stderr
    assert "Imported 150 participant(s)" in result.stdout


def test_import_with_a_whatsapp_column(
    cli: CliRunner, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "name,whatsapp\n" + "".join(f"P{i},07911 1{i:05d}\n" for i in range(150)),
        encoding="utf-8",
    )
    result = run(cli, "participants", "import", str(roster), "--flow", "weekly-wellbeing")
    assert result.exit_code == 0, result.output
    assert "Importing participants" in result.stderr
    assert "Imported 150 participant(s)" in result.stdout
    with transaction(sessions, readonly=True) as session:
        channels = {a.channel for p in session.scalars(select(Participant)) for a in p.addresses}
    assert channels == {"whatsapp"}
    bad = tmp_path / "bad.csv"
    bad.write_text("name,phone,whatsapp\nAda,07700 900123,0791\n", encoding="utf-8")
    result = run(cli, "participants", "import", str(bad), "--flow", "weekly-wellbeing")
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{bad}:2: whatsapp '0791' is not a valid GB phone number")


# --- participants export -----------------------------------------------------------------------


def test_export_to_stdout_and_to_a_private_file(
    cli: CliRunner, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    seed_person(sessions)
    result = run(cli, "participants", "export", "p-ada234")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["participant"]["name"] == "Ada Lovelace"
    assert PHONE in [a["address"] for a in data["addresses"]]
    out = tmp_path / "ada.json"
    result = run(cli, "participants", "export", "P-ADA234", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Wrote everything held about P-ADA234 to {out}. It is personal data: keep it safe.\n"
    )
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["audit_log"][-1]["action"] == "exported participant"  # the first export
    assert {**written, "audit_log": []} == {**data, "audit_log": []}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with transaction(sessions, readonly=True) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject == "P-ADA234")
        ).all()
    assert actions == ["revealed phone of", "exported participant", "exported participant"]


def test_export_unknown_participant(cli: CliRunner) -> None:
    result = run(cli, "participants", "export", "P-NOPE22")
    assert result.exit_code == 1
    assert "Error: there is no participant 'P-NOPE22'; give a pseudonym such as" in result.stderr


# --- participants forget -----------------------------------------------------------------------


def _name(sessions: sessionmaker[Session]) -> str | None:
    with transaction(sessions, readonly=True) as session:
        return session.scalars(
            select(Participant.name).where(Participant.pseudonym == "P-ADA234")
        ).one()


def test_forget_asks_first_and_keeps_answers_by_default(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    seed_person(sessions)
    result = run(cli, "participants", "forget", "P-ADA234", input="n\n")
    assert result.exit_code == 1
    assert "Forget P-ADA234, keeping their anonymous answers? This cannot be undone." in (
        result.stderr
    )
    assert _name(sessions) == "Ada Lovelace"
    result = run(cli, "participants", "forget", "P-ADA234", input="y\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Forgot P-ADA234: erased their name, 2 address(es) and 4 message(s); cancelled 1 "
        "queued message(s). Nothing will be sent to them again.\n"
        "Anonymous answers were kept (6; 2 free-text answer(s) erased), as "
        "GROUNDSWELL_FORGET_KEEPS_ANSWERS is yes.\n"
    )
    assert _name(sessions) is None


def test_forget_yes_deletes_answers_when_the_setting_says_so(
    cli: CliRunner, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_person(sessions)
    monkeypatch.setenv("GROUNDSWELL_FORGET_KEEPS_ANSWERS", "no")
    result = run(cli, "participants", "forget", str(seeded.id), "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == (
        "Answers were deleted too (6 answer(s), 2 check-in(s), 1 alert(s)), as "
        "GROUNDSWELL_FORGET_KEEPS_ANSWERS is no."
    )


def test_forget_unknown_participant(cli: CliRunner) -> None:
    result = run(cli, "participants", "forget", "12345", "--yes")
    assert result.exit_code == 1
    assert "Error: there is no participant '12345'" in result.stderr


# --- groups --------------------------------------------------------------------------------


def test_groups_add_and_list(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    result = run(cli, "groups", "add", "Elm Street", "--join-code", " elm-st ", "--flow",
                 "weekly-wellbeing")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "Added group 'Elm Street' (join code ELM-ST, flow weekly-wellbeing).\n"
    assert run(cli, "groups", "add", "Oak Road").exit_code == 0
    with transaction(sessions) as session:
        elm = session.scalars(select(Group).where(Group.name == "Elm Street")).one()
        assert (elm.join_code, elm.default_flow) == ("ELM-ST", "weekly-wellbeing")
        session.add_all([Participant(group_id=elm.id), Participant(group_id=elm.id)])
    result = run(cli, "groups", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "NAME        JOIN CODE  FLOW              PARTICIPANTS",
        "Elm Street  ELM-ST     weekly-wellbeing  2",
        "Oak Road    -          -                 0",
    ]


def test_groups_list_when_empty(cli: CliRunner) -> None:
    result = run(cli, "groups", "list")
    assert result.stdout == "No groups yet. Add one with `groundswell groups add NAME`.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["Oak", "--join-code", "ELM"],
            "Error: join code ELM is already used by group 'Elm'; choose another",
        ),
        (["elm"], "Error: there is already a group called 'Elm'; choose another name"),
        (
            ["Oak", "--join-code", "a b"],
            "Error: join code 'a b' cannot be used; use 3 to 32 letters and digits, with single "
            "dashes between them if you like, e.g. ELM-STREET (no spaces)",
        ),
        (["Oak", "--join-code", "AB"], "Error: join code 'AB' cannot be used"),
        (["Oak", "--join-code", "-ABC"], "Error: join code '-ABC' cannot be used"),
        (["Oak", "--flow", "nope"], "There is no flow called 'nope'"),
        (["  "], "Error: give the group a name of 1 to 200 characters"),
    ],
)
def test_groups_add_refuses_clearly(cli: CliRunner, args: list[str], message: str) -> None:
    assert run(cli, "groups", "add", "Elm", "--join-code", "elm").exit_code == 0
    result = run(cli, "groups", "add", *args)
    assert result.exit_code == 1
    assert message in result.stderr


# --- participants mark-test ------------------------------------------------------------------


def test_mark_test_leaves_the_person_out_of_exports_unless_asked(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    seed_person(sessions)
    before = run(cli, "export", "answers").stdout
    assert "P-ADA234" in before
    result = run(cli, "participants", "mark-test", "P-ADA234")
    assert result.exit_code == 0, result.output
    assert "P-ADA234 is marked as a test" in result.stdout
    with transaction(sessions, readonly=True) as session:
        person = session.scalars(
            select(Participant).where(Participant.pseudonym == "P-ADA234")
        ).one()
        assert person.is_test is True
        actions = session.scalars(select(AuditEntry.action)).all()
        assert "marked test participant" in actions
    assert "P-ADA234" not in run(cli, "export", "answers").stdout
    assert "P-ADA234" not in run(cli, "export", "enrolments").stdout
    assert run(cli, "export", "answers", "--include-tests").stdout == before
    result = run(cli, "participants", "mark-test", "P-ADA234", "--undo")
    assert "P-ADA234 counts in reports again." in result.stdout
    assert run(cli, "export", "answers").stdout == before


def test_mark_test_unknown_participant(cli: CliRunner) -> None:
    result = cli.invoke(main, ["participants", "mark-test", "P-NOBODY"])
    assert result.exit_code == 1
    assert "P-NOBODY" in result.output
