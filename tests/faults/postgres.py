"""A private PostgreSQL server of our own, to stop and start without touching anyone else's.

The fault suite stops PostgreSQL in the middle of a run. The shared test server
(`GROUNDSWELL_TEST_POSTGRES`) serves other people's tests, so it is never stopped: this
module runs `initdb` into a temporary folder and `pg_ctl` on a free port instead, as the
`postgres` OS user when we are root (PostgreSQL refuses to run as root).

The instance runs with `fsync=off`: a test server needs no protection against the machine
losing power, and fsync would only add disk waits on a shared machine. It does not weaken
what the suite proves: `pg_ctl stop -m immediate` kills the server processes, not the
operating system, so every committed transaction is still in the WAL the kernel holds, and
crash recovery on the next start replays it exactly as it would after a real crash.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg

from tests.ports import free_port

#: Where Debian and Ubuntu install the server binaries (one folder per major version).
_DEBIAN_BINARIES = Path("/usr/lib/postgresql")
START_TIMEOUT_SECONDS = 60


def find_binaries() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`: `$PG_BIN`, the newest Debian-style
    install, `pg_config --bindir`, or the PATH; None when PostgreSQL is not installed."""
    configured = os.environ.get("PG_BIN")
    candidates = [Path(configured)] if configured else []
    if _DEBIAN_BINARIES.is_dir():
        versions = sorted(
            (p for p in _DEBIAN_BINARIES.iterdir() if p.name.isdigit()),
            key=lambda p: int(p.name),
            reverse=True,
        )
        candidates += [version / "bin" for version in versions]
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


class PrivatePostgres:
    """One PostgreSQL server in a temporary folder, on a free port of 127.0.0.1.

    Use as a context manager: the server is initialised and started on entry, stopped and
    its folder removed on exit. `stop()` and `start()` may be called any number of times in
    between; the data survives them. `url(database)` gives a SQLAlchemy URL.
    """

    def __init__(self, binaries: Path | None = None, *, max_connections: int = 200) -> None:
        found = binaries or find_binaries()
        if found is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.binaries = found
        self.max_connections = max_connections
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="gs-private-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.running = False
        self._as_postgres = os.geteuid() == 0

    # ----------------------------------------------------------------- life cycle

    def __enter__(self) -> Self:
        try:
            self.initialise()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def initialise(self) -> None:
        """`initdb` with trust authentication for local connections and user `postgres`."""
        if self._as_postgres:
            shutil.chown(self.folder, user="postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections (pg_ctl -w)."""
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.folder}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c full_page_writes=off",
                f"-c max_connections={self.max_connections}",
            ]
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            "start",
        )
        self.running = True

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server: `immediate` kills it like a crash (recovery runs on the next
        start), `fast` rolls back open transactions and shuts down cleanly."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False

    def close(self) -> None:
        """Stop the server (if running) and remove its folder."""
        try:
            if self.running:
                self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    # ----------------------------------------------------------------- databases

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of `database` on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database; returns its URL."""
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return self.url(name)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.binaries / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.folder)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{program} failed ({done.returncode}): {done.stderr.strip()}\n{log}".strip()
            )
