"""Fixtures for the hostile-input suite: the web app on this test's database (SQLite and
PostgreSQL), configured for Twilio and Telegram, and a resident in an open check-in so that
accepted messages really reach the engine.

Requests are signed with twilio's own `RequestValidator`, as Twilio signs them. The app,
its client and settings are tests/web/conftest.py's fixtures, imported here (pytest finds
fixtures a conftest imports), with its constants and helpers.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from tests.web.conftest import (  # noqa: F401 (app, client, clock, library, settings: fixtures)
    CHAT_ID,
    add_participant,
    app,
    client,
    clock,
    library,
    settings,
    start_flow,
)


@pytest.fixture
def residents(sessions: sessionmaker[Session], settings: Settings) -> tuple[int, int]:  # noqa: F811
    """An SMS resident and a Telegram resident, each in an open weekly check-in."""
    sms = add_participant(sessions)
    telegram = add_participant(sessions, channel="telegram", address=str(CHAT_ID))
    for participant in (sms, telegram):
        start_flow(sessions, participant, "weekly-wellbeing", settings)
    return sms, telegram
