"""Flows live in the database: two `serve` processes and a worker on one PostgreSQL,
started with no flow files. A flow stored by `flows import` from a third process runs end
to end, and an edit saved in the web app of one `serve` is what the other serves next."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from storage.database import transaction
from storage.models import Answer, Checkin, FlowSave
from tests.fakes import FakeTwilio
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, twilio_inbound_params
from tests.ports import free_port
from tests.scaleout.conftest import Processes, environment

pytestmark = pytest.mark.postgres

PUBLIC_URL = "http://checkins.example.org"  # http: cookies reach the test browser
FROM = "+15557650000"
RESIDENT = "+447700900123"
PASSWORD = "a long staff password 42"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FLOW = """\
flow: street-check
title: Street check
language: en
intro: "Hi, a quick street check."
steps:
  - id: safe
    ask: "How safe is your street? Reply 0 to 10."
    type: scale
    min: 0
    max: 10
    measure: feeling_safe
outro: "Thanks, all done."
measures:
  feeling_safe: {label: "Feeling safe", higher_is_better: true}
"""


def _wait_for_health(port: int, processes: Processes) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if json.loads(answer.read())["status"] == "ok":
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"serve on {port} did not come up:\n{processes.logs()}")


def _text_in(port: int, body: str) -> None:
    """The resident texts `body`, delivered by Twilio to the serve on `port`."""
    params = twilio_inbound_params(RESIDENT, FROM, body)
    url = f"{PUBLIC_URL}/webhooks/twilio/sms"
    signature = RequestValidator(DEFAULT_AUTH_TOKEN).compute_signature(url, params)
    answer = requests.post(
        f"http://127.0.0.1:{port}/webhooks/twilio/sms",
        data=params,
        headers={"X-Twilio-Signature": signature},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def _bodies(twilio: FakeTwilio) -> list[str]:
    return [m["body"] for m in twilio.messages if m["to"] == RESIDENT]


def _wait_for_text(twilio: FakeTwilio, fragment: str, processes: Processes) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(fragment in body for body in _bodies(twilio)):
            return
        time.sleep(0.2)
    pytest.fail(f"no SMS with {fragment!r}; sent: {_bodies(twilio)}\n{processes.logs()}")


def _signed_in(port: int) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"http://127.0.0.1:{port}/sign-in", timeout=10).text
    found = CSRF.search(page)
    assert found
    answer = browser.post(
        f"http://127.0.0.1:{port}/sign-in",
        data={"email": "staff@example.org", "password": PASSWORD, "csrf_token": found.group(1)},
        timeout=10,
    )
    assert answer.status_code == 200 and "Sign out" in answer.text, answer.text[:500]
    return browser


def test_a_flow_stored_anywhere_runs_everywhere(
    pg_url: str, pg_sessions: sessionmaker[Session], processes: Processes, tmp_path: Path
) -> None:
    empty = tmp_path / "no-flows"
    empty.mkdir()
    ports = [free_port(), free_port()]
    with FakeTwilio() as twilio:
        env = environment(
            pg_url,
            GROUNDSWELL_FLOWS=str(empty),
            GROUNDSWELL_PUBLIC_URL=PUBLIC_URL,
            TWILIO_ACCOUNT_SID=DEFAULT_ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=DEFAULT_AUTH_TOKEN,
            TWILIO_FROM=FROM,
            TWILIO_API_URL=twilio.base_url,
            GROUNDSWELL_RATE_SMS="0",
        )
        for port in ports:
            processes.start(env, "serve", "--port", str(port), "--workers", "1", name="serve")
        processes.start(env, "worker")
        for port in ports:
            _wait_for_health(port, processes)

        # A third process stores the flow; more one-off commands set up a group and a person.
        flow_file = tmp_path / "street.yaml"
        flow_file.write_text(FLOW)
        stored = processes.run(env, "flows", "import", str(flow_file))
        assert stored.returncode == 0, stored.stdout + stored.stderr
        assert "street-check: stored, new flow" in stored.stdout
        (tmp_path / "roster.csv").write_text(f"name,phone,group\nSam,{RESIDENT},Elm\n")
        for command in (
            ("groups", "add", "Elm"),
            ("participants", "import", "roster.csv", "--flow", "street-check"),
            ("start", "street-check", "--group", "Elm", "--now"),
        ):
            done = processes.run(env, *command)
            assert done.returncode == 0, (command, done.stdout, done.stderr)

        _wait_for_text(twilio, "How safe is your street?", processes)
        _text_in(ports[0], "7")
        _wait_for_text(twilio, "Thanks, all done.", processes)
        with transaction(pg_sessions, readonly=True) as session:
            values = [a.value for a in session.scalars(select(Answer))]
            statuses = [c.status for c in session.scalars(select(Checkin))]
        assert values == [7] and statuses == ["completed"]

        # Staff edit the question in the first web process ...
        added = processes.run(
            env, "users", "add", "staff@example.org", "--role", "staff", stdin=PASSWORD + "\n"
        )
        assert added.returncode == 0, added.stdout + added.stderr
        browser = _signed_in(ports[0])
        editor = browser.get(f"http://127.0.0.1:{ports[0]}/flows/street-check.yaml/edit").text
        base = re.search(r'name="base" value="([^"]*)"', editor)
        token = CSRF.search(editor)
        assert base and token
        edited = FLOW.replace("How safe is your street?", "How safe do you feel outside?")
        saved = browser.post(
            f"http://127.0.0.1:{ports[0]}/flows/street-check.yaml/edit",
            data={"source": edited, "base": base.group(1), "csrf_token": token.group(1)},
            timeout=10,
        )
        assert saved.status_code == 200 and "How safe do you feel outside?" in saved.text

        # ... and the second one serves the edit at once: its page, and the next check-in.
        other = _signed_in(ports[1])
        page = other.get(f"http://127.0.0.1:{ports[1]}/flows/street-check.yaml", timeout=10).text
        assert "How safe do you feel outside?" in page
        assert "staff@example.org" in page  # who saved the version
        restarted = processes.run(env, "start", "street-check", "--group", "Elm", "--now")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        _wait_for_text(twilio, "How safe do you feel outside?", processes)
        _text_in(ports[1], "9")
        deadline = time.monotonic() + 60
        while _bodies(twilio).count("Thanks, all done.") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _bodies(twilio).count("Thanks, all done.") == 2, _bodies(twilio)

    with transaction(pg_sessions, readonly=True) as session:
        hows = [
            (s.how, s.saved_by) for s in session.scalars(select(FlowSave).order_by(FlowSave.id))
        ]
        checkins = session.scalars(select(Checkin).order_by(Checkin.id)).all()
    assert [h for h, _ in hows] == ["import", "web"] and hows[1][1] == "staff@example.org"
    assert checkins[0].flow_version != checkins[1].flow_version  # each kept its own version
    assert not list(empty.iterdir())  # nothing was written into a flows folder
