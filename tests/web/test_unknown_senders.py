"""Unknown senders: JOIN CODE / `/start CODE` enrol after the welcome consent flow;
anything else gets join instructions at most once a day."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.database import transaction
from storage.models import ChannelAddress, Enrolment, OutboxItem, Participant
from tests.fakes import telegram_text_update
from tests.web.conftest import (
    CHAT_ID,
    STRANGER,
    Clock,
    add_group,
    counts,
    post_telegram,
    sms,
)


def _participant_at(sessions: sessionmaker[Session], channel: str, address: str) -> Participant:
    with transaction(sessions, readonly=True) as session:
        return session.scalars(
            select(Participant)
            .join(ChannelAddress, ChannelAddress.participant_id == Participant.id)
            .where(ChannelAddress.channel == channel, ChannelAddress.address == address)
        ).one()


def _enrolments(sessions: sessionmaker[Session], participant_id: int) -> list[tuple[str, int]]:
    with transaction(sessions, readonly=True) as session:
        return [
            (e.flow_id, e.group_id or 0)
            for e in session.scalars(
                select(Enrolment).where(Enrolment.participant_id == participant_id)
            )
        ]


def _last_body(sessions: sessionmaker[Session], address: str) -> str:
    with transaction(sessions, readonly=True) as session:
        item = session.scalars(
            select(OutboxItem).where(OutboxItem.address == address).order_by(OutboxItem.id.desc())
        ).first()
        assert item is not None
        return item.body


def test_join_code_by_sms_enrols_after_consent(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    group = add_group(sessions)

    assert sms(client, "join elm", sender=STRANGER)[0].status_code == 200
    participant = _participant_at(sessions, "sms", STRANGER)
    assert participant.group_id == group
    assert "happy to take part" in _last_body(sessions, STRANGER)
    assert _enrolments(sessions, participant.id) == []  # no consent yet

    assert sms(client, "yes", sender=STRANGER)[0].status_code == 200
    assert "call you" in _last_body(sessions, STRANGER)
    assert sms(client, "Robin", sender=STRANGER)[0].status_code == 200

    assert _enrolments(sessions, participant.id) == [("weekly-wellbeing", group)]
    assert _participant_at(sessions, "sms", STRANGER).name == "Robin"
    assert "signed up" in _last_body(sessions, STRANGER)


def test_telegram_start_code_enrols_after_consent(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    group = add_group(sessions)

    response = post_telegram(client, telegram_text_update(1, CHAT_ID, "/start ELM", "Robin"))

    assert response.status_code == 200
    participant = _participant_at(sessions, "telegram", str(CHAT_ID))
    assert participant.group_id == group
    assert post_telegram(client, telegram_text_update(2, CHAT_ID, "yes")).status_code == 200
    assert post_telegram(client, telegram_text_update(3, CHAT_ID, "skip")).status_code == 200
    assert _enrolments(sessions, participant.id) == [("weekly-wellbeing", group)]


def test_refusing_consent_does_not_enrol(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    add_group(sessions)
    sms(client, "JOIN ELM", sender=STRANGER)

    sms(client, "no", sender=STRANGER)

    participant = _participant_at(sessions, "sms", STRANGER)
    assert _enrolments(sessions, participant.id) == []
    assert participant.opted_out


def test_strangers_get_join_instructions_at_most_once_a_day(
    client: FlaskClient, sessions: sessionmaker[Session], clock: Clock
) -> None:
    add_group(sessions)

    sms(client, "hello?", sender=STRANGER)
    first = counts(sessions)
    clock.advance(timedelta(hours=23))
    sms(client, "anyone there?", sender=STRANGER)
    second = counts(sessions)
    clock.advance(timedelta(hours=2))
    sms(client, "hello again", sender=STRANGER)
    third = counts(sessions)

    assert first["outbox"] == 1
    assert first["participants"] == 0
    assert second["outbox"] == 1  # same day: stored, not answered
    assert second["messages"] == first["messages"] + 1
    assert third["outbox"] == 2  # a day later: one more hint
    assert "JOIN" in _last_body(sessions, STRANGER).upper()


def test_telegram_stranger_gets_instructions_once_a_day(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    post_telegram(client, telegram_text_update(1, CHAT_ID, "hi"))
    post_telegram(client, telegram_text_update(2, CHAT_ID, "hi again"))

    assert counts(sessions)["outbox"] == 1


def test_wrong_join_code_gets_instructions(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    add_group(sessions)

    sms(client, "JOIN OAK", sender=STRANGER)

    after = counts(sessions)
    assert (after["participants"], after["outbox"]) == (0, 1)
