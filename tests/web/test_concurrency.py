"""Two messages from one participant at the same moment, over real HTTP to a threaded
server: both are handled, one after the other, in the order they took the participant's
lock; no answer is lost. The PostgreSQL run is the one that proves it (real row locks
under READ COMMITTED); SQLite serialises writers by design."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import BaseWSGIServer, make_server

from bot.settings import Settings
from storage.database import transaction
from storage.models import Answer
from tests.fakes import twilio_inbound_params
from tests.web.conftest import (
    OUR_NUMBER,
    RESIDENT,
    SMS_URL,
    add_participant,
    counts,
    sign,
    start_flow,
)

ROUNDS = (("5", "6"), ("4", "3"))
STEPS = ["life_satisfaction", "worthwhile", "happy", "anxious"]


@pytest.fixture
def server(app: Flask) -> Iterator[BaseWSGIServer]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _post_together(port: int, bodies: tuple[str, ...]) -> list[int]:
    """POST one signed SMS per body from one resident, released at the same instant."""
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = [0] * len(bodies)

    def post(index: int, body: str) -> None:
        params = twilio_inbound_params(RESIDENT, OUR_NUMBER, body)
        payload = urlencode(params)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(params, SMS_URL),
        }
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.connect()
        try:
            barrier.wait(timeout=10)
            connection.request("POST", "/webhooks/twilio/sms", payload, headers)
            response = connection.getresponse()
            response.read()
            statuses[index] = response.status
        finally:
            connection.close()

    threads = [
        threading.Thread(target=post, args=(index, body)) for index, body in enumerate(bodies)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_two_messages_at_once_are_both_answered_in_order(
    server: BaseWSGIServer, sessions: sessionmaker[Session], settings: Settings
) -> None:
    participant = add_participant(sessions)
    start_flow(sessions, participant, "weekly-wellbeing", settings)
    before = counts(sessions)

    for bodies in ROUNDS:
        assert _post_together(server.server_port, bodies) == [200, 200]

    with transaction(sessions, readonly=True) as session:
        rows = session.execute(
            select(Answer.step_id, Answer.value, Answer.message_id)
            .where(Answer.participant_id == participant)
            .order_by(Answer.message_id)
        ).all()
    # One answer per message, none lost, each step answered once, in the order handled.
    assert [step for step, _, _ in rows] == STEPS
    for round_number, bodies in enumerate(ROUNDS):
        values = {rows[2 * round_number][1], rows[2 * round_number + 1][1]}
        assert values == {int(body) for body in bodies}
    after = counts(sessions)
    assert after["messages"] - before["messages"] == 8  # 4 in, 4 replies
    assert after["outbox"] - before["outbox"] == 4
