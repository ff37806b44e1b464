"""`groundswell clock --once` and `groundswell coordinators` from the command line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from storage.database import transaction
from storage.models import ClockTick, Group, User


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def test_clock_once_runs_exactly_one_tick(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    result = cli.invoke(main, ["clock", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("tick: 0 check-ins started")
    with transaction(sessions) as session:
        assert len(session.scalars(select(ClockTick)).all()) == 1


def test_clock_help_explains_once(cli: CliRunner) -> None:
    result = cli.invoke(main, ["clock", "--help"])
    assert result.exit_code == 0
    assert "--once" in result.output and "twice" in result.output


def test_coordinators_add_by_phone_and_telegram(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        session.add(Group(name="Elm Street"))
    ok = cli.invoke(
        main, ["coordinators", "add", "Ann", "--group", "elm street", "--phone", "07700 900123"]
    )
    assert ok.exit_code == 0, ok.output
    ok = cli.invoke(
        main,
        ["coordinators", "add", "Bo", "--group", "Elm Street", "--telegram", "5551",
         "--summary-day", "friday", "--summary-at", "17:30", "--timezone", "Europe/Paris"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    with transaction(sessions) as session:
        found = {c.name: c for c in session.scalars(select(User))}
    assert (found["Ann"].channel, found["Ann"].address) == ("sms", "+447700900123")
    assert (found["Bo"].summary_weekday, found["Bo"].summary_time) == (4, "17:30")
    listed = cli.invoke(main, ["coordinators", "list"])
    assert "Ann\tElm Street\tsms\tMonday 09:00" in listed.output


def test_coordinators_add_by_whatsapp(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        session.add(Group(name="Elm Street"))
    ok = cli.invoke(
        main,
        ["coordinators", "add", "Wyn", "--group", "Elm Street", "--whatsapp", "+44 7911 123456"],
    )
    assert ok.exit_code == 0, ok.output
    assert "alerts at once by whatsapp" in ok.output
    with transaction(sessions) as session:
        [wyn] = session.scalars(select(User)).all()
    assert (wyn.channel, wyn.address) == ("whatsapp", "+447911123456")
    listed = cli.invoke(main, ["coordinators", "list"])
    assert "Wyn\tElm Street\twhatsapp\tMonday 09:00" in listed.output
    removed = cli.invoke(main, ["coordinators", "remove", "07911 123456"])  # found by number
    assert removed.exit_code == 0, removed.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--group", "Elm Street"], "exactly one of --telegram ID, --phone NUMBER or --whatsapp"),
        (
            ["--group", "Elm Street", "--phone", "07911 123456", "--whatsapp", "07911 123456"],
            "exactly one of --telegram",
        ),
        (["--group", "Elm Street", "--whatsapp", "0791"], "whatsapp '0791' is not a valid GB"),
        (["--group", "Nowhere", "--telegram", "1"], "no group called 'Nowhere'"),
        (["--group", "Elm Street", "--phone", "12"], "not a"),
        (["--group", "Elm Street", "--telegram", "abc"], "is a number"),
        (["--group", "Elm Street", "--telegram", "1", "--timezone", "Mars/Base"], "time zone"),
        (["--group", "Elm Street", "--telegram", "1", "--summary-at", "9am"], "HH:MM"),
    ],
)
def test_coordinators_add_explains_mistakes(
    cli: CliRunner, sessions: sessionmaker[Session], args: list[str], words: str
) -> None:
    with transaction(sessions) as session:
        session.add(Group(name="Elm Street"))
    result = cli.invoke(main, ["coordinators", "add", "Ann", *args])
    assert result.exit_code != 0
    assert words in result.output
    with transaction(sessions) as session:
        assert session.scalars(select(User)).all() == []


def test_users_add_makes_one_coordinator_who_signs_in_and_hears(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        session.add_all([Group(name="Elm Street"), Group(name="Oak Road")])
    result = cli.invoke(
        main,
        ["users", "add", "sam@example.org", "--role", "coordinator", "--group", "Elm Street",
         "--group", "Oak Road", "--phone", "07700 900123", "--summary-day", "friday",
         "--summary-at", "17:30", "--timezone", "Europe/London"],
        input="a long enough password\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "alerts at once by sms" in result.output
    with transaction(sessions) as session:
        [sam] = session.scalars(select(User)).all()
        assert (sam.email, sam.channel, sam.address) == ("sam@example.org", "sms", "+447700900123")
        assert (sam.summary_weekday, sam.summary_time, sam.timezone) == (
            4,
            "17:30",
            "Europe/London",
        )
        assert sorted(g.name for g in sam.groups) == ["Elm Street", "Oak Road"]
    listed = cli.invoke(main, ["coordinators", "list"])
    assert "sam@example.org\tElm Street\tsms\tFriday 17:30" in listed.output
    assert "sam@example.org\tOak Road\tsms\tFriday 17:30" in listed.output


def test_users_add_refuses_a_summary_time_without_a_contact(cli: CliRunner) -> None:
    result = cli.invoke(
        main,
        ["users", "add", "sam@example.org", "--role", "coordinator", "--group", "G",
         "--summary-at", "09:00"],
        input="a long enough password\n",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "needs --phone NUMBER, --whatsapp NUMBER or --telegram CHAT_ID" in result.output


def test_users_add_a_coordinator_by_whatsapp_and_not_two_contacts(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        session.add(Group(name="Elm Street"))
    both = cli.invoke(
        main,
        ["users", "add", "sam@example.org", "--role", "coordinator", "--group", "Elm Street",
         "--whatsapp", "07911 123456", "--telegram", "55"],
        input="a long enough password\n",
    )  # fmt: skip
    assert both.exit_code != 0
    assert "give only one of a phone number, a WhatsApp number or a Telegram chat id" in (
        both.output
    )
    result = cli.invoke(
        main,
        ["users", "add", "sam@example.org", "--role", "coordinator", "--group", "Elm Street",
         "--whatsapp", "07911 123456", "--summary-day", "tuesday"],
        input="a long enough password\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "alerts at once by whatsapp, and a summary every Tuesday" in result.output
    with transaction(sessions) as session:
        [sam] = session.scalars(select(User)).all()
    assert (sam.email, sam.channel, sam.address) == ("sam@example.org", "whatsapp", "+447911123456")


def test_coordinators_remove_from_a_group_then_altogether(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        session.add_all([Group(name="Elm Street"), Group(name="Oak Road")])
    for group in ("Elm Street", "Oak Road"):
        ok = cli.invoke(main, ["coordinators", "add", "Ann", "--group", group, "--telegram", "55"])
        assert ok.exit_code == 0, ok.output
    with transaction(sessions) as session:
        [ann] = session.scalars(select(User)).all()  # one person, two groups
        assert len(ann.groups) == 2
    ok = cli.invoke(main, ["coordinators", "remove", "ann", "--group", "Oak Road"])
    assert ok.exit_code == 0 and "no longer coordinates Oak Road" in ok.output
    missing = cli.invoke(main, ["coordinators", "remove", "Nobody"])
    assert missing.exit_code != 0 and "nobody matches 'Nobody'" in missing.output
    ok = cli.invoke(main, ["coordinators", "remove", "55"])
    assert ok.exit_code == 0, ok.output
    with transaction(sessions) as session:
        assert session.scalars(select(User)).all() == []
