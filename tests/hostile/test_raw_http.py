"""Malformed HTTP against the real web process (`groundswell serve`, gunicorn).

The Flask tests stop at the WSGI boundary; these send raw bytes over a socket: broken
request lines, oversize headers, chunked bodies past the 64 KiB limit, request smuggling
shapes, lying Content-Lengths. Every answer is an HTTP error without a traceback, nothing
reaches the database, and the server still answers its health check afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import migrate
from tests.ports import free_port
from tests.web.conftest import AUTH_TOKEN, PUBLIC_URL, TELEGRAM_SECRET, TELEGRAM_TOKEN

ROOT = Path(__file__).resolve().parents[2]
START_UP_SECONDS = 90
LIMIT = 64 * 1024
TABLES = ("messages", "outbox", "participants", "unknown_senders", "answers")


class Server:
    """A running `groundswell serve` on SQLite."""

    def __init__(self, port: int, database: Path, process: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.database = database
        self.process = process

    def exchange(self, raw: bytes, *, half_close: bool = False) -> bytes:
        """Send `raw`, return everything the server answers before closing (or 10 s)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as conn:
            conn.sendall(raw)
            if half_close:
                conn.shutdown(socket.SHUT_WR)
            chunks = []
            try:
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    if b"\r\n\r\n" in b"".join(chunks) and not half_close:
                        head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                        length = _content_length(head)
                        if length is not None and len(body) >= length:
                            break
            except (TimeoutError, ConnectionResetError):
                pass
            return b"".join(chunks)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def counts(self) -> dict[str, int]:
        with sqlite3.connect(self.database) as db:
            return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("raw_http")
    database = folder / "groundswell.db"
    migrate.upgrade(f"sqlite:///{database}")
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "TELEGRAM_", "GROUNDSWELL_", "WEB_"))
        and key not in ("PORT", "DATABASE_URL")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        GROUNDSWELL_PUBLIC_URL=PUBLIC_URL,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
    )
    process = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    running = Server(port, database, process)
    try:
        deadline = time.monotonic() + START_UP_SECONDS
        while not running.healthy():  # start-up only: short, bounded attempts
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"groundswell serve did not come up (exit {process.poll()})")
            time.sleep(0.2)
        yield running
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _chunked(path: str, total: int, headers: str = "") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        f"Content-Type: application/json\r\n{headers}\r\n"
    ).encode()
    chunk = b"x" * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(total // len(chunk)))
    return head + body + b"0\r\n\r\n"


SECRET = f"X-Telegram-Bot-Api-Secret-Token: {TELEGRAM_SECRET}\r\n"
REQUESTS = {
    "garbage": b"\x00\x01\x02\xff\r\n\r\n",
    "no version": b"POST /webhooks/telegram\r\n\r\n",
    "bad method": b"P\xd3ST /webhooks/telegram HTTP/1.1\r\nHost: x\r\n\r\n",
    "huge header": b"POST /webhooks/telegram HTTP/1.1\r\nHost: x\r\nX-A: "
    + b"a" * 20000
    + b"\r\n\r\n",
    "too many headers": b"POST /webhooks/telegram HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-%d: 1\r\n" % n for n in range(300))
    + b"\r\n",
    "huge request line": b"POST /webhooks/telegram?" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n",
    "chunked past the limit with the secret": _chunked("/webhooks/telegram", 2 * LIMIT, SECRET),
    "chunked past the limit, sms": _chunked("/webhooks/twilio/sms", 2 * LIMIT),
    "smuggling": b"POST /webhooks/telegram HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
    b"Transfer-Encoding: chunked\r\n" + SECRET.encode() + b"\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
    "two lengths": b"POST /webhooks/telegram HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    b"Content-Length: 40\r\n" + SECRET.encode() + b"\r\n{}",
    "negative length": b"POST /webhooks/telegram HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n"
    + SECRET.encode()
    + b"\r\n",
    "huge length": b"POST /webhooks/twilio/sms HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 99999999999\r\n\r\nBody=x",
    "length over the limit": b"POST /webhooks/telegram HTTP/1.1\r\nHost: x\r\n"
    + SECRET.encode()
    + b"Content-Length: %d\r\n\r\n" % (LIMIT + 1)
    + json.dumps({"update_id": 1, "x": "y" * LIMIT}).encode()[: LIMIT + 1],
}


@pytest.mark.parametrize("name", list(REQUESTS))
def test_malformed_http_is_an_error_without_a_traceback(server: Server, name: str) -> None:
    before = server.counts()

    answer = server.exchange(REQUESTS[name])

    status_line = answer.split(b"\r\n", 1)[0]
    assert b"Traceback" not in answer and b'File "' not in answer, answer[:500]
    if answer:  # gunicorn may also just close the connection on garbage
        status = int(status_line.split()[1])
        assert 400 <= status < 500, (name, status_line)
    assert server.counts() == before
    assert server.healthy()


def test_a_body_shorter_than_its_length_stores_nothing(server: Server) -> None:
    before = server.counts()
    raw = (
        b"POST /webhooks/telegram HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n"
        + SECRET.encode()
        + b'\r\n{"update_id": 5, "message": {"message_id": 1, "date": 0, "chat": {"id": 5,'
    )

    answer = server.exchange(raw, half_close=True)

    assert b"Traceback" not in answer
    assert not answer.startswith(b"HTTP/1.1 2")
    assert server.counts() == before
    assert server.healthy()


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/webhooks/twilio/sms", "Content-Type: application/x-www-form-urlencoded\r\n"),
        ("/webhooks/telegram", SECRET),
    ],
    ids=["sms, unsigned", "telegram"],
)
def test_a_malformed_chunked_body_is_400_not_500(server: Server, path: str, headers: str) -> None:
    raw = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{headers}\r\n"
        "zz\r\n{}\r\n0\r\n\r\n"
    ).encode()

    answer = server.exchange(raw)

    assert answer.split(b"\r\n", 1)[0] == b"HTTP/1.1 400 BAD REQUEST", answer[:200]
