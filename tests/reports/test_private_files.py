"""Issue 16: files holding personal data are created with mode 0600 (they were 0644): the
SQLite database and its -wal/-shm, exports and reports written with --out. On SQLite and
PostgreSQL for the commands."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.commands.export import export
from bot.commands.report import report
from storage.database import make_engine, transaction
from storage.models import AuditEntry
from tests.reports.dataset import Dataset
from tests.reports.test_report_cli import data, env, run  # noqa: F401  (fixtures)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sqlite_database_and_its_wal_and_shm_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, under which files came out 0644
    try:
        path = tmp_path / "groundswell.db"
        engine = make_engine(f"sqlite:///{path}")
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:  # WAL files exist while a connection is open
            connection.execute(text("SELECT x FROM t")).all()
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(each.exists() for each in files)
            assert [_mode(each) for each in files] == [0o600] * 3
        engine.dispose()
        path.chmod(0o644)  # a database from before: tightened when next opened
        make_engine(f"sqlite:///{path}").dispose()
        assert _mode(path) == 0o600
    finally:
        os.umask(old)


def test_exports_and_reports_written_with_out_are_private(
    data: Dataset,  # noqa: F811
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
    sessions: sessionmaker[Session],
) -> None:
    old = os.umask(0o022)
    try:
        existing = tmp_path / "answers.csv"
        existing.write_text("old")
        existing.chmod(0o644)
        for command, args, out in (
            (export, ["answers", "--out"], existing),
            (export, ["checkins", "--out"], tmp_path / "checkins.csv"),
            (export, ["enrolments", "--out"], tmp_path / "enrolments.csv"),
            (report, ["town-pulse", "--format", "csv", "--out"], tmp_path / "report.csv"),
            (report, ["town-pulse", "--format", "html", "--out"], tmp_path / "report.html"),
        ):
            result = run(command, [*args, str(out)], env)
            assert result.exit_code == 0, result.output
            assert _mode(out) == 0o600, out
    finally:
        os.umask(old)
    with transaction(sessions, readonly=True) as session:
        exported = session.scalars(
            select(AuditEntry.subject).where(AuditEntry.action == "exported")
        ).all()
    assert len(exported) == 3 and "answer(s) of every flow to" in exported[0]
