"""Hostile and unlucky requests: oversize, malformed, huge or emoji texts, a database that
goes away. Short plain answers, no tracebacks, nothing half-stored."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import InboundMessage
from bot.channels.twilio import TwilioSettings
from bot.checkins import receiving
from bot.settings import Settings
from bot.web import create_app, default_sessions
from storage.database import transaction
from storage.models import Message
from survey_flows.checks.folder import FlowLibrary
from tests.fakes import telegram_text_update, twilio_inbound_params
from tests.web.conftest import (
    AUTH_TOKEN,
    CHAT_ID,
    OUR_NUMBER,
    PUBLIC_URL,
    RESIDENT,
    Clock,
    add_participant,
    answers,
    counts,
    post_telegram,
    post_twilio,
    sms,
    start_flow,
)


def _inbound_bodies(sessions: sessionmaker[Session]) -> list[str | None]:
    with transaction(sessions, readonly=True) as session:
        return list(
            session.scalars(
                select(Message.body).where(Message.direction == "in").order_by(Message.id)
            )
        )


def test_oversize_bodies_are_refused_with_413(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "x" * (65 * 1024))
    update = telegram_text_update(1, CHAT_ID, "x" * (65 * 1024))

    twilio = post_twilio(client, params)
    telegram = post_telegram(client, update)

    assert (twilio.status_code, telegram.status_code) == (413, 413)
    assert twilio.mimetype == "text/plain"
    assert counts(sessions)["messages"] == 0


def test_ten_thousand_characters_and_emoji_are_stored_intact(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    participant = add_participant(sessions)
    start_flow(sessions, participant, "weekly-wellbeing", settings)
    long_text = ("Ünïcödé and more; " * 600)[:10_000]
    emoji = "👍🏽 7 🎉"

    first, _ = sms(client, long_text)
    second, _ = sms(client, emoji)
    third = post_telegram(client, telegram_text_update(5, CHAT_ID, "🙂" * 100))

    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 200)
    assert _inbound_bodies(sessions) == [long_text, emoji, "🙂" * 100]
    assert answers(sessions, participant) == {"life_satisfaction": 7}


def _broken_url(backend: str, tmp_path: Any) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/no/such/folder/groundswell.db"
    return "postgresql+psycopg://nobody@127.0.0.1:1/none"


def test_database_down_answers_503_so_providers_retry(
    db_backend: str, tmp_path: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    url = _broken_url(db_backend, tmp_path)
    app = create_app(
        Settings(database_url=url, public_url=PUBLIC_URL),
        sessions=default_sessions(url),
        library=FlowLibrary(),
        clock=clock,
        twilio=TwilioSettings(auth_token=AUTH_TOKEN),
    )
    client = app.test_client()

    health = client.get("/healthz")
    with caplog.at_level(logging.INFO):
        webhook, _ = sms(client, "my secret words")

    assert health.status_code == 503
    assert health.get_json() == {"status": "error", "database": "unreachable"}
    assert webhook.status_code == 503
    assert webhook.headers["Retry-After"]
    assert webhook.mimetype == "text/plain"
    assert "my secret words" not in caplog.text
    assert RESIDENT not in caplog.text


def test_database_lost_mid_request_answers_503_and_stores_nothing(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    participant = add_participant(sessions)
    start_flow(sessions, participant, "weekly-wellbeing", settings)
    before = counts(sessions)
    real_receive = receiving.receive

    def receive_then_lose_the_connection(session: Session, inbound: InboundMessage, *args: Any):
        real_receive(session, inbound, *args)
        session.flush()
        raise OperationalError("COMMIT", {"body": inbound.text}, Exception("connection lost"))

    monkeypatch.setattr("bot.checkins.inbound.receive", receive_then_lose_the_connection)
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "7")
    with caplog.at_level(logging.INFO):
        failed = post_twilio(client, params)

    assert failed.status_code == 503
    assert failed.headers["Retry-After"]
    assert b"Traceback" not in failed.data
    assert counts(sessions) == before
    assert RESIDENT not in caplog.text

    monkeypatch.undo()
    retried = post_twilio(client, params)  # Twilio's redelivery

    assert retried.status_code == 200
    assert answers(sessions, participant) == {"life_satisfaction": 7}


def test_unexpected_errors_answer_500_without_details(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_participant(sessions)

    def broken(*args: Any) -> None:
        raise RuntimeError(f"bug while handling {RESIDENT}")

    monkeypatch.setattr("bot.checkins.inbound.receive", broken)
    with caplog.at_level(logging.INFO):
        response, _ = sms(client, "7")

    assert response.status_code == 500
    assert response.data == b"internal error\n"
    assert RESIDENT not in caplog.text
    assert "RuntimeError" in caplog.text
    assert counts(sessions)["messages"] == 0


def test_logs_never_hold_phone_numbers_or_text(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    participant = add_participant(sessions)
    start_flow(sessions, participant, "weekly-wellbeing", settings)

    with caplog.at_level(logging.DEBUG):
        sms(client, "7 and a very particular phrase")
        post_telegram(client, telegram_text_update(1, CHAT_ID, "another particular phrase"))

    assert "particular phrase" not in caplog.text
    assert RESIDENT not in caplog.text
    assert str(CHAT_ID) not in caplog.text
