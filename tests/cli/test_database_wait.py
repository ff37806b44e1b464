"""Long-running processes wait for a database that is restarting; one-off commands don't."""

from __future__ import annotations

import click
import pytest

from bot.commands import common
from bot.settings import Settings

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"


def test_without_a_wait_an_unreachable_database_is_a_clear_error_at_once() -> None:
    slept: list[float] = []
    with pytest.raises(click.ClickException) as caught:
        common.database(Settings(database_url=UNREACHABLE), sleep=slept.append)
    assert caught.value.message.startswith("cannot reach the database: ")
    assert slept == []


def test_a_database_that_comes_back_is_waited_for_with_growing_pauses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers: list[object] = [OSError("refused")] * 5 + [common.migrate.head()]

    def current(url: str) -> str | None:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    monkeypatch.setattr(common.migrate, "current", current)
    slept: list[float] = []
    sessions = common.database(Settings(database_url=UNREACHABLE), wait=600, sleep=slept.append)

    assert sessions.kw["bind"].url.port == 1
    assert slept == [1.0, 2.0, 4.0, 8.0, 10.0]
    said = capsys.readouterr().err
    assert said.count("cannot reach the database (OSError); trying again") == 5
