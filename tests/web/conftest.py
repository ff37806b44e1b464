"""Fixtures for the web tests: an app on this test's database (SQLite and PostgreSQL), a
frozen clock, provider settings, signed-request helpers and row counts.

Twilio requests are signed with twilio's own `RequestValidator`, over the public URL the
app is configured with, exactly as Twilio signs them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from bot.channels.telegram import TelegramSettings
from bot.channels.twilio import TwilioSettings
from bot.checkins.starting import start_checkin
from bot.settings import Settings
from bot.web import create_app
from storage.database import transaction
from storage.models import (
    Answer,
    ChannelAddress,
    Checkin,
    Enrolment,
    Group,
    Message,
    OutboxItem,
    Participant,
    UnknownSender,
)
from survey_flows.checks.folder import FlowLibrary
from tests.fakes import twilio_inbound_params
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID
from tests.fakes.twilio_api import DEFAULT_AUTH_TOKEN as AUTH_TOKEN

PUBLIC_URL = "https://groundswell.example.org"
SMS_URL = PUBLIC_URL + "/webhooks/twilio/sms"
STATUS_URL = PUBLIC_URL + "/webhooks/twilio/status"
OUR_NUMBER = "+447700900000"
RESIDENT = "+447700900123"
STRANGER = "+447700900999"
TELEGRAM_TOKEN = "123:ABC"
TELEGRAM_SECRET = "the-webhook-secret_42"
CHAT_ID = 424242
#: A Wednesday at noon in London: outside quiet hours.
NOON = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)

__all__ = ["AUTH_TOKEN"]


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = NOON

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


TABLES = {
    "messages": Message,
    "outbox": OutboxItem,
    "answers": Answer,
    "participants": Participant,
    "addresses": ChannelAddress,
    "checkins": Checkin,
    "enrolments": Enrolment,
    "unknown_senders": UnknownSender,
}


def counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Row counts of every table a webhook may write to."""
    with transaction(sessions, readonly=True) as session:
        return {
            name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in TABLES.items()
        }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def library() -> FlowLibrary:
    return FlowLibrary()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_url=PUBLIC_URL)


@pytest.fixture
def app(
    settings: Settings, sessions: sessionmaker[Session], library: FlowLibrary, clock: Clock
) -> Flask:
    return create_app(
        settings,
        sessions=sessions,
        library=library,
        clock=clock,
        twilio=TwilioSettings(
            account_sid=DEFAULT_ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=OUR_NUMBER
        ),
        telegram=TelegramSettings(token=TELEGRAM_TOKEN, webhook_secret=TELEGRAM_SECRET),
    )


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def sign(params: Mapping[str, str], url: str = SMS_URL, token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature for a POST of `params` to `url`, as Twilio computes it."""
    return RequestValidator(token).compute_signature(url, dict(params))


def post_twilio(
    client: FlaskClient,
    params: Mapping[str, str],
    *,
    path: str = "/webhooks/twilio/sms",
    signature: str | None = None,
    **kwargs: Any,
) -> TestResponse:
    """POST a form to a Twilio webhook; signed for PUBLIC_URL + path unless told otherwise."""
    if signature is None:
        signature = sign(params, PUBLIC_URL + path)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(path, data=dict(params), headers=headers, **kwargs)


def sms(client: FlaskClient, body: str, *, sender: str = RESIDENT, sid: str | None = None):
    """A resident's SMS, correctly signed. Returns (response, params)."""
    params = twilio_inbound_params(sender, OUR_NUMBER, body, message_sid=sid)
    return post_twilio(client, params), params


def post_telegram(
    client: FlaskClient, update: Mapping[str, Any], secret: str | None = TELEGRAM_SECRET
) -> TestResponse:
    """POST an update to the Telegram webhook with the secret-token header (if any)."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return client.post("/webhooks/telegram", json=dict(update), headers=headers)


def add_group(
    sessions: sessionmaker[Session],
    name: str = "Elm Street",
    join_code: str | None = "ELM",
    flow: str | None = "weekly-wellbeing",
) -> int:
    """A group; returns its id."""
    with transaction(sessions) as session:
        group = Group(name=name, join_code=join_code, default_flow=flow)
        session.add(group)
        session.flush()
        return group.id


def add_participant(
    sessions: sessionmaker[Session],
    *,
    channel: str = "sms",
    address: str = RESIDENT,
    group_id: int | None = None,
    name: str = "Sam",
) -> int:
    """A participant reachable at one address; returns the id."""
    with transaction(sessions) as session:
        participant = Participant(name=name, group_id=group_id, opted_out=False)
        session.add(participant)
        session.flush()
        session.add(ChannelAddress(participant_id=participant.id, channel=channel, address=address))
        return participant.id


def start_flow(
    sessions: sessionmaker[Session],
    participant_id: int,
    flow_id: str,
    settings: Settings,
    now: datetime = NOON,
) -> int:
    """Start a check-in now (messages not held); returns the check-in id."""
    with transaction(sessions) as session:
        participant = session.get_one(Participant, participant_id)
        checkin = start_checkin(
            session,
            participant,
            FlowLibrary().resolve(flow_id),
            now,
            settings,
            hold_for_quiet_hours=False,
        )
        assert checkin is not None
        return checkin.id


def answers(sessions: sessionmaker[Session], participant_id: int) -> dict[str, Any]:
    """step id -> value of every answer the participant gave."""
    with transaction(sessions, readonly=True) as session:
        rows = session.execute(
            select(Answer.step_id, Answer.value).where(Answer.participant_id == participant_id)
        )
        return {step: value for step, value in rows}
