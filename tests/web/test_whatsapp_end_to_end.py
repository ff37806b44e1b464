"""WhatsApp end to end: signed webhooks into the app, the outbox worker sending through
the real twilio client to the fake Twilio, which enforces the 24-hour window (63016) and
refuses empty template variables (63013). Both databases.

Our side's clock is the test's; the fake keeps its own notion of each number's window,
opened by `resident_wrote` whenever the test posts a message from the resident.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.twilio import TwilioSettings
from bot.channels.whatsapp import WhatsAppSender
from bot.checkins.waking import wake_checkin
from bot.delivery.rate_limits import RateLimits
from bot.delivery.worker import DrainReport, Worker
from bot.people.enrolment import enrol
from bot.schedule.clock import tick
from bot.settings import Settings
from storage.database import transaction
from storage.models import Answer, Checkin, Participant
from survey_flows.checks.folder import FlowLibrary
from tests.fakes import FakeTwilio, twilio_status_callback_params, whatsapp_inbound_params
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from tests.web.conftest import (
    NOON,
    OUR_NUMBER,
    RESIDENT,
    Clock,
    add_group,
    add_participant,
    answers,
    counts,
    post_twilio,
    start_flow,
)
from tests.web.test_whatsapp import outbox_to, whatsapp

CHECKIN = "HX" + "c" * 32
REMINDER = "HX" + "r" * 32
TWO_BUTTONS = "HX" + "b" * 32


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        fake.add_template(CHECKIN, "Hi {{1}}, it's time for your {{2}}. Reply to start.")
        fake.add_template(REMINDER, "Hi {{1}}, your {{2}} is still open. Reply to carry on.")
        fake.add_template(TWO_BUTTONS, "{{1}}", session_only=True)
        yield fake


@pytest.fixture
def worker(fake: FakeTwilio, sessions: sessionmaker[Session], clock: Clock) -> Iterator[Worker]:
    sender = WhatsAppSender(
        TwilioSettings(
            account_sid=DEFAULT_ACCOUNT_SID,
            auth_token=DEFAULT_AUTH_TOKEN,
            api_url=fake.base_url,
            whatsapp_from=OUR_NUMBER,
            whatsapp_templates={"checkin": CHECKIN, "reminder": REMINDER},
            whatsapp_quick_replies={2: TWO_BUTTONS},
        ),
        timeout=5,
    )
    yield Worker(
        sessions,
        {"whatsapp": sender},
        clock=clock,
        limits=RateLimits.unlimited(),
        sleep=lambda _: None,
    )
    sender.close()


def reply(client: FlaskClient, fake: FakeTwilio, body: str, **extra: str) -> None:
    """The resident writes on WhatsApp: Twilio opens its window and posts the webhook."""
    fake.resident_wrote(RESIDENT)
    response, _ = whatsapp(client, body, **extra)
    assert response.status_code == 200


def sent(fake: FakeTwilio, since: int = 0) -> list[dict[str, Any]]:
    """What the fake accepted (after the first `since`): template or body of each."""
    return [
        {"template": m["request_params"].get("ContentSid"), "body": m["body"]}
        for m in fake.messages[since:]
    ]


def test_scheduled_checkin_outside_the_window_sends_only_the_template_then_questions(
    client: FlaskClient,
    fake: FakeTwilio,
    worker: Worker,
    sessions: sessionmaker[Session],
    settings: Settings,
) -> None:
    participant = add_participant(sessions, channel="whatsapp", name="Sam")
    start_flow(sessions, participant, "weekly-wellbeing", settings)

    assert worker.run_once().sent == 1
    [template] = fake.messages
    assert template["request_params"]["ContentSid"] == CHECKIN
    assert json.loads(template["request_params"]["ContentVariables"]) == {
        "1": "Sam",
        "2": "Weekly wellbeing check-in",
    }
    assert "Body" not in template["request_params"]

    reply(client, fake, "hi")  # any reply opens the check-in; it answers nothing
    assert answers(sessions, participant) == {}
    report = worker.run_once()
    questions = sent(fake, 1)
    assert report.sent == len(questions) >= 1
    assert all(m["template"] is None for m in questions)
    assert "satisfied" in questions[-1]["body"].lower()

    reply(client, fake, "7")
    assert answers(sessions, participant) == {"life_satisfaction": 7}
    assert worker.run_once() == DrainReport(sent=1)
    assert "worthwhile" in fake.messages[-1]["body"]


def test_the_templates_button_opens_the_checkin_and_is_no_answer(
    client: FlaskClient,
    fake: FakeTwilio,
    worker: Worker,
    sessions: sessionmaker[Session],
    settings: Settings,
) -> None:
    participant = add_participant(sessions, channel="whatsapp", name="")
    start_flow(sessions, participant, "neighbourhood", settings)
    worker.run_once()
    [template] = fake.messages
    assert json.loads(template["request_params"]["ContentVariables"])["1"] == "there"

    reply(client, fake, "", button_payload="start", button_text="Start")
    worker.run_once()
    assert answers(sessions, participant) == {}
    assert "safe" in fake.messages[-1]["body"]

    reply(client, fake, "", button_payload="very_safe", button_text="Very safe")

    assert answers(sessions, participant) == {"safe": "very_safe"}


def test_stop_over_whatsapp_stops_everything(
    client: FlaskClient,
    fake: FakeTwilio,
    worker: Worker,
    sessions: sessionmaker[Session],
    settings: Settings,
) -> None:
    participant = add_participant(sessions, channel="whatsapp")
    start_flow(sessions, participant, "weekly-wellbeing", settings)
    worker.run_once()

    reply(client, fake, "STOP")
    worker.run_once()

    with transaction(sessions, readonly=True) as session:
        assert session.get_one(Participant, participant).opted_out
    [template, confirmation] = sent(fake)
    assert template["template"] == CHECKIN
    assert "any more messages" in confirmation["body"]
    assert {r.status for r in outbox_to(sessions)} <= {"sent", "cancelled"}
    assert worker.run_once().total == 0
    assert len(fake.messages) == 2


def test_63016_falls_back_to_the_template_without_a_duplicate(
    client: FlaskClient,
    fake: FakeTwilio,
    worker: Worker,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    participant = add_participant(sessions, channel="whatsapp", name="Sam")
    reply(client, fake, "hello")  # our records say the window is open...
    fake.close_window(RESIDENT)  # ...but WhatsApp's has closed
    start_flow(sessions, participant, "weekly-wellbeing", settings)

    report = worker.run_once()

    assert report.held == 1 and report.sent == 1
    assert [m["template"] for m in sent(fake)] == [CHECKIN]
    assert "63016" in caplog.text
    statuses = [r.status for r in outbox_to(sessions) if r.kind != "template"]
    assert statuses.count("held") >= 1

    reply(client, fake, "ok")
    worker.run_once()
    bodies = [m["body"] for m in sent(fake, 1)]
    assert len(bodies) == len(set(bodies))  # each message once
    assert "satisfied" in bodies[-1].lower()
    assert answers(sessions, participant) == {}


def test_63016_in_a_status_callback_holds_the_message_and_sends_the_template(
    client: FlaskClient,
    fake: FakeTwilio,
    worker: Worker,
    sessions: sessionmaker[Session],
    settings: Settings,
) -> None:
    participant = add_participant(sessions, channel="whatsapp", name="Sam")
    reply(client, fake, "hello")
    start_flow(sessions, participant, "weekly-wellbeing", settings)
    worker.run_once()
    last = fake.messages[-1]
    assert last["request_params"].get("ContentSid") is None
    callback = twilio_status_callback_params(
        last["sid"], "failed", from_=last["from"], to=last["to"], error_code=63016
    )

    response = post_twilio(client, callback, path="/webhooks/twilio/status")

    assert response.status_code == 204
    held = [r for r in outbox_to(sessions) if r.status == "held"]
    assert len(held) == 1 and held[0].provider_id is None
    before = len(fake.messages)
    assert worker.run_once().sent == 1
    assert [m["template"] for m in sent(fake, before)] == [CHECKIN]
    reply(client, fake, "ok")
    worker.run_once()
    assert fake.messages[-1]["body"] == last["body"]  # the refused message, now delivered


def test_a_whatsapp_webhook_from_no_phone_number_is_refused(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    params = {**whatsapp_inbound_params(RESIDENT, OUR_NUMBER, "hi"), "From": "whatsapp:x" * 20}
    before = counts(sessions)

    response = post_twilio(client, params)

    assert response.status_code == 400
    assert counts(sessions) == before


def test_a_yes_no_question_goes_with_buttons_and_a_press_answers_it(
    client: FlaskClient, fake: FakeTwilio, worker: Worker, sessions: sessionmaker[Session]
) -> None:
    add_group(sessions)
    reply(client, fake, "JOIN ELM")
    worker.run_once()
    question = fake.messages[-1]["request_params"]
    assert question["ContentSid"] == TWO_BUTTONS
    assert json.loads(question["ContentVariables"]) == {
        "1": "Are you happy to take part? Reply YES or NO.",
        "2": "Yes",
        "3": "No",
        "4": "yes",
        "5": "no",
    }

    reply(client, fake, "", button_payload="yes", button_text="Yes")
    worker.run_once()

    assert "call you" in fake.messages[-1]["body"]
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(Answer.value).where(Answer.step_id == "consent")).one()


def test_a_reminder_outside_the_window_is_the_reminder_template(
    client: FlaskClient,
    fake: FakeTwilio,
    worker: Worker,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: Clock,
) -> None:
    participant = add_participant(sessions, channel="whatsapp", name="Sam")
    clock.now = NOON - timedelta(hours=1)
    reply(client, fake, "hello")
    clock.now = NOON
    checkin = start_flow(sessions, participant, "weekly-wellbeing", settings)
    worker.run_once()
    before = len(fake.messages)

    def wake(at: datetime) -> None:
        clock.now = at
        with transaction(sessions) as session:
            wake_checkin(session, session.get_one(Checkin, checkin), at, settings, FlowLibrary())
        worker.run_once()

    wake(NOON + timedelta(hours=4))  # the first reminder: still inside the window
    assert [m["template"] for m in sent(fake, before)] == [None]
    fake.close_window(RESIDENT)  # WhatsApp's 24 hours run out with ours
    wake(NOON + timedelta(hours=24))  # the second: outside it

    [template] = sent(fake, before + 1)
    assert template["template"] == REMINDER
    assert "still open" in template["body"]
    reply(client, fake, "sorry, here now")
    worker.run_once()
    assert "satisfied" in fake.messages[-1]["body"].lower()
    assert answers(sessions, participant) == {}


def test_the_clocks_scheduled_checkin_outside_the_window_sends_only_the_template(
    client: FlaskClient,
    fake: FakeTwilio,
    worker: Worker,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: Clock,
) -> None:
    tuesday = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    friday_six = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # the flow's time, London in GMT
    participant = add_participant(sessions, channel="whatsapp", name="Sam")
    with transaction(sessions) as session:
        enrol(session, session.get_one(Participant, participant), "weekly-wellbeing", tuesday)
    tick(sessions, FlowLibrary(), settings, tuesday + timedelta(minutes=1))
    clock.now = friday_six + timedelta(seconds=30)

    assert tick(sessions, FlowLibrary(), settings, clock.now).started == 1
    worker.run_once()

    assert [m["template"] for m in sent(fake)] == [CHECKIN]
    reply(client, fake, "ready")
    worker.run_once()
    assert [m["template"] for m in sent(fake, 1)] == [None] * (len(fake.messages) - 1)
    assert "satisfied" in fake.messages[-1]["body"].lower()
