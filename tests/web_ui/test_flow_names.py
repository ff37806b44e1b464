"""Finding 3 (issue 16): flow names from web forms were paths, so staff could run any file on
the server as a flow (and /dev/zero exhausted memory); a flow's versions page showed any
stored version. Now names are flow ids only, files are capped regular files, and a
version page shows only that flow's versions. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from storage.database import transaction
from storage.models import Checkin, FlowVersion, Message
from survey_flows.checks.file_text import MAX_FLOW_BYTES, read_flow_text
from survey_flows.checks.problems import FlowError
from tests.web_ui.conftest import STAFF, World, post_form, sign_in

OUTSIDE = """\
flow: outside
title: Outside
language: en
steps:
  - id: secret
    ask: "THIS FILE IS OUTSIDE THE FLOWS FOLDER"
    type: text
"""

NAMES = ["{outside}", "../outside", "../outside.yaml", "/dev/zero", "/etc/passwd", "Outside"]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A valid flow file next to (not in) the flows folder."""
    path = tmp_path / "outside.yaml"
    path.write_text(OUTSIDE)
    return path


def _nothing_ran(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Checkin)) == 0
        assert session.scalar(select(func.count()).select_from(FlowVersion)) == 0
        bodies = session.scalars(select(Message.body)).all()
    assert not any("OUTSIDE" in (body or "") for body in bodies)


@pytest.mark.parametrize("name", NAMES)
def test_forms_take_flow_ids_only(
    client: FlaskClient,
    world: World,
    sessions: sessionmaker[Session],
    outside: Path,
    name: str,
) -> None:
    sign_in(client, STAFF)
    flow = name.format(outside=outside)
    person = f"/participants/{world.elm_person}"
    for action in (f"{person}/start", f"{person}/enrol"):
        response = post_form(client, person, action, {"flow": flow})
        assert response.status_code == 400, action
    response = post_form(client, "/simulator/", "/simulator/start", {"flow": flow})
    assert response.status_code in (200, 400)
    assert "OUTSIDE" not in response.get_data(as_text=True)
    _nothing_ran(sessions)


def test_a_version_page_shows_only_that_flows_versions(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    with transaction(sessions) as session:
        session.add(FlowVersion(version="a" * 64, flow_id="outside", source_text=OUTSIDE))
        session.add(
            FlowVersion(version="b" * 64, flow_id="weekly-wellbeing", source_text="old text")
        )
    assert client.get(f"/flows/welcome.yaml/versions/{'a' * 64}").status_code == 404
    assert client.get(f"/flows/welcome.yaml/versions/{'b' * 64}").status_code == 404
    shown = client.get(f"/flows/weekly-wellbeing.yaml/versions/{'b' * 64}")
    assert shown.status_code == 200 and "old text" in shown.get_data(as_text=True)


def test_flow_files_must_be_small_regular_files(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * MAX_FLOW_BYTES + b"\n")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for path, words in (
        ("/dev/zero", "not a regular file"),
        (fifo, "not a regular file"),
        (big, "larger than 1024 KB"),
        (tmp_path, "a folder"),
    ):
        with pytest.raises(FlowError) as caught:
            read_flow_text(path)
        assert words in caught.value.problems[0].message


def test_flows_check_refuses_dev_zero_a_fifo_and_a_huge_file(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (2 * MAX_FLOW_BYTES))
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    result = CliRunner().invoke(main, ["flows", "check", "/dev/zero", str(fifo), str(big)])
    assert result.exit_code == 1
    assert "/dev/zero:1: this is not a regular file" in result.output
    assert f"{fifo}:1: this is not a regular file" in result.output
    assert f"{big}:1: the file is larger than 1024 KB" in result.output
