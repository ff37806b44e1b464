"""Inbound WhatsApp at the Twilio messaging webhook: parsed, stored once, the number's
24-hour window recorded in the same transaction; unsigned requests store nothing."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from bot.settings import Settings
from storage.database import transaction
from storage.models import ChannelAddress, Message, OutboxItem, Participant, WhatsAppWindow
from tests.fakes import whatsapp_inbound_params
from tests.web.conftest import (
    NOON,
    OUR_NUMBER,
    RESIDENT,
    STRANGER,
    Clock,
    add_group,
    add_participant,
    answers,
    counts,
    post_twilio,
    start_flow,
)


def whatsapp(
    client: FlaskClient,
    body: str,
    *,
    sender: str = RESIDENT,
    sid: str | None = None,
    signed: bool = True,
    **extra: str,
) -> tuple[TestResponse, dict[str, str]]:
    """A resident's WhatsApp message as Twilio posts it (signed unless told otherwise)."""
    params = whatsapp_inbound_params(sender, OUR_NUMBER, body, message_sid=sid, **extra)
    return post_twilio(client, params, signature=None if signed else ""), params


def window_of(sessions: sessionmaker[Session], address: str = RESIDENT) -> datetime | None:
    """When `address` last wrote on WhatsApp, as recorded."""
    with transaction(sessions, readonly=True) as session:
        row = session.get(WhatsAppWindow, address)
        return row.last_inbound_at if row is not None else None


def outbox_to(sessions: sessionmaker[Session], address: str = RESIDENT) -> list[OutboxItem]:
    """Every outbox row to `address`, in queue order."""
    with transaction(sessions, readonly=True) as session:
        return list(
            session.scalars(
                select(OutboxItem).where(OutboxItem.address == address).order_by(OutboxItem.id)
            )
        )


def _open_window(client: FlaskClient, clock: Clock) -> None:
    """The resident wrote a moment ago (an unprompted hello), so free-form may go."""
    whatsapp(client, "hello")


def test_whatsapp_answer_is_stored_and_opens_the_window(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings, clock: Clock
) -> None:
    participant = add_participant(sessions, channel="whatsapp")
    _open_window(client, clock)
    start_flow(sessions, participant, "weekly-wellbeing", settings)

    response, params = whatsapp(client, "7")

    assert response.status_code == 200
    assert answers(sessions, participant) == {"life_satisfaction": 7}
    assert window_of(sessions) == NOON
    with transaction(sessions, readonly=True) as session:
        inbound = session.scalars(
            select(Message).where(Message.direction == "in").order_by(Message.id.desc())
        ).first()
        assert inbound is not None
        assert (inbound.channel, inbound.address, inbound.provider_id) == (
            "whatsapp",
            RESIDENT,
            params["MessageSid"],
        )
    assert "worthwhile" in outbox_to(sessions)[-1].body


def test_redelivery_changes_nothing_and_does_not_move_the_window(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings, clock: Clock
) -> None:
    participant = add_participant(sessions, channel="whatsapp")
    _open_window(client, clock)
    start_flow(sessions, participant, "weekly-wellbeing", settings)
    _, params = whatsapp(client, "7")
    before = counts(sessions)
    clock.now = NOON.replace(hour=13)

    again, _ = whatsapp(client, "7", sid=params["MessageSid"])

    assert again.status_code == 200
    assert counts(sessions) == before
    assert window_of(sessions) == NOON
    assert answers(sessions, participant) == {"life_satisfaction": 7}


def test_unsigned_whatsapp_webhook_is_refused_and_stores_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    participant = add_participant(sessions, channel="whatsapp")
    start_flow(sessions, participant, "weekly-wellbeing", settings)
    before = counts(sessions)

    response, _ = whatsapp(client, "7", signed=False)

    assert response.status_code == 403
    assert counts(sessions) == before
    assert window_of(sessions) is None


def test_button_payload_answers_a_choice_like_typed_text(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings, clock: Clock
) -> None:
    participant = add_participant(sessions, channel="whatsapp")
    _open_window(client, clock)
    start_flow(sessions, participant, "neighbourhood", settings)

    response, _ = whatsapp(client, "", button_payload="fairly_safe", button_text="Fairly safe")

    assert response.status_code == 200
    assert answers(sessions, participant) == {"safe": "fairly_safe"}


def test_stop_over_whatsapp_is_confirmed_by_groundswell_and_stops_everything(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings, clock: Clock
) -> None:
    participant = add_participant(sessions, channel="whatsapp")
    _open_window(client, clock)
    start_flow(sessions, participant, "weekly-wellbeing", settings)

    response, _ = whatsapp(client, "STOP")

    assert response.status_code == 200
    with transaction(sessions, readonly=True) as session:
        assert session.get_one(Participant, participant).opted_out
    rows = outbox_to(sessions)
    assert [r.status for r in rows] == ["cancelled", "cancelled", "queued"]
    assert "any more messages" in rows[-1].body  # Twilio does not confirm STOP on WhatsApp


def test_joining_by_group_code_over_whatsapp(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    group = add_group(sessions)

    response, _ = whatsapp(client, "JOIN ELM", sender=STRANGER, profile_name="Robin")

    assert response.status_code == 200
    with transaction(sessions, readonly=True) as session:
        person = session.scalars(
            select(Participant)
            .join(ChannelAddress, ChannelAddress.participant_id == Participant.id)
            .where(ChannelAddress.channel == "whatsapp", ChannelAddress.address == STRANGER)
        ).one()
        assert (person.group_id, person.name, person.opted_out) == (group, "Robin", False)
    assert window_of(sessions, STRANGER) == NOON
    assert "happy to take part" in outbox_to(sessions, STRANGER)[-1].body
    assert {row.status for row in outbox_to(sessions, STRANGER)} == {"queued"}
