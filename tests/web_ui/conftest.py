"""Fixtures for the web app's tests: an app on this test's database (SQLite and
PostgreSQL) with a frozen clock and a copy of the shipped flows, two groups with people,
a staff user and a coordinator of one group, and helpers to sign in and post forms.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from bot.channels.telegram import TelegramSettings
from bot.channels.twilio import TwilioSettings
from bot.settings import Settings
from bot.web import create_app
from bot.web.staff.accounts import add_user
from storage.database import transaction
from storage.models import Alert, ChannelAddress, Group, Message, Participant
from survey_flows.checks.folder import FlowLibrary, default_flows_folder

PUBLIC_URL = "https://groundswell.example.org"
PASSWORD = "correct horse battery"
STAFF = "staff@example.org"
COORDINATOR = "coord@example.org"
#: A Wednesday at noon in London: outside quiet hours.
NOON = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = NOON

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass(frozen=True)
class World:
    """Ids of what the `world` fixture made."""

    elm: int
    riverside: int
    elm_person: int
    river_person: int
    elm_alert: int
    river_alert: int


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def flows_folder(tmp_path: Path) -> Path:
    """A copy of the shipped flows: tests may edit it freely."""
    folder = tmp_path / "flows"
    shutil.copytree(default_flows_folder(), folder)
    return folder


@pytest.fixture
def library(flows_folder: Path) -> FlowLibrary:
    return FlowLibrary(flows_folder)


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
        twilio=TwilioSettings(),
        telegram=TelegramSettings(),
    )


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def add_account(
    sessions: sessionmaker[Session], email: str, role: str, groups: tuple[str, ...] = ()
) -> None:
    with transaction(sessions) as session:
        add_user(session, email, role, PASSWORD, groups, now=NOON, actor="test")


def _person(session: Session, name: str, group_id: int, address: str) -> int:
    person = Participant(name=name, group_id=group_id, opted_out=False, created_at=NOON)
    session.add(person)
    session.flush()
    session.add(ChannelAddress(participant_id=person.id, channel="sms", address=address))
    return person.id


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    """Elm Street and Riverside, one resident and one open alert each; a staff user and an
    Elm Street coordinator."""
    with transaction(sessions) as session:
        elm = Group(name="Elm Street", join_code="ELM", default_flow="weekly-wellbeing")
        river = Group(name="Riverside", join_code="RIV", default_flow="weekly-wellbeing")
        session.add_all([elm, river])
        session.flush()
        elm_person = _person(session, "Sam", elm.id, "+447700900123")
        river_person = _person(session, "Riya", river.id, "+447700900456")
        alerts = []
        for pid, gid in ((elm_person, elm.id), (river_person, river.id)):
            alert = Alert(
                participant_id=pid,
                group_id=gid,
                step_id="callback",
                flow_id="weekly-wellbeing",
                created_at=NOON,
            )
            session.add(alert)
            session.flush()
            alerts.append(alert.id)
        made = World(elm.id, river.id, elm_person, river_person, alerts[0], alerts[1])
    add_account(sessions, STAFF, "staff")
    add_account(sessions, COORDINATOR, "coordinator", ("Elm Street",))
    return made


def csrf_token(response: TestResponse) -> str:
    """The CSRF token in a page's forms."""
    found = CSRF.search(response.get_data(as_text=True))
    assert found, "no CSRF token on the page"
    return found.group(1)


def simulator_reply(client: FlaskClient, **data: str) -> str:
    """Reply on the Simulator's test phone (``text=`` or ``button=``), as its page's script
    does, and return the panel it sends back."""
    page = client.get("/simulator/")
    response = client.post(
        "/simulator/reply",
        data={**data, "csrf_token": csrf_token(page)},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    """Sign in through the form, as a browser would."""
    token = csrf_token(client.get("/sign-in"))
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})


def post_form(client: FlaskClient, page: str, action: str, data: dict[str, str]) -> TestResponse:
    """Open `page`, then post `data` to `action` with the CSRF token the page carried."""
    token = csrf_token(client.get(page))
    return client.post(action, data={**data, "csrf_token": token})


def add_message(
    sessions: sessionmaker[Session], participant_id: int, body: str, direction: str = "in"
) -> None:
    with transaction(sessions) as session:
        session.add(
            Message(
                participant_id=participant_id,
                direction=direction,
                channel="sms",
                address="+447700900123",
                body=body,
                created_at=NOON,
                status="queued" if direction == "out" else None,
            )
        )
