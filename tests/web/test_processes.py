"""`groundswell run` and `groundswell serve` as real processes: they come up, answer
/healthz, and stop cleanly (exit 0) on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port

START_UP_SECONDS = 30
STOP_SECONDS = 30
CLI = "from bot.cli import main; main()"


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "TELEGRAM_", "GROUNDSWELL_", "PORT", "WEB_"))
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'groundswell.db'}"
    return env


def _wait_for_health(process: subprocess.Popen[str], port: int) -> dict[str, str]:
    """Poll /healthz with short attempts until it answers (process start-up only)."""
    deadline = time.monotonic() + START_UP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited early with {process.returncode}:\n{process.communicate()[0]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                return json.loads(answer.read())
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    pytest.fail(f"no answer on port {port} within {START_UP_SECONDS} s")


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def _start(spawn: list[subprocess.Popen[str]], tmp_path: Path, *args: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        env=_environment(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    spawn.append(process)
    return process


def test_run_serves_and_stops_cleanly(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    process = _start(spawn, tmp_path, "run", "--port", str(port))

    assert _wait_for_health(process, port) == {"status": "ok", "database": "ok"}
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=STOP_SECONDS)

    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}" in output
    assert "JOIN" in output
    assert "Stopped." in output
    assert "First run: sign in as staff@groundswell.local with password " in output
    assert (tmp_path / "groundswell.db").exists()
    with sqlite3.connect(tmp_path / "groundswell.db") as db:  # the clock ticked on start
        assert db.execute("SELECT count(*) FROM clock_ticks").fetchone()[0] >= 1


def _server_header(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        return str(answer.headers.get("Server", ""))


def test_run_serves_with_waitress_and_stops_on_ctrl_c(
    tmp_path: Path, spawn: list[subprocess.Popen[str]]
) -> None:
    """The production server answers (not Werkzeug's development server), and Ctrl-C
    (SIGINT) stops the web server, the worker and the clock cleanly."""
    port = free_port()
    process = _start(spawn, tmp_path, "run", "--port", str(port))

    assert _wait_for_health(process, port)["database"] == "ok"
    server = _server_header(port)
    assert "waitress" in server and "Werkzeug" not in server
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=STOP_SECONDS)

    assert process.returncode == 0, output
    assert "Stopped." in output and "Traceback" not in output


def test_run_on_every_address_prints_no_password(
    tmp_path: Path, spawn: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    process = _start(spawn, tmp_path, "run", "--host", "0.0.0.0", "--port", str(port))

    _wait_for_health(process, port)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=STOP_SECONDS)

    assert process.returncode == 0, output
    assert "password" not in output.lower()
    assert "groundswell users add" in output


def test_serve_runs_gunicorn_and_stops_cleanly(
    tmp_path: Path, spawn: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    process = _start(spawn, tmp_path, "serve", "--port", str(port), "--workers", "2")

    assert _wait_for_health(process, port)["database"] == "ok"
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=STOP_SECONDS)

    assert process.returncode == 0, output
