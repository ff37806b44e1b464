"""PostgreSQL-only fixtures for the scale-out tests, and starting real `groundswell`
processes on one database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage.database import make_engine, session_factory
from tests.conftest import PostgresServer

CLI = "from bot.cli import main; main()"


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh migrated PostgreSQL database (these tests are about several processes on one
    PostgreSQL, which SQLite does not offer)."""
    url = postgres_server.create_database(template=postgres_server.template)
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture
def pg_sessions(pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(pg_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def environment(database_url: str, **extra: str) -> dict[str, str]:
    """A clean environment for a `groundswell` process: no provider or Groundswell
    settings inherited from the test run, then `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "TELEGRAM_", "GROUNDSWELL_", "PORT", "WEB_"))
    }
    env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


class Processes:
    """`groundswell` processes started by one test; all are killed at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[subprocess.Popen[str]] = []

    def start(self, env: dict[str, str], *args: str, name: str = "") -> subprocess.Popen[str]:
        log = (self.folder / f"{name or args[0]}-{len(self.started)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-c", CLI, *args],
            env=env,
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.started.append(process)
        return process

    def run(self, env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        """Run one command to its end (a one-off like `flows import`)."""
        return subprocess.run(
            [sys.executable, "-c", CLI, *args],
            env=env,
            cwd=self.folder,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()}" for path in sorted(self.folder.glob("*.log"))
        )

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()
