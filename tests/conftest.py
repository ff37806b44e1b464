"""Database fixtures: every test that asks for one runs on SQLite and on PostgreSQL.

- `db_backend`: "sqlite" or "postgresql" (PostgreSQL params carry the `postgres` marker).
- `database_url`: a fresh database of its own, migrated to head.
- `empty_database_url`: a fresh database with no tables (for migration tests).
- `engine` / `sessions`: an engine and a sessionmaker on `database_url`.

PostgreSQL comes from env `GROUNDSWELL_TEST_POSTGRES` (default
`postgresql+psycopg://postgres@127.0.0.1:5432/test`, used only as the admin connection). Set it
to the empty string to skip PostgreSQL tests; if it is set but unreachable they fail. Each test
session migrates one template database `gs_test_<pid>_<hex>`; each test gets a copy
(`CREATE DATABASE .. TEMPLATE`, about 0.1 s) that is dropped afterwards, so concurrent runs and
tests never see each other's rows. SQLite tests copy a migrated template file the same way.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from storage import migrate
from storage.database import make_engine, normalise_url, session_factory

POSTGRES_ENV = "GROUNDSWELL_TEST_POSTGRES"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class PostgresServer:
    """The admin connection plus this session's migrated template database."""

    def __init__(self, url: str) -> None:
        self.url = make_url(normalise_url(url))
        self.admin: Engine = create_engine(
            self.url,
            isolation_level="AUTOCOMMIT",  # CREATE/DROP DATABASE cannot run in a transaction
            poolclass=NullPool,
            connect_args={"connect_timeout": 5},
        )
        self.prefix = f"gs_test_{os.getpid()}_{secrets.token_hex(4)}"
        self.template = self.prefix
        self._numbers = itertools.count(1)
        self._created: set[str] = set()

    def url_for(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def check_reachable(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(text("SELECT 1"))

    def create_database(self, template: str = "template0") -> str:
        """A new database (a copy of `template`); returns its URL."""
        name = f"{self.prefix}_{next(self._numbers)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self._created.add(name)
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        assert name is not None and name.startswith(self.prefix)
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.discard(name)

    def migrate_template(self) -> None:
        self._execute(f'CREATE DATABASE "{self.template}" TEMPLATE template0')
        migrate.upgrade(self.url_for(self.template))  # NullPool: no connection stays open

    def close(self) -> None:
        for name in [*self._created, self.template]:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(sql)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """This session's PostgreSQL; skips when disabled, fails when configured but unreachable."""
    url = os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES)
    if not url.strip():
        pytest.skip(f"PostgreSQL tests disabled: {POSTGRES_ENV} is set to the empty string")
    server = PostgresServer(url)
    problem = None
    try:
        server.check_reachable()
    except OperationalError as exc:
        problem = str(exc.orig).strip()
    if problem is not None:
        shown = server.url.render_as_string(hide_password=True)
        pytest.fail(
            f"cannot connect to PostgreSQL at {shown}: {problem}\n"
            f"Start it, point {POSTGRES_ENV} at a reachable server, "
            f"or set {POSTGRES_ENV}= (empty) to skip the PostgreSQL tests.",
            pytrace=False,
        )
    try:
        server.migrate_template()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; tests get copies."""
    path = tmp_path_factory.mktemp("sqlite_template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest) -> str:
    """Which database this test runs against."""
    return request.param


@pytest.fixture
def database_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh database of this test's own, migrated to head."""
    if db_backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "groundswell.db"
        for suffix in ("", "-wal"):
            if Path(f"{template}{suffix}").exists():
                shutil.copyfile(f"{template}{suffix}", f"{path}{suffix}")
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database(template=server.template)
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def empty_database_url(
    db_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """URL of a fresh database without any tables."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on this test's migrated database."""
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """The sessionmaker the application would use, on this test's database."""
    return session_factory(engine)


#: Password hashing in tests: scrypt at N=2^14, not the real 2^17, so that the hundreds of
#: in-process sign-ins stay quick. The real cost is asserted in tests/web_ui/test_hardening.py
#: (which sets it back), and server processes started by tests always use the real one.
TEST_PASSWORD_METHOD = "scrypt:16384:8:1"


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.web.staff import accounts

    monkeypatch.setattr(accounts, "PASSWORD_METHOD", TEST_PASSWORD_METHOD)
