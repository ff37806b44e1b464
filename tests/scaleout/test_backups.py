"""The backup and restore commands docs/deployment.md gives, run for real: SQLite's
`.backup` and a copy back, PostgreSQL's pg_dump and pg_restore into a fresh database;
then the app reads the restored data (`groundswell participants` and `flows export`)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storage.database import make_engine, session_factory, transaction
from storage.flow_versions import FlowStore
from storage.models import Participant
from tests.conftest import PostgresServer
from tests.scaleout.conftest import Processes, environment


def _fill(url: str, folder: Path) -> None:
    """A participant and the stored flows, as a deployment would hold them."""
    engine = make_engine(url)
    try:
        sessions = session_factory(engine)
        FlowStore(sessions, folder).seed()
        with transaction(sessions) as session:
            session.add(Participant(name="Restored Resident"))
    finally:
        engine.dispose()


def _reads_back(url: str, processes: Processes, tmp_path: Path) -> None:
    """The app, started on the restored database, finds the data."""
    env = environment(url)
    out = tmp_path / "exported"
    exported = processes.run(env, "flows", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert (out / "weekly-wellbeing.yaml").is_file()
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine), readonly=True) as session:
            assert session.query(Participant).filter_by(name="Restored Resident").count() == 1
    finally:
        engine.dispose()


@pytest.fixture
def shipped_flows(tmp_path: Path) -> Path:
    from survey_flows.checks.folder import default_flows_folder

    folder = tmp_path / "flows"
    shutil.copytree(default_flows_folder(), folder)
    return folder


def test_sqlite_backup_and_restore(
    sqlite_template: Path, tmp_path: Path, shipped_flows: Path, processes: Processes
) -> None:
    live = tmp_path / "groundswell.db"
    shutil.copyfile(sqlite_template, live)
    _fill(f"sqlite:///{live}", shipped_flows)
    backup = tmp_path / "backups" / "groundswell-2026-12-02.db"
    backup.parent.mkdir()
    # The documented command, while the database is in use (WAL mode).
    keep_open = sqlite3.connect(live)
    try:
        subprocess.run(["sqlite3", str(live), f".backup '{backup}'"], check=True)
    finally:
        keep_open.close()
    restored = tmp_path / "restored" / "groundswell.db"
    restored.parent.mkdir()
    shutil.copyfile(backup, restored)  # restoring: copy the backup into place, app stopped
    _reads_back(f"sqlite:///{restored}", processes, tmp_path)


@pytest.mark.postgres
def test_postgresql_dump_and_restore_into_a_fresh_database(
    pg_url: str,
    postgres_server: PostgresServer,
    tmp_path: Path,
    shipped_flows: Path,
    processes: Processes,
) -> None:
    _fill(pg_url, shipped_flows)
    libpq = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    dump = tmp_path / "groundswell-2026-12-02.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", libpq], check=True, timeout=120)
    fresh = postgres_server.create_database()  # empty: no tables at all
    try:
        target = make_url(fresh).set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={target}", str(dump)],
            check=True,
            timeout=120,
        )
        upgraded = processes.run(environment(fresh), "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
        _reads_back(fresh, processes, tmp_path)
    finally:
        postgres_server.drop_database(fresh)
