"""`groundswell report` and `groundswell export answers`, run through click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.orm import Session, sessionmaker

from bot.commands.export import export
from bot.commands.report import report
from reports.build import analyse
from reports.export import ANSWER_COLUMNS
from tests.reports.dataset import FLOW_YAML, Dataset, insert_dataset


@pytest.fixture
def data(sessions: sessionmaker[Session]) -> Dataset:
    return insert_dataset(sessions)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The test database, and a flows folder holding the test flow."""
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "town-pulse.yaml").write_text(FLOW_YAML, encoding="utf-8")
    return {
        "DATABASE_URL": database_url,
        "GROUNDSWELL_FLOWS": str(folder),
        "GROUNDSWELL_MIN_GROUP_SIZE": "5",
    }


def run(command: object, args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(command, args, env=env, catch_exceptions=False)  # type: ignore[arg-type]


def test_text_report_to_stdout_with_progress_on_stderr(data: Dataset, env: dict[str, str]) -> None:
    result = run(report, ["town-pulse"], env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Town pulse (town-pulse): change summary")
    assert "Mean change" in result.stdout
    assert "Reading answers" in result.stderr
    assert "Reading answers" not in result.stdout


def test_json_report_matches_analyse(
    sessions: sessionmaker[Session], data: Dataset, env: dict[str, str]
) -> None:
    result = run(report, ["town-pulse", "--format", "json", "--since", "2025-01-06"], env)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    direct = analyse(sessions, data.flow, since=date(2025, 1, 6)).data
    printed.pop("generated_at")
    direct.pop("generated_at")
    assert printed == direct
    assert printed["period"]["since"] == "2025-01-06"


def test_csv_and_html_to_files(data: Dataset, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "report.csv"
    result = run(report, ["town-pulse", "--format", "csv", "--out", str(out)], env)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {r["scope"] for r in rows} == {"all", "North", "South", "East"}

    page = tmp_path / "report.html"
    result = run(report, ["town-pulse", "--format", "html", "--out", str(page)], env)
    assert result.exit_code == 0, result.output
    document = page.read_text(encoding="utf-8")
    assert document.startswith("<!doctype html>")
    assert "data:image/png;base64," in document
    assert "<script" not in document
    assert "Drawing charts" in result.stderr


def test_one_group(data: Dataset, env: dict[str, str]) -> None:
    result = run(report, ["town-pulse", "--group", "North", "--format", "json"], env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scope"] == "North"


def test_unknown_group_lists_the_groups(data: Dataset, env: dict[str, str]) -> None:
    result = run(report, ["town-pulse", "--group", "Westside"], env)
    assert result.exit_code == 1
    assert "no group called 'Westside'" in result.stderr
    assert "East, North, South" in result.stderr


def test_bad_date_and_backwards_period(data: Dataset, env: dict[str, str]) -> None:
    result = run(report, ["town-pulse", "--since", "01/02/2025"], env)
    assert result.exit_code == 2
    assert "%Y-%m-%d" in result.stderr
    result = run(report, ["town-pulse", "--since", "2025-02-01", "--until", "2025-01-01"], env)
    assert result.exit_code == 1
    assert "ends before it starts" in result.stderr


def test_flow_not_in_the_folder_is_read_from_the_database(
    data: Dataset, env: dict[str, str], tmp_path: Path
) -> None:
    empty = tmp_path / "no-flows"
    empty.mkdir()
    result = run(
        report, ["town-pulse", "--format", "json"], env | {"GROUNDSWELL_FLOWS": str(empty)}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["flow"]["id"] == "town-pulse"


def test_unknown_flow(data: Dataset, env: dict[str, str]) -> None:
    result = run(report, ["no-such-flow"], env)
    assert result.exit_code == 1
    assert "no flow 'no-such-flow'" in result.stderr


def test_export_answers(data: Dataset, env: dict[str, str], tmp_path: Path) -> None:
    result = run(export, ["answers", "--flow", "town-pulse"], env)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(data.answers)
    assert list(rows[0]) == ANSWER_COLUMNS
    assert f"{len(data.answers)} answer(s) exported" in result.stderr

    out = tmp_path / "answers.csv"
    result = run(export, ["answers", "--format", "csv", "--out", str(out)], env)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == run(export, ["answers"], env).stdout

    result = run(export, ["answers", "--flow", "nope"], env)
    assert "No answers to flow 'nope'" in result.stderr


def test_commands_are_registered(data: Dataset, env: dict[str, str]) -> None:
    from bot.cli import main

    result = run(main, ["report", "town-pulse", "--format", "csv"], env)
    assert result.exit_code == 0, result.output
    result = run(main, ["export", "answers", "--flow", "town-pulse"], env)
    assert result.exit_code == 0, result.output


def test_follow_up_weeks_pairs_each_baseline_with_the_answer_nearest_that_time(
    sessions: sessionmaker[Session], data: Dataset, env: dict[str, str]
) -> None:
    result = run(report, ["town-pulse", "--format", "json", "--follow-up", "2"], env)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["follow_up"] == {"weeks": 2.0, "target_days": 14.0, "window_days": 7.0}
    direct = analyse(sessions, data.flow, follow_up_weeks=2).data
    printed.pop("generated_at")
    direct.pop("generated_at")
    assert printed == json.loads(json.dumps(direct))
    for m in printed["measures"].values():
        days = m["follow_up_days"]
        if days is not None:  # every pair lies in the stated window: 7 to 21 days
            assert 7 <= days["min"] <= days["max"] <= 21
    text = run(report, ["town-pulse", "--follow-up", "2"], env).stdout
    assert "nearest 2 weeks after their baseline" in text
    refused = run(report, ["town-pulse", "--follow-up", "0"], env)
    assert refused.exit_code == 2 and "--follow-up" in refused.output
