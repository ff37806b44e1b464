"""The schema's guarantees, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from storage.database import transaction
from storage.messages import record_inbound_id
from storage.models import (
    Answer,
    ChannelAddress,
    Checkin,
    Enrolment,
    FlowVersion,
    Group,
    Message,
    OutboxItem,
    Participant,
    User,
)
from storage.participants import find_by_address, get_or_create_group, new_pseudonym
from storage.pseudonyms import ALPHABET

T0 = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)


@pytest.fixture
def participant_id(sessions: sessionmaker[Session]) -> int:
    """A participant with an SMS address, and a flow version to run check-ins on."""
    with transaction(sessions) as session:
        participant = Participant(name="Ada")
        session.add(participant)
        session.add(FlowVersion(version="a" * 64, flow_id="weekly", source_text="id: weekly"))
        session.flush()
        session.add(
            ChannelAddress(participant_id=participant.id, channel="sms", address="+447700900001")
        )
        return participant.id


def _checkin(participant_id: int, **overrides: object) -> Checkin:
    values: dict[str, object] = {
        "participant_id": participant_id,
        "flow_id": "weekly",
        "flow_version": "a" * 64,
        "channel": "sms",
    }
    return Checkin(**(values | overrides))


def test_aware_datetimes_round_trip_as_utc(
    sessions: sessionmaker[Session], participant_id: int
) -> None:
    berlin_summer = timezone(timedelta(hours=2))
    local = datetime(2025, 7, 1, 20, 15, 30, 123456, tzinfo=berlin_summer)
    with transaction(sessions) as session:
        checkin = _checkin(participant_id, started_at=local, next_timer_at=T0)
        session.add(checkin)
    with transaction(sessions, readonly=True) as session:
        loaded = session.get(Checkin, checkin.id)
        assert loaded is not None
        assert loaded.started_at == local
        assert loaded.started_at.tzinfo is UTC
        assert loaded.started_at.hour == 18
        assert loaded.next_timer_at == T0
        # Comparisons in SQL work across offsets too.
        due = session.scalars(
            select(Checkin.id).where(Checkin.next_timer_at <= T0.astimezone(berlin_summer))
        ).all()
        assert due == [checkin.id]


def test_naive_datetimes_are_rejected(sessions: sessionmaker[Session], participant_id: int) -> None:
    with pytest.raises(StatementError, match="naive datetime"), transaction(sessions) as session:
        session.add(_checkin(participant_id, started_at=datetime(2025, 1, 1, 12, 0)))


def test_defaults(sessions: sessionmaker[Session], participant_id: int) -> None:
    with transaction(sessions) as session:
        checkin = _checkin(participant_id)
        session.add(checkin)
        session.flush()
        assert checkin.status == "active"
        assert checkin.state == {}
        assert checkin.reminders_sent == 0
        assert checkin.started_at.tzinfo is UTC
        participant = session.get(Participant, participant_id)
        assert participant is not None and participant.opted_out is False


def test_one_active_checkin_per_participant(
    sessions: sessionmaker[Session], participant_id: int
) -> None:
    with transaction(sessions) as session:
        session.add(_checkin(participant_id, status="completed"))
        session.add(_checkin(participant_id, status="expired"))
        session.add(_checkin(participant_id))
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        session.add(_checkin(participant_id))
    with transaction(sessions) as session:
        # Finishing the active one frees the slot.
        active = session.scalars(select(Checkin).where(Checkin.status == "active")).one()
        active.status = "superseded"
        session.flush()
        session.add(_checkin(participant_id))


def test_scheduled_checkin_starts_once(
    sessions: sessionmaker[Session], participant_id: int
) -> None:
    with transaction(sessions) as session:
        enrolment = Enrolment(participant_id=participant_id, flow_id="weekly", next_due_at=T0)
        session.add(enrolment)
        session.flush()
        session.add(_checkin(participant_id, enrolment_id=enrolment.id, scheduled_for=T0))
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        session.add(
            _checkin(
                participant_id, enrolment_id=enrolment.id, scheduled_for=T0, status="completed"
            )
        )
    with transaction(sessions) as session:
        # Unscheduled check-ins (NULL scheduled_for) never collide.
        session.add(_checkin(participant_id, enrolment_id=enrolment.id, status="completed"))
        session.add(_checkin(participant_id, enrolment_id=enrolment.id, status="completed"))


def test_one_enrolment_per_flow(sessions: sessionmaker[Session], participant_id: int) -> None:
    with transaction(sessions) as session:
        session.add(Enrolment(participant_id=participant_id, flow_id="weekly"))
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        session.add(Enrolment(participant_id=participant_id, flow_id="weekly"))


def test_check_constraints_reject_unknown_enum_values(
    sessions: sessionmaker[Session], participant_id: int
) -> None:
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        session.add(_checkin(participant_id, status="paused"))
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        session.add(ChannelAddress(participant_id=participant_id, channel="fax", address="1"))


def test_foreign_keys_are_enforced(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        session.add(ChannelAddress(participant_id=999_999, channel="sms", address="+15550000"))


def test_json_values_round_trip(sessions: sessionmaker[Session], participant_id: int) -> None:
    values = {"mood": 4, "hours": 7.5, "where": "Café ☕", "ok": True, "skipped": None}
    state = {"step": "mood", "attempts": {"mood": 1}, "answers": [1, 2.5, "x", None]}
    with transaction(sessions) as session:
        checkin = _checkin(participant_id, state=state)
        session.add(checkin)
        session.flush()
        for step_id, value in values.items():
            session.add(
                Answer(
                    checkin_id=checkin.id,
                    participant_id=participant_id,
                    flow_id="weekly",
                    flow_version="a" * 64,
                    step_id=step_id,
                    value=value,
                    channel="sms",
                )
            )
        session.add(
            OutboxItem(
                message_id=_outbound(session, participant_id),
                channel="telegram",
                address="42",
                body="How are you?",
                buttons=[{"value": "1", "label": "Bad"}],
                photo=b"\x89PNG\x00",
                idempotency_key="checkin-1-step-mood",
            )
        )
    with transaction(sessions, readonly=True) as session:
        assert session.get(Checkin, checkin.id).state == state  # type: ignore[union-attr]
        stored = dict(session.execute(select(Answer.step_id, Answer.value)).all())
        assert stored == values
        assert type(stored["mood"]) is int and type(stored["ok"]) is bool
        # None is SQL NULL, so IS NULL finds skipped answers on both databases.
        skipped = session.scalars(select(Answer.step_id).where(Answer.value.is_(None))).all()
        assert skipped == ["skipped"]
        item = session.scalars(select(OutboxItem)).one()
        assert item.buttons == [{"value": "1", "label": "Bad"}]
        assert item.photo == b"\x89PNG\x00"
        assert item.status == "queued" and item.attempts == 0


def _outbound(session: Session, participant_id: int) -> int:
    message = Message(
        participant_id=participant_id, direction="out", channel="telegram", address="42"
    )
    session.add(message)
    session.flush()
    return message.id


def test_record_inbound_is_idempotent(sessions: sessionmaker[Session], participant_id: int) -> None:
    common = {
        "channel": "sms",
        "address": "+447700900001",
        "body": "4",
        "participant_id": participant_id,
        "created_at": T0,
    }
    with transaction(sessions) as session:
        first = record_inbound_id(session.connection(), provider_id="SM123", **common)
        assert first is not None
        stored = session.get_one(Message, first)
        assert stored.direction == "in" and stored.created_at == T0
    with transaction(sessions) as session:  # the provider retries the webhook
        assert record_inbound_id(session.connection(), provider_id="SM123", **common) is None
    with transaction(sessions) as session:
        # Same id on another channel, or an outbound row with it, is a different message.
        assert record_inbound_id(
            session.connection(), **(common | {"channel": "telegram"}), provider_id="SM123"
        )
        session.add(
            Message(direction="out", channel="sms", address="+447700900001", provider_id="SM123")
        )
        # Without a provider id nothing can be deduplicated: both are kept.
        assert record_inbound_id(session.connection(), provider_id=None, **common)
        assert record_inbound_id(session.connection(), provider_id=None, **common)
    with transaction(sessions, readonly=True) as session:
        assert session.scalar(select(func.count(Message.id))) == 5


def test_pseudonyms() -> None:
    pseudonyms = {new_pseudonym() for _ in range(200)}
    assert len(pseudonyms) == 200
    pattern = re.compile(rf"P-[{ALPHABET}]{{6}}")
    assert all(pattern.fullmatch(p) for p in pseudonyms)
    assert not set("01IOL") & set(ALPHABET)


def test_participant_gets_a_pseudonym_and_is_found_by_address(
    sessions: sessionmaker[Session], participant_id: int
) -> None:
    with transaction(sessions, readonly=True) as session:
        found = find_by_address(session, "sms", "+447700900001")
        assert found is not None and found.id == participant_id
        assert found.pseudonym.startswith("P-")
        assert find_by_address(session, "telegram", "+447700900001") is None
        assert find_by_address(session, "sms", "+447700900002") is None


def test_get_or_create_group(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        first = get_or_create_group(session, "Riverside")
        assert get_or_create_group(session, "Riverside").id == first.id
    with transaction(sessions) as session:
        assert get_or_create_group(session, "Riverside").id == first.id
        assert get_or_create_group(session, "Hilltop").id != first.id
        assert session.scalar(select(func.count(Group.id))) == 2


def test_join_codes_upper_case_and_emails_lower_case(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        session.add(Group(name="North", join_code=" north7 "))
        session.add(User(email="Ann@Example.org", password_hash="x", role="staff"))
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(Group.join_code)).one() == "NORTH7"
        assert session.scalars(select(User.email)).one() == "ann@example.org"
