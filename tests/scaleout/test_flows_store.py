"""Flows in the database: `flows import` (all or nothing, FILE:LINE problems), `flows
export`, the folder imported only for flows not stored yet, saves that queue, and a
check-in that keeps the version it started with. On SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from storage import flow_versions
from storage.database import transaction
from storage.flow_versions import FlowStore, StaleSave, UnknownStoredFlow
from storage.models import FlowSave, StoredFlow
from survey_flows.checks.folder import default_flows_folder
from survey_flows.checks.loading import parse_flow

FLOW = """\
flow: street-check
title: Street check
language: en
steps:
  - id: safe
    ask: "How safe is your street? Reply 0 to 10."
    type: scale
    min: 0
    max: 10
    measure: feeling_safe
outro: "Thanks."
measures:
  feeling_safe: {label: "Feeling safe", higher_is_better: true}
"""


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """Commands on this test's database, with an empty flows folder."""
    empty = tmp_path / "folder"
    empty.mkdir()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GROUNDSWELL_FLOWS", str(empty))
    yield CliRunner()


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(main, list(args), catch_exceptions=False)


def test_import_stores_a_version_and_export_writes_it_back(
    cli: CliRunner, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    source = tmp_path / "street.yaml"
    source.write_text(FLOW)
    first = run(cli, "flows", "import", str(source))
    assert first.exit_code == 0, first.output
    assert "street-check: stored, new flow" in first.output
    again = run(cli, "flows", "import", str(source))
    assert "street-check: unchanged" in again.output
    source.write_text(FLOW.replace("Thanks.", "Thank you."))
    changed = run(cli, "flows", "import", str(source))
    assert "street-check: stored version" in changed.output and "(was " in changed.output

    out = tmp_path / "exported"
    exported = run(cli, "flows", "export", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert (out / "street-check.yaml").read_text() == FLOW.replace("Thanks.", "Thank you.")
    with transaction(sessions, readonly=True) as session:
        saves = session.scalars(select(FlowSave).order_by(FlowSave.id)).all()
    assert [s.how for s in saves] == ["import", "import"]
    assert all(s.saved_by.startswith("flows import by ") for s in saves)


def test_import_refuses_everything_when_one_file_has_a_problem(
    cli: CliRunner, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "street.yaml").write_text(FLOW)
    (folder / "broken.yaml").write_text(
        FLOW.replace("street-check", "broken").replace("type: scale", "type: nonsense")
    )
    result = run(cli, "flows", "import", str(folder))
    assert result.exit_code == 1
    assert f"{folder / 'broken.yaml'}:" in result.output  # FILE:LINE: message
    assert "Nothing was stored" in result.output
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(StoredFlow)).all() == []


def test_import_refuses_one_flow_id_in_two_files(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(FLOW)
    (tmp_path / "b.yaml").write_text(FLOW.replace("Thanks.", "Ta."))
    result = run(cli, "flows", "import", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"))
    assert result.exit_code == 1
    assert "given by more than one file" in result.output


def test_the_folder_fills_only_flows_not_stored_yet(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "flows"
    shutil.copytree(default_flows_folder(), folder)
    store = FlowStore(sessions, folder)
    weekly = store.resolve("weekly-wellbeing")
    edited = parse_flow(weekly.source_text.replace("Thank", "Many thanks"), "edited.yaml")
    with transaction(sessions) as session:
        flow_versions.save(session, edited, "staff@example.org", "web")
    # A new process (a new store) on the same database: the stored edit wins over the file.
    assert FlowStore(sessions, folder).resolve("weekly-wellbeing").version == edited.version
    assert store.resolve("weekly-wellbeing.yaml").version == edited.version  # at once
    with pytest.raises(UnknownStoredFlow, match="flows import"):
        store.resolve("nope")


def test_a_save_made_meanwhile_is_never_overwritten(sessions: sessionmaker[Session]) -> None:
    first = parse_flow(FLOW, "a.yaml")
    second = parse_flow(FLOW.replace("Thanks.", "Ta."), "b.yaml")
    third = parse_flow(FLOW.replace("Thanks.", "Cheers."), "c.yaml")
    with transaction(sessions) as session:
        flow_versions.save(session, first, "a", "web", replacing=None, check_replacing=True)
    with transaction(sessions) as session:
        flow_versions.save(
            session, second, "b", "web", replacing=first.version, check_replacing=True
        )
    with pytest.raises(StaleSave), transaction(sessions) as session:  # opened on `first`
        flow_versions.save(
            session, third, "c", "web", replacing=first.version, check_replacing=True
        )
    assert FlowStore(sessions, "/nonexistent").resolve("street-check").version == second.version


def test_a_running_checkin_keeps_its_version(sessions: sessionmaker[Session]) -> None:
    """A check-in records its version; loading that version gives the old text even after
    a newer one is stored."""
    old = parse_flow(FLOW, "a.yaml")
    new = parse_flow(FLOW.replace("How safe", "How very safe"), "b.yaml")
    with transaction(sessions) as session:
        flow_versions.save(session, old, "a", "import")
    with transaction(sessions) as session:
        flow_versions.save(session, new, "b", "web")
    with transaction(sessions, readonly=True) as session:
        assert "How safe is" in flow_versions.load(session, old.version).source_text
    assert FlowStore(sessions, "/nonexistent").resolve("street-check").version == new.version
