"""WhatsApp's 24-hour rule on an injected clock: free-form within the window (less a
safety margin), held behind a template outside it, released when the person writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery import whatsapp_window
from bot.delivery.outbox import Recipient, enqueue_text, opening, template_of
from bot.delivery.whatsapp_window import MARGIN, WINDOW, window_open
from bot.people.privacy import forget_participant
from storage.database import transaction
from storage.models import ChannelAddress, OutboxItem, Participant

WROTE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NUMBER = "+447700900123"


def test_never_wrote_means_closed() -> None:
    assert not window_open(None, WROTE)


def test_open_until_the_margin_before_24_hours() -> None:
    assert window_open(WROTE, WROTE)
    assert window_open(WROTE, WROTE + WINDOW - MARGIN - timedelta(seconds=1))
    assert not window_open(WROTE, WROTE + WINDOW - MARGIN)
    assert not window_open(WROTE, WROTE + timedelta(days=3))


def _rows(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with transaction(sessions, readonly=True) as session:
        return [
            (row.kind, row.status)
            for row in session.scalars(select(OutboxItem).order_by(OutboxItem.id))
        ]


def test_closed_window_holds_the_message_behind_one_template_then_releases_it(
    sessions: sessionmaker[Session],
) -> None:
    to = Recipient("whatsapp", NUMBER)
    later = WROTE + timedelta(hours=30)
    with transaction(sessions) as session:
        whatsapp_window.record_inbound(session, NUMBER, WROTE)
        invite = opening("coordinator", "", "an alert")
        enqueue_text(session, to, "Alert one", now=later, opening=invite)
        enqueue_text(session, to, "Alert two", now=later, opening=invite)
    assert _rows(sessions) == [("template", "queued"), ("message", "held"), ("message", "held")]
    with transaction(sessions, readonly=True) as session:
        first = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).first()
        assert first is not None
        assert template_of(first.body).variables == (("1", "there"), ("2", "an alert"))

    with transaction(sessions) as session:
        whatsapp_window.record_inbound(session, NUMBER, later)
        whatsapp_window.release_held(session, NUMBER, later)

    assert [status for kind, status in _rows(sessions) if kind == "message"] == [
        "queued",
        "queued",
    ]
    assert {status for kind, status in _rows(sessions) if kind == "template"} == {"cancelled"}


def test_inside_the_window_messages_go_free_form(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        whatsapp_window.record_inbound(session, NUMBER, WROTE)
        enqueue_text(
            session,
            Recipient("whatsapp", NUMBER),
            "Hello",
            now=WROTE + timedelta(hours=2),
            opening=opening("coordinator", "Ana", "an alert"),
        )
    assert _rows(sessions) == [("message", "queued")]


def test_a_late_message_never_moves_the_window_back(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        whatsapp_window.record_inbound(session, NUMBER, WROTE)
        whatsapp_window.record_inbound(session, NUMBER, WROTE - timedelta(hours=1))
        assert whatsapp_window.last_inbound(session, [NUMBER]) == {NUMBER: WROTE}


def test_forgetting_a_participant_forgets_when_their_number_last_wrote(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as session:
        person = Participant(name="Sam", opted_out=False)
        session.add(person)
        session.flush()
        session.add(ChannelAddress(participant_id=person.id, channel="whatsapp", address=NUMBER))
        whatsapp_window.record_inbound(session, NUMBER, WROTE)
        whatsapp_window.record_inbound(session, "+447700900999", WROTE)
        person_id = person.id

    with transaction(sessions) as session:
        forget_participant(session, person_id, keep_answers=True, now=WROTE)

    with transaction(sessions, readonly=True) as session:
        assert set(whatsapp_window.last_inbound(session, [NUMBER, "+447700900999"])) == {
            "+447700900999"
        }
