"""Engines, URLs and units of work."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from storage.database import make_engine, normalise_url, session_factory, transaction
from storage.models import ClockTick, Group


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example:5432/gs", "postgresql+psycopg://u:p@db.example:5432/gs"),
        ("postgresql://u:p@db.example/gs", "postgresql+psycopg://u:p@db.example/gs"),
        ("postgresql+psycopg://u@h/gs", "postgresql+psycopg://u@h/gs"),
        (
            "postgres://u:p%40ss@h/gs?sslmode=require",
            "postgresql+psycopg://u:p%40ss@h/gs?sslmode=require",
        ),
        ("sqlite:///groundswell.db", "sqlite:///groundswell.db"),
    ],
)
def test_normalise_url(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_make_engine_rewrites_heroku_style_urls() -> None:
    engine = make_engine("postgres://u:p@db.example:5432/gs")
    assert engine.dialect.name == "postgresql"
    assert engine.dialect.driver == "psycopg"
    assert engine.url.password == "p"


def test_make_engine_url_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert make_engine().url.database == str(tmp_path / "env.db")
    monkeypatch.delenv("DATABASE_URL")
    assert str(make_engine().url) == "sqlite:///groundswell.db"


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 30_000
        assert pragma("synchronous") == 1  # NORMAL
    engine.dispose()


def _try_write_lock(path: Path) -> bool:
    """Whether another connection could take the write lock right now (without waiting)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_sqlite_transactions_take_the_write_lock_up_front(tmp_path: Path) -> None:
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        session.execute(text("SELECT 1"))  # a read only: legacy pysqlite would not even BEGIN
        assert not _try_write_lock(path)
    assert _try_write_lock(path)
    with transaction(sessions, readonly=True) as session:
        session.execute(text("SELECT 1"))
        assert _try_write_lock(path)  # readers do not block writers
    engine.dispose()


def test_transaction_commits_or_rolls_back(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        session.add(Group(name="kept"))
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        session.add(Group(name="discarded"))
        session.flush()
        raise RuntimeError("boom")
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(Group.name)).all() == ["kept"]


def test_objects_stay_usable_after_commit(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        group = Group(name="north")
        session.add(group)
    assert group.id is not None and group.name == "north"  # no DetachedInstanceError


def test_savepoints_roll_back_only_their_part(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        session.add(Group(name="outer"))
        with pytest.raises(RuntimeError), session.begin_nested():
            session.add(Group(name="inner"))
            session.flush()
            raise RuntimeError("undo inner")
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(Group.name)).all() == ["outer"]


@pytest.mark.parametrize("db_backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_readonly_transactions_reject_writes_on_postgres(sessions: sessionmaker[Session]) -> None:
    with (
        pytest.raises(DBAPIError, match="read-only"),
        transaction(sessions, readonly=True) as session,
    ):
        session.add(Group(name="nope"))
        session.flush()
    # The pooled connection is writable again afterwards.
    for _ in range(3):
        with transaction(sessions) as session:
            session.add(Group(name=f"ok-{session.scalar(select(func.count(Group.id)))}"))


def test_concurrent_read_modify_write_loses_nothing(sessions: sessionmaker[Session]) -> None:
    """Two workers increment one counter; on SQLite this used to fail with 'database is locked'."""
    with transaction(sessions) as session:
        tick = ClockTick(process="counter", started=0)
        session.add(tick)
    rounds, errors = 25, []

    def work() -> None:
        try:
            for _ in range(rounds):
                with transaction(sessions) as session:
                    current = session.scalar(
                        select(ClockTick.started).where(ClockTick.id == tick.id).with_for_update()
                    )
                    session.execute(
                        update(ClockTick).where(ClockTick.id == tick.id).values(started=current + 1)
                    )
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with transaction(sessions, readonly=True) as session:
        assert session.get(ClockTick, tick.id).started == 2 * rounds
