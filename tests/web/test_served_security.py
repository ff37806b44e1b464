"""Issue 16 against real `groundswell serve` processes (gunicorn, several workers and
threads), on SQLite and PostgreSQL: parallel wrong passwords never get more checks than
the per-account limit, and a participant search leaves no number in the access log."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.web.staff import throttle
from bot.web.staff.accounts import add_user
from storage import audit
from storage.database import transaction
from storage.models import ChannelAddress, Group, Participant
from tests.ports import free_port

CLI = "from bot.cli import main; main()"
START_UP_SECONDS = 60
STAFF = "staff@example.org"
PASSWORD = "correct horse battery"
NUMBER = "+447700900123"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A cookie-keeping HTTP client; `request` answers (status, body) for any status."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=60) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def token(self, path: str) -> str:
        status, body = self.request(path)
        found = CSRF.search(body)
        assert status == 200 and found, f"{path}: {status}"
        return found.group(1)

    def sign_in(self, email: str, password: str) -> int:
        token = self.token("/sign-in")
        form = {"email": email, "password": password, "csrf_token": token}
        return self.request("/sign-in", form)[0]


@pytest.fixture
def server(
    tmp_path: Path, database_url: str, db_backend: str
) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    """`groundswell serve` with 4 workers x 8 threads on PostgreSQL (2 x 4 on SQLite),
    writing its access log to a file; yields (base URL, log path, process)."""
    port = free_port()
    log = tmp_path / "access.log"
    workers, threads = ("4", "8") if db_backend == "postgresql" else ("2", "4")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "TELEGRAM_", "GROUNDSWELL_", "PORT", "WEB_"))
    }
    env["DATABASE_URL"] = database_url
    command = [sys.executable, "-c", CLI, "serve", "--port", str(port), "--workers", workers]
    process = subprocess.Popen(
        [*command, "--threads", threads, "--access-log", str(log)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_UP_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}:\n{process.communicate()[0]}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                pytest.fail("serve did not answer /healthz")
            time.sleep(0.1)
    try:
        yield base, log, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def staff_and_resident(sessions: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        group = Group(name="Elm Street", join_code="ELM")
        session.add(group)
        session.flush()
        person = Participant(name="Sam", group_id=group.id, opted_out=False, created_at=now)
        session.add(person)
        session.flush()
        session.add(ChannelAddress(participant_id=person.id, channel="sms", address=NUMBER))
        add_user(session, STAFF, "staff", PASSWORD, (), now=now, actor="test")


def test_parallel_wrong_passwords_get_no_more_checks_than_the_limit(
    server: tuple[str, Path, subprocess.Popen[str]],
    staff_and_resident: None,
    sessions: sessionmaker[Session],
) -> None:
    """Finding 1: 25 simultaneous wrong passwords for one account had 7 (4 workers x 8
    threads: 19 of 29) checked on PostgreSQL, where the limit is 5."""
    base, _log, _process = server
    browsers = [Browser(base) for _ in range(25)]
    tokens = [browser.token("/sign-in") for browser in browsers]
    start = threading.Barrier(len(browsers))
    statuses: list[int] = []

    def guess(browser: Browser, token: str) -> None:
        start.wait()
        form = {"email": STAFF, "password": "not the password", "csrf_token": token}
        statuses.append(browser.request("/sign-in", form)[0])

    pairs = zip(browsers, tokens, strict=True)
    threads = [threading.Thread(target=guess, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) == [401, 429], statuses
    assert statuses.count(401) == throttle.PER_ACCOUNT, statuses
    assert Browser(base).sign_in(STAFF, PASSWORD) == 429  # the account is locked
    with transaction(sessions, readonly=True) as session:
        assert audit.verify(session).broken is None  # appends from 4 processes chained


def test_a_search_leaves_no_number_in_the_access_log(
    server: tuple[str, Path, subprocess.Popen[str]], staff_and_resident: None
) -> None:
    """Finding 4: participant search was a GET form, so the number sat in every log."""
    base, log, process = server
    browser = Browser(base)
    assert browser.sign_in(STAFF, PASSWORD) == 200  # followed the redirect to the home page
    token = browser.token("/participants/")
    status, body = browser.request("/participants/", {"q": "07700 900123", "csrf_token": token})
    assert status == 200 and "with that phone number" in body and "Sam" in body
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    written = log.read_text()
    assert "POST /participants/ " in written  # the log works, and has the search in it
    for digits in ("447700900123", "7700900123", "07700", "900123"):
        assert digits not in written
