"""POST /webhooks/twilio/sms: signed requests are handled once; anything else stores nothing."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.twilio import TwilioSettings
from bot.settings import Settings
from bot.web import create_app
from storage.database import transaction
from storage.models import Message, OutboxItem
from survey_flows.checks.folder import FlowLibrary
from tests.fakes import twilio_inbound_params
from tests.web.conftest import (
    AUTH_TOKEN,
    OUR_NUMBER,
    PUBLIC_URL,
    RESIDENT,
    SMS_URL,
    Clock,
    add_participant,
    answers,
    counts,
    post_twilio,
    sign,
    sms,
    start_flow,
)

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _resident_in_checkin(sessions: sessionmaker[Session], settings: Settings) -> int:
    participant = add_participant(sessions)
    start_flow(sessions, participant, "weekly-wellbeing", settings)
    return participant


def test_signed_sms_is_stored_answered_and_replied_to(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    participant = _resident_in_checkin(sessions, settings)
    before = counts(sessions)

    response, params = sms(client, "7")

    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.data == EMPTY_TWIML
    assert answers(sessions, participant) == {"life_satisfaction": 7}
    after = counts(sessions)
    assert after["messages"] == before["messages"] + 2  # the inbound and the next question
    assert after["outbox"] == before["outbox"] + 1
    with transaction(sessions, readonly=True) as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
        assert (inbound.provider_id, inbound.body, inbound.address) == (
            params["MessageSid"],
            "7",
            RESIDENT,
        )
        assert inbound.participant_id == participant
        queued = session.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).first()
        assert queued is not None and "worthwhile" in queued.body


def test_redelivered_message_sid_changes_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    participant = _resident_in_checkin(sessions, settings)
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "7")
    assert post_twilio(client, params).status_code == 200
    before = counts(sessions)

    again = post_twilio(client, params)

    assert again.status_code == 200
    assert again.data == EMPTY_TWIML
    assert counts(sessions) == before
    assert answers(sessions, participant) == {"life_satisfaction": 7}


def test_forged_signature_is_refused_and_nothing_stored(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _resident_in_checkin(sessions, settings)
    before = counts(sessions)
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "7")

    response = post_twilio(client, params, signature=sign(params, SMS_URL, token="not-the-token"))

    assert response.status_code == 403
    assert counts(sessions) == before


def test_missing_signature_is_refused(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _resident_in_checkin(sessions, settings)
    before = counts(sessions)
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "7")

    response = post_twilio(client, params, signature="")

    assert response.status_code == 403
    assert b"Twilio signature" in response.data
    assert counts(sessions) == before


def test_tampered_body_is_refused(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _resident_in_checkin(sessions, settings)
    before = counts(sessions)
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "7")
    signature = sign(params)

    response = post_twilio(client, {**params, "Body": "0"}, signature=signature)
    added = post_twilio(client, {**params, "Extra": "x"}, signature=signature)

    assert (response.status_code, added.status_code) == (403, 403)
    assert counts(sessions) == before


def test_signature_over_http_url_does_not_match_https(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _resident_in_checkin(sessions, settings)
    before = counts(sessions)
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "7")
    http_url = SMS_URL.replace("https://", "http://")

    response = post_twilio(client, params, signature=sign(params, http_url))

    assert response.status_code == 403
    assert counts(sessions) == before


def test_signature_uses_public_url_not_the_request_host(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """Signed for the URL the test client really called (localhost): refused."""
    _resident_in_checkin(sessions, settings)
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "7")

    response = post_twilio(
        client, params, signature=sign(params, "http://localhost/webhooks/twilio/sms")
    )

    assert response.status_code == 403


def test_parameters_twilio_adds_later_are_covered(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    participant = _resident_in_checkin(sessions, settings)
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "7", NewField="surprise", Foo="bar")

    assert post_twilio(client, params).status_code == 200
    assert answers(sessions, participant) == {"life_satisfaction": 7}


def test_query_string_is_part_of_the_signed_url(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    participant = _resident_in_checkin(sessions, settings)
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "7")
    path = "/webhooks/twilio/sms?site=elm"

    response = post_twilio(client, params, path=path, signature=sign(params, PUBLIC_URL + path))

    assert response.status_code == 200
    assert answers(sessions, participant) == {"life_satisfaction": 7}


def test_signed_but_incomplete_form_is_a_bad_request(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    before = counts(sessions)
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "7")
    del params["From"]

    response = post_twilio(client, params)

    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert b"Traceback" not in response.data
    assert counts(sessions) == before


def test_not_configured_answers_404_with_a_clear_body(
    settings: Settings, sessions: sessionmaker[Session], clock: Clock
) -> None:
    no_token = create_app(
        settings,
        sessions=sessions,
        library=FlowLibrary(),
        clock=clock,
        twilio=TwilioSettings(),
    )
    no_public_url = create_app(
        Settings(database_url=settings.database_url, public_url=None),
        sessions=sessions,
        library=FlowLibrary(),
        clock=clock,
        twilio=TwilioSettings(auth_token=AUTH_TOKEN),
    )
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "7")

    first = post_twilio(no_token.test_client(), params)
    second = post_twilio(no_public_url.test_client(), params)

    assert first.status_code == 404 and b"TWILIO_AUTH_TOKEN" in first.data
    assert second.status_code == 404 and b"GROUNDSWELL_PUBLIC_URL" in second.data
    assert counts(sessions)["messages"] == 0


def test_get_is_not_allowed(client: FlaskClient) -> None:
    response = client.get("/webhooks/twilio/sms")

    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
