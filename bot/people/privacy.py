"""Subject access and erasure: export everything held about one person, or forget them.

A person is named by pseudonym (`P-7F3K2Q`, any letter case, `P-` optional) or numeric id.
Logs name people by pseudonym only, never by phone number, chat id, name or message text.

What forgetting erases: name, external reference, every channel address (the rows are
deleted), message texts (set NULL), message addresses (set to "forgotten") and the
providers' message ids (Twilio MessageSids, Telegram message ids: set NULL), the text and
address of every outbox row (queued ones are cancelled so nothing more is sent), the raw
reply text of every answer, free-text answers (which may identify), coordinators' notes on
their alerts, and the "unknown sender" memory of their addresses. Language, time zone and
group are kept: they do not identify anyone and keep kept answers usable in reports.
With `keep_answers=False` their answers, alerts and check-ins are deleted too.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, false, or_, select, update
from sqlalchemy.orm import Session

from bot.people.opt_out import opt_out
from storage.database import rows_affected
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
    WhatsAppWindow,
)
from storage.pseudonyms import ALPHABET, PREFIX
from survey_flows.checks.loading import parse_flow
from survey_flows.model import StepType

log = logging.getLogger(__name__)

FORGOTTEN = "forgotten"  # replaces message and outbox addresses


class UnknownParticipant(LookupError):
    """No participant matches the reference; the message says what to give instead."""


@dataclass(frozen=True)
class ForgetResult:
    """What `forget_participant` did, in counts (nothing identifying)."""

    pseudonym: str
    keep_answers: bool
    already_forgotten: bool
    addresses_deleted: int
    messages_erased: int
    outbox_cancelled: int
    answers_kept: int
    free_text_erased: int
    answers_deleted: int
    checkins_deleted: int
    alerts_deleted: int


def _by_number(session: Session, digits: str) -> Participant | None:
    return session.get(Participant, int(digits)) if len(digits) <= 18 else None  # fits BIGINT


def find_participant(session: Session, ref: str | int) -> Participant:
    """The participant named by pseudonym or number (`#12` forces a number), else an error.

    A bare number that is both someone's id and (with `P-`) someone else's pseudonym is
    refused rather than guessed.
    """
    text = str(ref).strip().upper()
    if text.startswith("#"):
        number = text[1:]
        found = _by_number(session, number) if number.isdigit() else None
    else:
        pseudonym = text if text.startswith(PREFIX) else PREFIX + text
        by_pseudonym = session.scalars(
            select(Participant).where(Participant.pseudonym == pseudonym)
        ).one_or_none()
        by_number = _by_number(session, text) if text.isdigit() else None
        if by_number is not None and by_pseudonym is not None and by_number is not by_pseudonym:
            # Pseudonyms may be all digits: never guess, forgetting the wrong person is final.
            raise UnknownParticipant(
                f"{text} is both participant number {text} and pseudonym {pseudonym}; write "
                f"{pseudonym} for the pseudonym, or #{text} for the number"
            )
        found = by_pseudonym or by_number
    if found is None:
        example = PREFIX + ALPHABET[5:11]
        raise UnknownParticipant(
            f"there is no participant {str(ref).strip()!r}; give a pseudonym such as "
            f"{example} or a participant number"
        )
    return found


# --- export ------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _from_addresses(
    model: type[Message | OutboxItem | UnknownSender], pairs: Sequence[tuple[str, str]]
) -> Any:
    """SQL condition: the row's (channel, address) is one of `pairs`."""
    if not pairs:
        return false()
    return or_(*(and_(model.channel == c, model.address == a) for c, a in pairs))


def _their_messages(participant_id: int, pairs: Sequence[tuple[str, str]]) -> Select[Any]:
    """Their messages, including those from their addresses before they were enrolled."""
    return select(Message).where(
        or_(
            Message.participant_id == participant_id,
            and_(Message.participant_id.is_(None), _from_addresses(Message, pairs)),
        )
    )


def _their_outbox(message_ids: Sequence[int], pairs: Sequence[tuple[str, str]]) -> Select[Any]:
    """Outbox rows of their messages, and any other row addressed to them."""
    return select(OutboxItem).where(
        or_(OutboxItem.message_id.in_(message_ids), _from_addresses(OutboxItem, pairs))
    )


