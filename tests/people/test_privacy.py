"""Export everything held about a person, and forget them without losing anonymous answers."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import survey_flows
from bot.people.privacy import (
    FORGOTTEN,
    UnknownParticipant,
    export_participant,
    find_participant,
    forget_participant,
)
from storage.database import transaction
from storage.models import (
    Alert,
    Answer,
    AuditEntry,
    ChannelAddress,
    Checkin,
    Enrolment,
    FlowVersion,
    Group,
    Message,
    OutboxItem,
    Participant,
    UnknownSender,
)
from survey_flows.checks.folder import FlowLibrary

T0 = datetime(2025, 5, 2, 18, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=30)
PHONE = "+447911123456"
CHAT = "555"
STORY = "My neighbour Bob Smith at number 12 fixed my fence"
OLD = "b" * 64  # a flow version whose source cannot be parsed any more


@dataclass(frozen=True)
class Seeded:
    """Ids of the seeded person and of a bystander who must stay untouched."""

    id: int
    pseudonym: str
    other_id: int


def seed_person(sessions: sessionmaker[Session]) -> Seeded:
    """A participant with everything a person can have: answers of every kind, messages in
    and out (one still queued), an alert with a note, and a message sent before enrolling."""
    flow = FlowLibrary(Path(survey_flows.__file__).parent / "library").resolve("weekly-wellbeing")
    with transaction(sessions) as session:
        group = Group(name="Elm Street", join_code="ELM")
        session.add(group)
        session.add(
            FlowVersion(version=flow.version, flow_id=flow.id, source_text=flow.source_text)
        )
        session.add(FlowVersion(version=OLD, flow_id="old", source_text="not: [a flow"))
        session.flush()
        session.add(UnknownSender(channel="sms", address=PHONE, last_hint_at=T0))
        session.add(
            Message(
                direction="in", channel="sms", address=PHONE, body="JOIN ELM", created_at=T0,
                provider_id="SM-join",
            )
        )  # fmt: skip
        person = Participant(
            pseudonym="P-ADA234",
            name="Ada Lovelace",
            language="en",
            timezone="Europe/London",
            group_id=group.id,
            external_ref="council-42",
            created_at=T0,
        )
        other = Participant(pseudonym="P-OTHER2", name="Other Person", group_id=group.id)
        session.add_all([person, other])
        session.flush()
        session.add(ChannelAddress(participant_id=person.id, channel="sms", address=PHONE))
        session.add(ChannelAddress(participant_id=person.id, channel="telegram", address=CHAT))
        session.add(ChannelAddress(participant_id=other.id, channel="sms", address="+447911999999"))
        enrolment = Enrolment(
            participant_id=person.id, group_id=group.id, flow_id=flow.id, next_due_at=NOW
        )
        session.add(enrolment)
        session.flush()
        checkin = Checkin(
            participant_id=person.id,
            enrolment_id=enrolment.id,
            flow_id=flow.id,
            flow_version=flow.version,
            channel="sms",
            status="completed",
            state={"flow_id": flow.id, "answers": {"life_satisfaction": 7, "story": STORY}},
            started_at=T0,
        )
        old_checkin = Checkin(
            participant_id=person.id, flow_id="old", flow_version=OLD, channel="sms",
            status="expired", state={"answers": {"note": "call me on 07911 123456"}},
        )  # fmt: skip
        other_checkin = Checkin(
            participant_id=other.id, flow_id=flow.id, flow_version=flow.version, channel="sms",
            status="completed", state={"answers": {"story": "other story"}},
        )  # fmt: skip
        session.add_all([checkin, old_checkin, other_checkin])
        session.flush()
        inbound = Message(
            participant_id=person.id, direction="in", channel="sms", address=PHONE, body=STORY,
            provider_id="SM-in", checkin_id=checkin.id, created_at=T0,
        )  # fmt: skip
        sent = Message(
            participant_id=person.id, direction="out", channel="sms", address=PHONE,
            body="Hi Ada Lovelace, time for your check-in", status="delivered",
            checkin_id=checkin.id, created_at=T0,
        )  # fmt: skip
        queued = Message(
            participant_id=person.id, direction="out", channel="telegram", address=CHAT,
            body="Thank you Ada Lovelace", status="queued", checkin_id=checkin.id,
        )  # fmt: skip
        other_message = Message(
            participant_id=other.id, direction="in", channel="sms", address="+447911999999",
            body="other message", checkin_id=other_checkin.id,
        )  # fmt: skip
        session.add_all([inbound, sent, queued, other_message])
        session.flush()
        session.add(
            OutboxItem(
                message_id=sent.id, channel="sms", address=PHONE, body=sent.body or "",
                status="sent", idempotency_key="k-sent", photo=b"\x89PNG",
                last_error=f"The 'To' number {PHONE} is unreachable",
            )
        )  # fmt: skip
        session.add(
            OutboxItem(
                message_id=queued.id, channel="telegram", address=CHAT, body=queued.body or "",
                buttons=[{"value": "yes", "label": "Yes"}], idempotency_key="k-queued",
            )
        )  # fmt: skip

        def answer(step: str, value: object, measure: str | None, raw: str, **more: object) -> None:
            session.add(
                Answer(
                    checkin_id=more.pop("checkin_id", checkin.id),
                    participant_id=more.pop("participant_id", person.id),
                    flow_id=flow.id, flow_version=more.pop("version", flow.version),
                    step_id=step, value=value, score=more.pop("score", None), measure=measure,
                    raw_text=raw, channel="sms", answered_at=T0,
                )
            )  # fmt: skip

        answer("life_satisfaction", 7, "life_satisfaction", "7", score=7.0)
        answer("callback", True, None, "yes please")
        answer("lonely", "often", "loneliness", "often", score=4.0)
        answer("story", STORY, None, STORY)
        answer("note", "call me on 07911 123456", None, "call me", checkin_id=old_checkin.id,
               version=OLD)  # fmt: skip
        answer("mood", "good", "mood", "good", checkin_id=old_checkin.id, version=OLD)
        answer("story", "other story", None, "other story", checkin_id=other_checkin.id,
               participant_id=other.id)  # fmt: skip
        session.add(
            Alert(
                participant_id=person.id, group_id=group.id, checkin_id=checkin.id,
                step_id="callback", flow_id=flow.id, note="Rang Ada at home", handled_by="Sam",
            )
        )  # fmt: skip
        session.add(AuditEntry(actor="sam", action="revealed phone of", subject="P-ADA234"))
        return Seeded(person.id, person.pseudonym, other.id)


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> Seeded:
    return seed_person(sessions)


def test_find_by_pseudonym_in_any_case_or_by_number(
    sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    with transaction(sessions, readonly=True) as session:
        for ref in ("P-ADA234", "p-ada234", " ADA234 ", str(seeded.id), seeded.id, f"#{seeded.id}"):
            assert find_participant(session, ref).id == seeded.id
        with pytest.raises(UnknownParticipant) as caught:
            find_participant(session, "P-NOPE22")
    assert str(caught.value) == (
        "there is no participant 'P-NOPE22'; give a pseudonym such as P-789ABC or a participant "
        "number"
    )


def test_a_number_that_is_also_a_pseudonym_is_not_guessed(
    sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    digits = f"{seeded.other_id:06d}".replace("0", "2").replace("1", "3")
    with transaction(sessions) as session:
        session.add(Participant(id=int(digits), pseudonym="P-OWNID2"))
        session.add(Participant(pseudonym=f"P-{digits}"))
    with transaction(sessions, readonly=True) as session:
        with pytest.raises(UnknownParticipant) as caught:
            find_participant(session, digits)
        assert find_participant(session, f"#{digits}").pseudonym == "P-OWNID2"
        assert find_participant(session, f"P-{digits}").pseudonym == f"P-{digits}"
        with pytest.raises(UnknownParticipant):
            find_participant(session, "9" * 30)  # too big for an id: not found, not a crash
    assert str(caught.value) == (
        f"{digits} is both participant number {digits} and pseudonym P-{digits}; write "
        f"P-{digits} for the pseudonym, or #{digits} for the number"
    )


def test_export_holds_everything_about_the_person(
    sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    with transaction(sessions, readonly=True) as session:
        data = export_participant(session, "P-ADA234")
    json.dumps(data)  # JSON-ready as it is
    person = data["participant"]
    assert person["name"] == "Ada Lovelace"
    assert person["external_ref"] == "council-42"
    assert person["group"]["name"] == "Elm Street"
    assert person["created_at"] == T0.isoformat()
    assert sorted((a["channel"], a["address"]) for a in data["addresses"]) == [
        ("sms", PHONE),
        ("telegram", CHAT),
    ]
    assert [e["next_due_at"] for e in data["enrolments"]] == [NOW.isoformat()]
    assert {c["status"] for c in data["checkins"]} == {"completed", "expired"}
    assert any(c["state"]["answers"].get("story") == STORY for c in data["checkins"])
    answers = {a["step_id"]: a for a in data["answers"]}
    assert set(answers) == {"life_satisfaction", "callback", "lonely", "story", "note", "mood"}
    assert answers["life_satisfaction"]["value"] == 7
    assert answers["story"]["raw_text"] == STORY
    bodies = {(m["direction"], m["body"]) for m in data["messages"]}
    assert bodies == {
        ("in", "JOIN ELM"),  # sent before they were enrolled, from their phone
        ("in", STORY),
        ("out", "Hi Ada Lovelace, time for your check-in"),
        ("out", "Thank you Ada Lovelace"),
    }
    assert {o["status"] for o in data["outbox"]} == {"sent", "queued"}
    assert any(o["photo_png_base64"] for o in data["outbox"])
    assert [a["note"] for a in data["alerts"]] == ["Rang Ada at home"]
    assert [u["address"] for u in data["unknown_sender_records"]] == [PHONE]
    assert [e["action"] for e in data["audit_log"]] == ["revealed phone of"]
    assert "other story" not in json.dumps(data)  # nothing of the bystander


def _everything(session: Session) -> dict[str, list]:
    return {
        model.__name__: list(session.scalars(select(model)))
        for model in (Participant, ChannelAddress, Message, OutboxItem, Answer, Checkin, Alert)
    }


def test_forget_keeping_answers_erases_personal_data_only(
    sessions: sessionmaker[Session], seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with transaction(sessions) as session:
        result = forget_participant(session, "P-ADA234", keep_answers=True, now=NOW, actor="sam")
    assert (result.addresses_deleted, result.messages_erased, result.outbox_cancelled) == (2, 4, 1)
    assert (result.answers_kept, result.free_text_erased, result.answers_deleted) == (6, 2, 0)
    assert not result.already_forgotten
    with transaction(sessions, readonly=True) as session:
        person = session.get(Participant, seeded.id)
        assert person is not None
        assert person.name is None and person.external_ref is None
        assert person.opted_out and person.opted_out_at == NOW and person.forgotten_at == NOW
        assert (person.language, person.timezone) == ("en", "Europe/London")  # not identifying
        assert person.addresses == []
        mine = session.scalars(
            select(Message).where(Message.address != "+447911999999").order_by(Message.id)
        ).all()
        assert len(mine) == 4
        assert all(m.body is None and m.address == FORGOTTEN for m in mine)
        assert all(m.provider_id is None for m in mine)  # no MessageSid leads to the text
        assert mine[3].status == "cancelled"
        outbox = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
        assert [o.status for o in outbox] == ["sent", "cancelled"]
        assert all(o.body == "" and o.address == FORGOTTEN for o in outbox)
        assert all(o.photo is None and o.buttons is None and o.last_error is None for o in outbox)
        assert all(o.provider_id is None for o in outbox)
        answers = {
            a.step_id: a
            for a in session.scalars(select(Answer).where(Answer.participant_id == seeded.id))
        }
        assert all(a.raw_text is None for a in answers.values())
        assert answers["story"].value is None  # a text step of the flow
        assert answers["note"].value is None  # unreadable flow: string without a measure
        kept = {step: answers[step].value for step in ("life_satisfaction", "callback", "lonely")}
        assert kept == {"life_satisfaction": 7, "callback": True, "lonely": "often"}
        assert answers["mood"].value == "good"  # has a measure: kept
        assert answers["life_satisfaction"].score == 7.0
        states = [c.state["answers"] for c in session.scalars(select(Checkin).order_by(Checkin.id))]
        assert states[0] == {"life_satisfaction": 7, "story": None}
        assert states[1] == {"note": None}
        alert = session.scalars(select(Alert)).one()
        assert alert.note is None and alert.handled_by == "Sam"
        assert session.scalars(select(UnknownSender)).all() == []
        enrolment = session.scalars(select(Enrolment)).one()
        assert not enrolment.active and enrolment.next_due_at is None
        audit = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()[-1]
        assert (audit.actor, audit.action, audit.at) == ("sam", "forgot participant", NOW)
        assert audit.subject == "P-ADA234 (anonymous answers kept)"
        # The bystander is untouched.
        other = session.get(Participant, seeded.other_id)
        assert other is not None and other.name == "Other Person" and len(other.addresses) == 1
        other_answer = session.scalars(
            select(Answer).where(Answer.participant_id == seeded.other_id)
        ).one()
        assert other_answer.value == "other story" and other_answer.raw_text == "other story"
        assert session.scalars(select(Message.body).where(Message.body.is_not(None))).all() == [
            "other message"
        ]
        data = json.dumps(export_participant(session, seeded.id))
    for secret in (PHONE, "Ada", "Lovelace", "Bob", "07911", "council-42", "fence"):
        assert secret not in data
        assert secret not in caplog.text
    assert "forgot participant P-ADA234" in caplog.text


def test_forget_without_keeping_answers_deletes_them(
    sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    with transaction(sessions) as session:
        result = forget_participant(session, seeded.id, keep_answers=False, now=NOW)
    assert (result.answers_deleted, result.checkins_deleted, result.alerts_deleted) == (6, 2, 1)
    assert result.answers_kept == 0
    with transaction(sessions, readonly=True) as session:
        for model in (Answer, Checkin, Alert):
            owners = session.scalars(select(model.participant_id)).all()
            assert seeded.id not in owners
        assert session.scalar(select(func.count()).select_from(Answer)) == 1  # the bystander's
        messages = session.scalars(select(Message).where(Message.address == FORGOTTEN)).all()
        assert len(messages) == 4
        assert all(m.checkin_id is None and m.body is None for m in messages)
        person = session.get(Participant, seeded.id)
        assert person is not None and person.opted_out and person.name is None
        audit = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()[-1]
        assert audit.subject == "P-ADA234 (answers deleted)"


def test_forget_twice_is_harmless(sessions: sessionmaker[Session], seeded: Seeded) -> None:
    with transaction(sessions) as session:
        forget_participant(session, "P-ADA234", keep_answers=True, now=NOW)
    later = NOW + timedelta(days=1)
    with transaction(sessions) as session:
        again = forget_participant(session, "P-ADA234", keep_answers=True, now=later)
    assert again.already_forgotten and again.addresses_deleted == 0
    with transaction(sessions, readonly=True) as session:
        person = session.get(Participant, seeded.id)
        assert person is not None and person.forgotten_at == NOW and person.opted_out_at == NOW


def test_forget_unknown_participant(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(UnknownParticipant), transaction(sessions) as session:
        forget_participant(session, "P-NOPE22", keep_answers=True, now=NOW)
