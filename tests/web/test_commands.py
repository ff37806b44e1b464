"""`groundswell db upgrade|current` and `groundswell start`, through click's CliRunner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from storage import migrate
from storage.database import transaction
from storage.models import Checkin, OutboxItem, Participant
from tests.web.conftest import add_group, add_participant


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("GROUNDSWELL_QUIET_HOURS", raising=False)
    monkeypatch.delenv("GROUNDSWELL_TIMEZONE", raising=False)
    yield


def _quiet_hours_around_now(monkeypatch: pytest.MonkeyPatch, quiet: bool) -> None:
    """Quiet hours that contain the present moment in London (or lie well away from it)."""
    local = datetime.now(ZoneInfo("Europe/London"))
    start = local - timedelta(hours=1) if quiet else local + timedelta(hours=3)
    end = local + timedelta(hours=1) if quiet else local + timedelta(hours=4)
    monkeypatch.setenv("GROUNDSWELL_QUIET_HOURS", f"{start:%H:%M}-{end:%H:%M}")


def test_db_upgrade_and_current(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)

    before = invoke("db", "current")
    upgraded = invoke("db", "upgrade")
    again = invoke("db", "upgrade")
    after = invoke("db", "current")

    assert before.exit_code == 0 and "no schema yet" in before.output
    assert upgraded.exit_code == 0
    assert f"is at revision {migrate.head()}" in upgraded.output
    assert again.exit_code == 0
    assert "(the newest)" in after.output


def test_db_upgrade_hides_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://user:hunter2@127.0.0.1:1/none")

    result = CliRunner().invoke(main, ["db", "upgrade"])

    assert result.exit_code == 1
    assert "hunter2" not in result.output
    assert "cannot upgrade" in result.output


def _group_of_four(sessions: sessionmaker[Session]) -> tuple[int, list[int]]:
    """Two reachable members, one opted out, one with no address."""
    group = add_group(sessions)
    members = [
        add_participant(sessions, group_id=group, address=f"+4477009001{n:02d}") for n in range(3)
    ]
    with transaction(sessions) as session:
        session.get_one(Participant, members[2]).opted_out = True
        session.add(Participant(name="No address", group_id=group, opted_out=False))
    return group, members


def _checkins(sessions: sessionmaker[Session]) -> list[int]:
    with transaction(sessions, readonly=True) as session:
        return sorted(session.scalars(select(Checkin.participant_id)))


def _latest_not_before(sessions: sessionmaker[Session]) -> datetime:
    with transaction(sessions, readonly=True) as session:
        return max(session.scalars(select(OutboxItem.not_before)))


def test_start_for_a_group_outside_quiet_hours(
    cli_env: None, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, members = _group_of_four(sessions)
    _quiet_hours_around_now(monkeypatch, quiet=False)

    result = invoke("start", "weekly-wellbeing", "--group", "Elm Street")

    assert result.exit_code == 0, result.output
    assert "Started weekly-wellbeing for 2 participants" in result.output
    assert "1 could not be reached" in result.output
    assert "quiet hours" not in result.output
    assert _checkins(sessions) == members[:2]
    assert _latest_not_before(sessions) <= datetime.now(UTC)


def test_start_inside_quiet_hours_waits_unless_now(
    cli_env: None, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _group_of_four(sessions)
    _quiet_hours_around_now(monkeypatch, quiet=True)

    held = invoke("start", "weekly-wellbeing", "--group", "Elm Street")

    assert "2 will get it when their quiet hours end" in held.output
    assert _latest_not_before(sessions) > datetime.now(UTC) + timedelta(minutes=30)

    forced = invoke("start", "neighbourhood", "--group", "Elm Street", "--now")

    assert forced.exit_code == 0
    assert "Started neighbourhood for 2 participants;" in forced.output
    assert "quiet hours" not in forced.output
    with transaction(sessions, readonly=True) as session:
        newest = session.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).first()
        assert newest is not None and newest.not_before <= datetime.now(UTC)


def test_start_for_one_participant(cli_env: None, sessions: sessionmaker[Session]) -> None:
    person = add_participant(sessions)
    with transaction(sessions, readonly=True) as session:
        pseudonym = session.get_one(Participant, person).pseudonym

    result = invoke("start", "neighbourhood", "--participant", pseudonym, "--now")

    assert result.exit_code == 0, result.output
    assert "Started neighbourhood for 1 participant." in result.output
    assert _checkins(sessions) == [person]


def test_start_needs_exactly_one_audience(cli_env: None) -> None:
    neither = CliRunner().invoke(main, ["start", "weekly-wellbeing"])
    both = CliRunner().invoke(
        main, ["start", "weekly-wellbeing", "--group", "G", "--participant", "P-X"]
    )

    assert neither.exit_code == 2 and "exactly one" in neither.output
    assert both.exit_code == 2


def test_start_names_unknown_groups_and_flows(
    cli_env: None, sessions: sessionmaker[Session]
) -> None:
    add_group(sessions)

    group = CliRunner().invoke(main, ["start", "weekly-wellbeing", "--group", "Oak Road"])
    flow = CliRunner().invoke(main, ["start", "no-such-flow", "--group", "Elm Street"])

    assert group.exit_code == 1 and "Elm Street" in group.output
    assert flow.exit_code == 1
    assert _checkins(sessions) == []
