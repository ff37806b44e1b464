"""Fixtures for the hostile-input suite: the web app on this test's database (SQLite and
PostgreSQL), configured for Twilio and Telegram, and a resident in an open check-in so that
accepted messages really reach the engine.

Requests are signed with twilio's own `RequestValidator`, as Twilio signs them (see
tests/web/conftest.py, whose constants and helpers are shared).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram import TelegramSettings
from bot.channels.twilio import TwilioSettings
from bot.settings import Settings
from bot.web import create_app
from survey_flows.flow_folder import FlowLibrary
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID
from tests.web.conftest import (
    AUTH_TOKEN,
    CHAT_ID,
    OUR_NUMBER,
    PUBLIC_URL,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    Clock,
    add_participant,
    start_flow,
)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_url=PUBLIC_URL)


@pytest.fixture
def app(settings: Settings, sessions: sessionmaker[Session]) -> Flask:
    return create_app(
        settings,
        sessions=sessions,
        library=FlowLibrary(),
        clock=Clock(),
        twilio=TwilioSettings(
            account_sid=DEFAULT_ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=OUR_NUMBER
        ),
        telegram=TelegramSettings(token=TELEGRAM_TOKEN, webhook_secret=TELEGRAM_SECRET),
    )


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


@pytest.fixture
def residents(sessions: sessionmaker[Session], settings: Settings) -> tuple[int, int]:
    """An SMS resident and a Telegram resident, each in an open weekly check-in."""
    sms = add_participant(sessions)
    telegram = add_participant(sessions, channel="telegram", address=str(CHAT_ID))
    for participant in (sms, telegram):
        start_flow(sessions, participant, "weekly-wellbeing", settings)
    return sms, telegram