def export_participant(session: Session, ref: str | int) -> dict[str, Any]:
    """Everything held about one person, JSON-ready (datetimes as ISO 8601 strings).

    Includes messages sent from their addresses before they were enrolled, and audit
    entries that name their pseudonym.
    """
    person = find_participant(session, ref)
    addresses = session.scalars(
        select(ChannelAddress)
        .where(ChannelAddress.participant_id == person.id)
        .order_by(ChannelAddress.id)
    ).all()
    pairs = [(a.channel, a.address) for a in addresses]
    group = session.get(Group, person.group_id) if person.group_id else None
    messages = session.scalars(_their_messages(person.id, pairs).order_by(Message.id)).all()
    outbox = session.scalars(
        _their_outbox([m.id for m in messages], pairs).order_by(OutboxItem.id)
    ).all()

    def rows(model: Any) -> Sequence[Any]:
        return session.scalars(
            select(model).where(model.participant_id == person.id).order_by(model.id)
        ).all()

    unknown = session.scalars(
        select(UnknownSender).where(_from_addresses(UnknownSender, pairs))
    ).all()
    audit = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject.contains(person.pseudonym))
        .order_by(AuditEntry.id)
    ).all()
    return {
        "participant": {
            "id": person.id,
            "pseudonym": person.pseudonym,
            "name": person.name,
            "language": person.language,
            "timezone": person.timezone,
            "group": {"id": group.id, "name": group.name} if group else None,
            "opted_out": person.opted_out,
            "opted_out_at": _iso(person.opted_out_at),
            "external_ref": person.external_ref,
            "created_at": _iso(person.created_at),
            "forgotten_at": _iso(person.forgotten_at),
        },
        "addresses": [{"channel": a.channel, "address": a.address} for a in addresses],
        "enrolments": [
            {
                "id": e.id,
                "flow_id": e.flow_id,
                "group_id": e.group_id,
                "enrolled_at": _iso(e.enrolled_at),
                "active": e.active,
                "next_due_at": _iso(e.next_due_at),
                "last_started_at": _iso(e.last_started_at),
            }
            for e in rows(Enrolment)
        ],
        "checkins": [
            {
                "id": c.id,
                "flow_id": c.flow_id,
                "flow_version": c.flow_version,
                "channel": c.channel,
                "status": c.status,
                "state": c.state,
                "started_at": _iso(c.started_at),
                "finished_at": _iso(c.finished_at),
                "scheduled_for": _iso(c.scheduled_for),
                "next_timer_at": _iso(c.next_timer_at),
                "reminders_sent": c.reminders_sent,
            }
            for c in rows(Checkin)
        ],
        "answers": [
            {
                "id": a.id,
                "checkin_id": a.checkin_id,
                "flow_id": a.flow_id,
                "step_id": a.step_id,
                "part": a.part,
                "value": a.value,
                "score": a.score,
                "measure": a.measure,
                "raw_text": a.raw_text,
                "answered_at": _iso(a.answered_at),
                "channel": a.channel,
                "message_id": a.message_id,
            }
            for a in rows(Answer)
        ],
        "messages": [
            {
                "id": m.id,
                "direction": m.direction,
                "channel": m.channel,
                "address": m.address,
                "body": m.body,
                "status": m.status,
                "error_code": m.error_code,
                "created_at": _iso(m.created_at),
                "checkin_id": m.checkin_id,
            }
            for m in messages
        ],
        "outbox": [
            {
                "id": o.id,
                "message_id": o.message_id,
                "channel": o.channel,
                "address": o.address,
                "body": o.body,
                "buttons": o.buttons,
                "photo_png_base64": base64.b64encode(o.photo).decode() if o.photo else None,
                "status": o.status,
                "attempts": o.attempts,
                "last_error": o.last_error,
                "created_at": _iso(o.created_at),
                "sent_at": _iso(o.sent_at),
            }
            for o in outbox
        ],
        "alerts": [
            {
                "id": a.id,
                "checkin_id": a.checkin_id,
                "flow_id": a.flow_id,
                "step_id": a.step_id,
                "created_at": _iso(a.created_at),
                "handled_by": a.handled_by,
                "handled_at": _iso(a.handled_at),
                "note": a.note,
            }
            for a in rows(Alert)
        ],
        "unknown_sender_records": [
            {"channel": u.channel, "address": u.address, "last_hint_at": _iso(u.last_hint_at)}
            for u in unknown
        ],
        "audit_log": [
            {"at": _iso(e.at), "actor": e.actor, "action": e.action, "subject": e.subject}
            for e in audit
        ],
    }


# --- forget ------------------------------------------------------------------------------


