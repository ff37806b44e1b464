"""POST /webhooks/twilio/status: delivery reports update the outbound message by its sid."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery.outbox import Recipient, enqueue_text
from storage.database import transaction
from storage.models import Message, OutboxItem, Participant
from tests.fakes import twilio_status_callback_params
from tests.web.conftest import (
    NOON,
    OUR_NUMBER,
    RESIDENT,
    STATUS_URL,
    add_participant,
    counts,
    post_twilio,
    sign,
)

PATH = "/webhooks/twilio/status"
SID = "SM" + "a" * 32


def _sent_message(sessions: sessionmaker[Session], participant: int, sid: str = SID) -> None:
    """One outbound SMS the worker already handed to Twilio as `sid`, plus one still queued."""
    to = Recipient("sms", RESIDENT, participant)
    with transaction(sessions) as session:
        enqueue_text(session, to, "Hello", now=NOON)
        enqueue_text(session, to, "Still waiting", now=NOON)
        session.flush()
        first = session.scalars(select(Message).order_by(Message.id)).first()
        assert first is not None
        first.status, first.provider_id = "sent", sid
        item = session.scalars(select(OutboxItem).where(OutboxItem.message_id == first.id)).one()
        item.status, item.provider_id = "sent", sid


def _status(sessions: sessionmaker[Session], sid: str = SID) -> tuple[str | None, str | None]:
    with transaction(sessions, readonly=True) as session:
        message = session.scalars(select(Message).where(Message.provider_id == sid)).one()
        return message.status, message.error_code


def _callback(client: FlaskClient, status: str, error_code: int | None = None, sid: str = SID):
    params = twilio_status_callback_params(
        sid, status, from_=OUR_NUMBER, to=RESIDENT, error_code=error_code
    )
    return post_twilio(client, params, path=PATH)


def test_delivered_callback_updates_the_message(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    _sent_message(sessions, add_participant(sessions))

    response = _callback(client, "delivered")

    assert response.status_code == 204
    assert _status(sessions) == ("delivered", None)


def test_a_late_callback_does_not_move_the_status_back(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    _sent_message(sessions, add_participant(sessions))

    _callback(client, "delivered")
    _callback(client, "sent")

    assert _status(sessions) == ("delivered", None)


def test_failure_keeps_the_error_code(client: FlaskClient, sessions: sessionmaker[Session]) -> None:
    _sent_message(sessions, add_participant(sessions))

    _callback(client, "undelivered", error_code=30003)

    assert _status(sessions) == ("undelivered", "30003")


def test_error_21610_opts_the_participant_out(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    participant = add_participant(sessions)
    _sent_message(sessions, participant)

    _callback(client, "failed", error_code=21610)

    with transaction(sessions, readonly=True) as session:
        assert session.get_one(Participant, participant).opted_out
        statuses = sorted(session.scalars(select(OutboxItem.status)))
    assert statuses == ["cancelled", "sent"]  # what was still waiting is not sent


def test_unknown_sid_is_acknowledged_and_ignored(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    before = counts(sessions)

    response = _callback(client, "delivered", sid="SM" + "b" * 32)

    assert response.status_code == 204
    assert counts(sessions) == before


def test_bad_signature_is_refused(client: FlaskClient, sessions: sessionmaker[Session]) -> None:
    _sent_message(sessions, add_participant(sessions))
    params = twilio_status_callback_params(SID, "failed", from_=OUR_NUMBER, to=RESIDENT)

    response = post_twilio(
        client, params, path=PATH, signature=sign(params, STATUS_URL, token="wrong")
    )

    assert response.status_code == 403
    assert _status(sessions) == ("sent", None)
