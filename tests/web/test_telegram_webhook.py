"""POST /webhooks/telegram: the secret token is required; updates are handled once."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram import TelegramSettings
from bot.settings import Settings
from bot.web import create_app
from storage.database import transaction
from storage.models import Message, OutboxItem
from survey_flows.checks.folder import FlowLibrary
from tests.fakes import telegram_callback_update, telegram_text_update
from tests.web.conftest import (
    CHAT_ID,
    Clock,
    add_participant,
    answers,
    counts,
    post_telegram,
    start_flow,
)


def _chatter_in(sessions: sessionmaker[Session], settings: Settings, flow: str) -> int:
    participant = add_participant(sessions, channel="telegram", address=str(CHAT_ID))
    start_flow(sessions, participant, flow, settings)
    return participant


def test_text_update_is_answered(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    participant = _chatter_in(sessions, settings, "weekly-wellbeing")
    before = counts(sessions)

    response = post_telegram(client, telegram_text_update(1001, CHAT_ID, "8"))

    assert response.status_code == 200
    assert answers(sessions, participant) == {"life_satisfaction": 8}
    after = counts(sessions)
    assert after["messages"] == before["messages"] + 2
    assert after["outbox"] == before["outbox"] + 1
    with transaction(sessions, readonly=True) as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
        assert (inbound.channel, inbound.address, inbound.provider_id) == (
            "telegram",
            str(CHAT_ID),
            "1001",
        )


def test_redelivered_update_id_changes_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    participant = _chatter_in(sessions, settings, "weekly-wellbeing")
    update = telegram_text_update(1001, CHAT_ID, "8")
    assert post_telegram(client, update).status_code == 200
    before = counts(sessions)

    assert post_telegram(client, update).status_code == 200

    assert counts(sessions) == before
    assert answers(sessions, participant) == {"life_satisfaction": 8}


def test_wrong_or_missing_secret_is_refused_and_nothing_stored(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _chatter_in(sessions, settings, "weekly-wellbeing")
    before = counts(sessions)
    update = telegram_text_update(1001, CHAT_ID, "8")

    wrong = post_telegram(client, update, secret="guessed")
    missing = post_telegram(client, update, secret=None)
    empty = post_telegram(client, update, secret="")

    assert (wrong.status_code, missing.status_code, empty.status_code) == (403, 403, 403)
    assert counts(sessions) == before


def test_button_press_records_the_choice_and_queues_the_callback_answer(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    participant = _chatter_in(sessions, settings, "neighbourhood")
    with transaction(sessions, readonly=True) as session:
        question = session.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).first()
        assert question is not None and question.buttons is not None
        assert "fairly_safe" in [button["value"] for button in question.buttons]
    before = counts(sessions)
    update = telegram_callback_update(
        2001, CHAT_ID, "fairly_safe", message_id=7, callback_id="cbq-1"
    )

    response = post_telegram(client, update)

    assert response.status_code == 200
    assert answers(sessions, participant) == {"safe": "fairly_safe"}
    after = counts(sessions)
    # the next question, and the answer that stops the client's spinner
    assert after["outbox"] == before["outbox"] + 2
    with transaction(sessions, readonly=True) as session:
        bodies = [
            item.body
            for item in session.scalars(select(OutboxItem).where(OutboxItem.id > question.id))
        ]
    assert any("belong" in body for body in bodies)

    assert post_telegram(client, update).status_code == 200  # redelivered press
    assert counts(sessions) == after


def test_updates_we_do_not_handle_are_acknowledged(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    before = counts(sessions)
    edited = telegram_text_update(1001, CHAT_ID, "8")
    edited["edited_message"] = edited.pop("message")

    response = post_telegram(client, edited)

    assert response.status_code == 200
    assert counts(sessions) == before


def test_malformed_update_is_a_bad_request(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    before = counts(sessions)
    headers = {"X-Telegram-Bot-Api-Secret-Token": "the-webhook-secret_42"}

    not_json = client.post(
        "/webhooks/telegram", data=b"{not json", headers=headers, content_type="application/json"
    )
    no_update_id = post_telegram(client, {"message": {"text": "hi"}})
    a_list = client.post("/webhooks/telegram", json=[1, 2], headers=headers)

    for response in (not_json, no_update_id, a_list):
        assert response.status_code == 400
        assert response.mimetype == "text/plain"
        assert b"Traceback" not in response.data
    assert counts(sessions) == before


def test_not_configured_answers_404(
    settings: Settings, sessions: sessionmaker[Session], clock: Clock
) -> None:
    app = create_app(
        settings,
        sessions=sessions,
        library=FlowLibrary(),
        clock=clock,
        telegram=TelegramSettings(token="123:ABC"),
    )

    response = post_telegram(app.test_client(), telegram_text_update(1, CHAT_ID, "hi"))

    assert response.status_code == 404
    assert b"TELEGRAM_WEBHOOK_SECRET" in response.data