class _FreeText:
    """Decides which answers are free text, from the exact flow version they answered.

    A step of type `text` may hold anything the person wrote. When the stored flow source
    cannot be read (or lacks the step), a string value without a measure counts as free
    text: that also blanks unmeasured choice values, which errs on the side of erasing.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._types: dict[str, dict[str, StepType | None] | None] = {}

    def _step_types(self, version: str) -> dict[str, StepType | None] | None:
        if version not in self._types:
            stored = self.session.get(FlowVersion, version)
            types = None
            if stored is not None:
                try:
                    flow = parse_flow(
                        stored.source_text, f"flow version {version[:12]}", stored=True
                    )
                    types = {step.id: step.type for step in flow.steps}
                except Exception:  # any failure: fall back to judging the value itself
                    types = None
            self._types[version] = types
        return self._types[version]

    def __call__(self, version: str, step_id: str, value: Any, measure: str | None) -> bool:
        types = self._step_types(version)
        if types is not None and step_id in types:
            return types[step_id] == "text"
        return measure is None and isinstance(value, str)


def _erase_messages(
    session: Session, person: Participant, pairs: Sequence[tuple[str, str]]
) -> tuple[int, int]:
    """Blank their messages and outbox rows; (messages erased, outbox rows cancelled)."""
    messages = session.scalars(_their_messages(person.id, pairs)).all()
    cancelled = 0
    for item in session.scalars(_their_outbox([m.id for m in messages], pairs)).all():
        if item.status in ("queued", "sending"):
            item.status = "cancelled"
            if item.message is not None:
                item.message.status = "cancelled"
            cancelled += 1
        item.body = ""
        item.address = FORGOTTEN
        item.buttons = None
        item.photo = None
        item.last_error = None  # provider errors quote the phone number
        item.provider_id = None  # a Twilio MessageSid leads to the text in Twilio's console
    for message in messages:
        message.body = None
        message.address = FORGOTTEN
        message.provider_id = None  # MessageSid / Telegram message id: see docs/deployment.md
    return len(messages), cancelled


def _erase_answers(session: Session, person: Participant) -> tuple[int, int]:
    """Blank raw texts and free-text answers, in answers and check-in states; (kept, blanked)."""
    free_text = _FreeText(session)
    answers = session.scalars(select(Answer).where(Answer.participant_id == person.id)).all()
    blanked = 0
    for answer in answers:
        answer.raw_text = None
        if answer.value is not None and free_text(
            answer.flow_version, answer.step_id, answer.value, answer.measure
        ):
            answer.value = None
            blanked += 1
    checkins = session.scalars(select(Checkin).where(Checkin.participant_id == person.id)).all()
    for checkin in checkins:
        given = dict(checkin.state.get("answers") or {})
        for step_id, value in given.items():
            if value is not None and free_text(checkin.flow_version, step_id, value, None):
                given[step_id] = None
        checkin.state = {**checkin.state, "answers": given}  # assign: JSON changes need it
    return len(answers), blanked


def _delete_answers(session: Session, person: Participant) -> tuple[int, int, int]:
    """Delete their answers, alerts and check-ins; (answers, check-ins, alerts) deleted."""
    checkin_ids = select(Checkin.id).where(Checkin.participant_id == person.id)
    answers = rows_affected(
        session.execute(delete(Answer).where(Answer.participant_id == person.id))
    )
    alerts = rows_affected(session.execute(delete(Alert).where(Alert.participant_id == person.id)))
    session.execute(
        update(Message).where(Message.checkin_id.in_(checkin_ids)).values(checkin_id=None)
    )
    checkins = rows_affected(
        session.execute(delete(Checkin).where(Checkin.participant_id == person.id))
    )
    return answers, checkins, alerts


def forget_participant(
    session: Session,
    ref: str | int,
    *,
    keep_answers: bool,
    now: datetime,
    actor: str = "command line",
) -> ForgetResult:
    """Erase a person's personal data (see the module docstring) and stop all contact.

    Sets `forgotten_at` and `opted_out`, deactivates enrolments and writes an audit entry.
    Safe to run twice. With `keep_answers`, measured answers stay for anonymous statistics.
    """
    person = find_participant(session, ref)
    already = person.forgotten_at is not None
    addresses = session.scalars(
        select(ChannelAddress).where(ChannelAddress.participant_id == person.id)
    ).all()
    pairs = [(a.channel, a.address) for a in addresses]
    messages, cancelled = _erase_messages(session, person, pairs)
    session.execute(delete(UnknownSender).where(_from_addresses(UnknownSender, pairs)))
    numbers = [address for channel, address in pairs if channel == "whatsapp"]
    if numbers:  # when they last wrote on WhatsApp, kept by number
        session.execute(delete(WhatsAppWindow).where(WhatsAppWindow.address.in_(numbers)))
    for address in addresses:
        session.delete(address)
    kept = blanked = answers_deleted = checkins_deleted = alerts_deleted = 0
    if keep_answers:
        kept, blanked = _erase_answers(session, person)
        session.execute(update(Alert).where(Alert.participant_id == person.id).values(note=None))
    else:
        answers_deleted, checkins_deleted, alerts_deleted = _delete_answers(session, person)
    session.execute(
        update(Enrolment)
        .where(Enrolment.participant_id == person.id)
        .values(active=False, next_due_at=None)
    )
    person.name = None
    person.external_ref = None
    opt_out(session, person, now, "participant forgotten")
    person.forgotten_at = person.forgotten_at or now
    outcome = "anonymous answers kept" if keep_answers else "answers deleted"
    session.add(
        AuditEntry(
            at=now,
            actor=actor,
            action="forgot participant",
            subject=f"{person.pseudonym} ({outcome})",
        )
    )
    session.flush()
    log.info("forgot participant %s (%s)", person.pseudonym, outcome)
    return ForgetResult(
        pseudonym=person.pseudonym,
        keep_answers=keep_answers,
        already_forgotten=already,
        addresses_deleted=len(addresses),
        messages_erased=messages,
        outbox_cancelled=cancelled,
        answers_kept=kept,
        free_text_erased=blanked,
        answers_deleted=answers_deleted,
        checkins_deleted=checkins_deleted,
        alerts_deleted=alerts_deleted,
    )
