"""The host around the pure engine: load a check-in, run one event, apply the outcome.

Each public function here is one short unit of work inside the caller's transaction: the
answers, the new state, the alerts and every message they cause are written together, so
a process that dies half-way leaves nothing half-done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, and_, bindparam, insert, literal_column, select, update
from sqlalchemy.orm import Session

from bot.channels import telegram, twilio
from bot.channels.base import InboundMessage
from bot.delivery.outbox import (
    Recipient,
    cancel_pending,
    enqueue,
    enqueue_many,
    enqueue_text,
    for_channel,
)
from bot.schedule.quiet_hours import release_time
from bot.settings import Settings
from storage import flow_versions
from storage.bulk import Prepared, insert_many
from storage.messages import record_inbound_id
from storage.models import (
    Alert,
    Answer,
    ChannelAddress,
    Checkin,
    Coordinator,
    Enrolment,
    Group,
    Message,
    Participant,
    UnknownSender,
)
from survey_flows import engine
from survey_flows.checks.folder import FlowLibrary
from survey_flows.checks.problems import FlowError
from survey_flows.conversation import (
    ChannelTraits,
    Conversation,
    Event,
    Outcome,
    Reply,
    Start,
)
from survey_flows.conversation import Participant as EngineParticipant
from survey_flows.keywords import Keyword, classify, join_code, telegram_start_code
from survey_flows.languages import system_text
from survey_flows.model import Flow

WELCOME_FLOW = "welcome"
HINT_INTERVAL = timedelta(days=1)
# An unknown sender who said STOP is never sent join instructions again.
NEVER = datetime(9999, 1, 1, tzinfo=UTC)
CHANNEL_TRAITS = {"sms": twilio.TRAITS, "telegram": telegram.TRAITS, "sim": ChannelTraits()}
CHANNEL_PREFERENCE = ("telegram", "sms", "sim")
# What the engine and the calendar need to know of a participant (see `_context`).
PERSON_COLUMNS = (
    Participant.id,
    Participant.pseudonym,
    Participant.name,
    Participant.language,
    Participant.timezone,
    Participant.opted_out,
    Participant.forgotten_at,
)

# The inbound path's statements, built and compiled once and run on the DBAPI cursor
# (see `storage.bulk.Prepared`): building a statement per message, and SQLAlchemy's
# execution around it, cost several times what the database takes to run it.
_PARTICIPANTS = Participant.__table__
_ADDRESSES = ChannelAddress.__table__
_CHECKINS = Checkin.__table__
_ANSWERS = Answer.__table__
_SENDER_COLUMNS = (
    _PARTICIPANTS.c.id,
    _PARTICIPANTS.c.pseudonym,
    _PARTICIPANTS.c.name,
    _PARTICIPANTS.c.language,
    _PARTICIPANTS.c.opted_out,
    _PARTICIPANTS.c.group_id,
)
_OPEN_COLUMNS = (
    _CHECKINS.c.id,
    _CHECKINS.c.participant_id,
    _CHECKINS.c.flow_version,
    _CHECKINS.c.channel,
    _CHECKINS.c.status,
    _CHECKINS.c.state,
    _CHECKINS.c.finished_at,
)
_FROM_ADDRESS = (
    _ADDRESSES.c.channel == bindparam("channel"),
    _ADDRESSES.c.address == bindparam("address"),
)
# A literal, not a parameter: SQLite re-plans a statement at every execution when a
# parameter decides whether a partial index (here uq_checkins_one_active) applies.
_IS_OPEN = _CHECKINS.c.status == literal_column("'active'")
# The sender and their open check-in, both row-locked (PostgreSQL; on SQLite the
# transaction's BEGIN IMMEDIATE holds the one write lock): the usual case in one round
# trip. No row when there is no such sender or no open check-in; and when a concurrent
# transaction held the locks and closed the check-in meanwhile, PostgreSQL re-checks
# the join on the rows as committed and returns none either. `receive` then asks again
# in two steps (`_SENDER`, `_ACTIVE`), which see everything committed before them.
_SENDER_AND_OPEN = Prepared(
    select(*_SENDER_COLUMNS, *[c.label(f"checkin_{c.key}") for c in _OPEN_COLUMNS])
    .join(_ADDRESSES, _ADDRESSES.c.participant_id == _PARTICIPANTS.c.id)
    .join(_CHECKINS, and_(_CHECKINS.c.participant_id == _PARTICIPANTS.c.id, _IS_OPEN))
    .where(*_FROM_ADDRESS)
    .with_for_update(of=[_PARTICIPANTS, _CHECKINS])
)
_SENDER = Prepared(
    select(*_SENDER_COLUMNS)
    .join(_ADDRESSES, _ADDRESSES.c.participant_id == _PARTICIPANTS.c.id)
    .where(*_FROM_ADDRESS)
    .with_for_update(of=_PARTICIPANTS)
)
_ACTIVE = Prepared(
    select(*_OPEN_COLUMNS)
    .where(_CHECKINS.c.participant_id == bindparam("participant_id"), _IS_OPEN)
    .with_for_update()
)


class _Sender(NamedTuple):
    """What `receive` reads of the sender (the columns of `_SENDER`)."""

    id: int
    pseudonym: str
    name: str | None
    language: str | None
    opted_out: bool
    group_id: int | None


class _Open(NamedTuple):
    """What `receive` and `apply` need of the open check-in (the columns of `_ACTIVE`)."""

    id: int
    participant_id: int
    flow_version: str
    channel: str
    status: str
    state: dict[str, Any]
    finished_at: datetime | None


_STATE_COLUMNS = ("state", "status", "reminders_sent", "finished_at", "next_timer_at")
_ANSWER_COLUMNS = (
    "checkin_id",
    "participant_id",
    "flow_id",
    "flow_version",
    "step_id",
    "part",
    "value",
    "score",
    "measure",
    "raw_text",
    "answered_at",
    "channel",
    "message_id",
)
_SAVE_STATE = Prepared(
    update(_CHECKINS).where(_CHECKINS.c.id == bindparam("checkin_id")), _STATE_COLUMNS
)
_INSERT_ANSWER = Prepared(insert(_ANSWERS), _ANSWER_COLUMNS)
# PostgreSQL: the new state and the one answer in one statement (one round trip).
_SAVE_STATE_AND_ANSWER = Prepared(
    update(_CHECKINS)
    .where(_CHECKINS.c.id == bindparam("checkin_id"))
    .values({c: bindparam(c, type_=_CHECKINS.c[c].type) for c in _STATE_COLUMNS})
    .add_cte(
        insert(_ANSWERS)
        .values({c: bindparam(c, type_=_ANSWERS.c[c].type) for c in _ANSWER_COLUMNS})
        .cte("answer")
    )
)
_LAST_COMPLETED = (
    select(_CHECKINS.c.id)
    .where(
        _CHECKINS.c.participant_id == bindparam("participant_id"),
        _CHECKINS.c.flow_id == bindparam("flow_id"),
        _CHECKINS.c.status == literal_column("'completed'"),
    )
    .order_by(_CHECKINS.c.started_at.desc(), _CHECKINS.c.id.desc())
    .limit(1)
)
_PREVIOUS = Prepared(
    select(_ANSWERS.c.step_id, _ANSWERS.c.value, _ANSWERS.c.part)
    .where(_ANSWERS.c.checkin_id == _LAST_COMPLETED.scalar_subquery())
    .order_by(_ANSWERS.c.step_id, _ANSWERS.c.part)
)


@dataclass(frozen=True)
class Received:
    """What handling one inbound message did (for logs, tests and the simulator)."""

    duplicate: bool = False
    participant: str | None = None  # pseudonym
    joined: bool = False
    messages: int = 0


# --- inbound -------------------------------------------------------------------------


def receive(
    session: Session,
    inbound: InboundMessage,
    now: datetime,
    library: FlowLibrary,
    settings: Settings,
) -> Received:
    """Handle one inbound message exactly once, whatever the provider redelivers.

    The participant's row is locked first, so two messages from one person are handled
    one after the other; then the message is recorded, where a redelivery stops.

    The usual case (a resident answering their open check-in) runs on pre-built Core
    statements over plain rows: building statements and flushing ORM objects cost ten
    times what the engine does. The rarer paths (joining, opting out, alerts, the
    welcome flow's end) load ORM objects as they need them.
    """
    session.flush()  # Core statements follow: they must see the caller's pending changes
    connection = session.connection()
    sender = {"channel": inbound.channel, "address": inbound.address}
    found = _SENDER_AND_OPEN.first(connection, sender)
    if found is not None:
        person, checkin = _Sender._make(found[:6]), _Open._make(found[6:])
    else:
        person = _SENDER.first(connection, sender)
        checkin = _active_checkin(connection, person.id) if person else None
    record_id = record_inbound_id(
        connection,
        channel=inbound.channel,
        provider_id=inbound.provider_id or None,
        address=inbound.address,
        body=inbound.text if not inbound.button else f"[button] {inbound.button}",
        participant_id=person.id if person else None,
        created_at=now,
        checkin_id=checkin.id if checkin else None,
    )
    if record_id is None:
        return Received(duplicate=True)
    to = Recipient(inbound.channel, inbound.address, person.id if person else None)
    if person is None:
        return _from_unknown_sender(session, inbound, to, now, library, settings)

    event = Reply(text=inbound.text, button=inbound.button)
    traits = CHANNEL_TRAITS.get(inbound.channel, ChannelTraits())
    if checkin is None:
        context = _context(session, person, None)
        outcome = engine.reply_without_checkin(event, context, now, traits)
        _apply_person(session, person, outcome, now)
        for message in outcome.messages:
            enqueue(session, to, message, now=now)
        return Received(participant=person.pseudonym, messages=len(outcome.messages))
    flow = flow_versions.load(session, checkin.flow_version)
    outcome = engine.advance(
        flow,
        Conversation.from_json(checkin.state),
        event,
        _context(session, person, flow),
        now,
        traits,
    )
    # A reply to the resident's own message goes at once, quiet hours or not.
    sent = apply(
        session,
        checkin,
        flow,
        outcome,
        to,
        now,
        not_before=now,
        message_id=record_id,
        participant=person,
    )
    _after_checkin(session, person, checkin, flow, outcome, now, library, settings)
    return Received(participant=person.pseudonym, messages=sent)


def _from_unknown_sender(
    session: Session,
    inbound: InboundMessage,
    to: Recipient,
    now: datetime,
    library: FlowLibrary,
    settings: Settings,
) -> Received:
    """JOIN CODE (or Telegram's /start CODE) enrols; anything else gets one hint a day."""
    code = join_code(inbound.text) or telegram_start_code(inbound.text)
    group = (
        session.scalars(select(Group).where(Group.join_code == code.upper())).one_or_none()
        if code
        else None
    )
    if group is not None:
        participant = Participant(
            group_id=group.id, name=inbound.display_name, created_at=now, opted_out=False
        )
        session.add(participant)
        session.flush()
        session.add(
            ChannelAddress(
                participant_id=participant.id, channel=inbound.channel, address=inbound.address
            )
        )
        session.execute(
            update(Message)
            .where(Message.channel == inbound.channel, Message.address == inbound.address)
            .where(Message.participant_id.is_(None))
            .values(participant_id=participant.id)
        )
        checkin = start_checkin(
            session,
            participant,
            library.resolve(WELCOME_FLOW),
            now,
            settings,
            hold_for_quiet_hours=False,
            recipient=Recipient(inbound.channel, inbound.address, participant.id),
        )
        return Received(
            participant=participant.pseudonym, joined=True, messages=int(checkin is not None)
        )
    sender = session.get(UnknownSender, (inbound.channel, inbound.address))
    if classify(inbound.text) is Keyword.STOP:
        _remember_hint(session, sender, inbound, NEVER)
        return Received()
    if sender is not None and sender.last_hint_at > now - HINT_INTERVAL:
        return Received()
    _remember_hint(session, sender, inbound, now)
    enqueue_text(session, to, system_text("join_hint", None), now=now)
    return Received(messages=1)


def _remember_hint(
    session: Session, sender: UnknownSender | None, inbound: InboundMessage, at: datetime
) -> None:
    if sender is None:
        session.add(
            UnknownSender(channel=inbound.channel, address=inbound.address, last_hint_at=at)
        )
    elif sender.last_hint_at != NEVER:
        sender.last_hint_at = at


# --- starting and waking check-ins ----------------------------------------------------


@dataclass(frozen=True)
class StartRequest:
    """A check-in to start: whose, which flow, and (for scheduled ones) which due time."""

    participant_id: int
    flow: Flow
    enrolment_id: int | None = None
    scheduled_for: datetime | None = None
    recipient: Recipient | None = None


def start_checkin(
    session: Session,
    participant: Participant,
    flow: Flow,
    now: datetime,
    settings: Settings,
    *,
    hold_for_quiet_hours: bool = True,
    recipient: Recipient | None = None,
) -> Checkin | None:
    """Start one check-in now (see `start_checkins`); None when it could not start."""
    request = StartRequest(participant.id, flow, recipient=recipient)
    started = start_checkins(
        session, [request], now, settings, hold_for_quiet_hours=hold_for_quiet_hours
    )
    return session.get(Checkin, started[0]) if started else None


def start_checkins(
    session: Session,
    requests: list[StartRequest],
    now: datetime,
    settings: Settings,
    *,
    hold_for_quiet_hours: bool = True,
) -> list[int]:
    """Start many check-ins in a handful of bulk statements; returns the new check-in ids.

    Any check-in still open for these participants closes as `superseded` (incomplete), so
    two flows never interleave in one conversation. Opted-out or forgotten participants and
    those with no address are passed over. Inside quiet hours the check-in starts, and its
    clock runs, from the moment quiet hours end, so a reminder can never overtake it.
    """
    ids = list({r.participant_id for r in requests})
    # Plain rows, not ORM objects: loading 100,000 entities costs more than the inserts.
    people = {
        p.id: p
        for p in session.execute(
            select(*PERSON_COLUMNS).where(
                Participant.id.in_(ids),
                Participant.opted_out.is_(False),
                Participant.forgotten_at.is_(None),
            )
        )
    }
    addresses = _addresses(session, list(people))
    session.execute(
        update(Checkin)
        .where(Checkin.participant_id.in_(list(people)), Checkin.status == "active")
        .values(status="superseded", finished_at=now, next_timer_at=None)
        .execution_options(synchronize_session=False)
    )
    for flow in {r.flow.version: r.flow for r in requests}.values():
        flow_versions.remember(session, flow)
    rows, outcomes = [], []
    for request in requests:
        person = people.get(request.participant_id)
        to = request.recipient or (person and _pick(person.id, addresses.get(person.id, {})))
        if person is None or to is None:
            continue
        begins = _hold(person, now, settings) if hold_for_quiet_hours else now
        flow = request.flow
        outcome = engine.advance(
            flow,
            engine.new_conversation(flow),
            Start(),
            _context(session, person, flow),
            begins,
            CHANNEL_TRAITS.get(to.channel, ChannelTraits()),
        )
        timer = engine.next_timer(flow, outcome.state)
        rows.append(
            {
                "participant_id": person.id,
                "enrolment_id": request.enrolment_id,
                "flow_id": flow.id,
                "flow_version": flow.version,
                "channel": to.channel,
                "status": outcome.state.status,
                "state": outcome.state.to_json(),
                "started_at": begins,
                "scheduled_for": request.scheduled_for,
                "next_timer_at": timer[0] if timer else None,
                "reminders_sent": 0,
                "finished_at": None if outcome.state.open else begins,
            }
        )
        outcomes.append((to, outcome, begins))
    if not rows:
        return []
    checkin_ids = insert_many(session, Checkin.__table__, rows)
    sends = [
        for_channel(to, message, begins, checkin_id)
        for checkin_id, (to, outcome, begins) in zip(checkin_ids, outcomes, strict=True)
        for message in outcome.messages
    ]
    enqueue_many(session, sends, now=now)
    return checkin_ids


def wake_checkin(
    session: Session, checkin: Checkin, now: datetime, settings: Settings
) -> Event | None:
    """Fire the check-in's due timer (a reminder or expiry); returns the event it fired."""
    flow = flow_versions.load(session, checkin.flow_version)
    state = Conversation.from_json(checkin.state)
    event = engine.due_event(flow, state, now)
    if event is None:
        timer = engine.next_timer(flow, state)
        checkin.next_timer_at = timer[0] if timer else None
        return None
    participant = session.get_one(Participant, checkin.participant_id)
    to = preferred_recipient(session, participant, checkin.channel)
    outcome = engine.advance(flow, state, event, _context(session, participant, flow), now)
    if to is None or participant.opted_out:
        outcome = Outcome(state=outcome.state)  # nobody to tell: only the state changes
        to = to or Recipient(checkin.channel, "", participant.id)
    apply(session, checkin, flow, outcome, to, now, not_before=_hold(participant, now, settings))
    return event


# --- applying an outcome --------------------------------------------------------------


def apply(
    session: Session,
    checkin: Checkin | tuple[Any, ...],
    flow: Flow,
    outcome: Outcome,
    to: Recipient,
    now: datetime,
    *,
    not_before: datetime,
    message_id: int | None = None,
    participant: Participant | tuple[Any, ...] | None = None,
) -> int:
    """Write the outcome of one event: state, answers, alerts and queued messages.

    `checkin` is an ORM object (the clock's), whose attributes change, or the row that
    `receive` read under lock, saved with one UPDATE. `participant` is what `receive`
    read of them (an ORM object is loaded when none is given, or when one must change).
    """
    state = outcome.state
    connection = session.connection()
    answers = [
        {
            "checkin_id": checkin.id,
            "participant_id": checkin.participant_id,
            "flow_id": flow.id,
            "flow_version": flow.version,
            "step_id": answer.step_id,
            "part": answer.part,
            "value": answer.value,
            "score": answer.score if answer.measure else None,
            "measure": answer.measure,
            "raw_text": answer.raw_text,
            "answered_at": answer.answered_at,
            "channel": checkin.channel,
            "message_id": message_id,
        }
        for answer in outcome.answers
    ]
    if isinstance(checkin, Checkin):
        checkin.state = state.to_json()
        checkin.status = state.status if state.status != "new" else checkin.status
        checkin.reminders_sent = state.reminders_sent
        if not state.open and checkin.finished_at is None:
            checkin.finished_at = now
        timer = engine.next_timer(flow, state)
        checkin.next_timer_at = timer[0] if timer else None
    else:
        timer = engine.next_timer(flow, state)
        saved = {
            "checkin_id": checkin.id,
            "state": state.to_json(),
            "status": state.status if state.status != "new" else checkin.status,
            "reminders_sent": state.reminders_sent,
            "finished_at": now
            if not state.open and checkin.finished_at is None
            else checkin.finished_at,
            "next_timer_at": timer[0] if timer else None,
        }
        if len(answers) == 1 and connection.dialect.name == "postgresql":
            _SAVE_STATE_AND_ANSWER.rows(connection, saved | answers.pop())
        else:
            _SAVE_STATE.rows(connection, saved)
    for row in answers:
        _INSERT_ANSWER.rows(connection, row)
    if participant is None:
        participant = session.get_one(Participant, checkin.participant_id)
    for alert in outcome.alerts:
        session.add(
            Alert(
                participant_id=participant.id,
                group_id=participant.group_id,
                checkin_id=checkin.id,
                step_id=alert.step_id,
                flow_id=flow.id,
                created_at=now,
            )
        )
        _tell_coordinators(session, participant, flow, alert.step_id, now)
    _apply_person(session, participant, outcome, now)
    if outcome.opted_out:
        not_before = now  # the one confirmation goes at once, after the queue was cleared
    enqueue_many(
        session,
        [for_channel(to, message, not_before, checkin.id) for message in outcome.messages],
        now=now,
    )
    return len(outcome.messages)


def _apply_person(
    session: Session, participant: Participant | tuple[Any, ...], outcome: Outcome, now: datetime
) -> None:
    """Opt-outs take effect at once: nothing still queued for them is sent."""
    changes = (outcome.opted_out and not participant.opted_out) or (
        outcome.opted_in and participant.opted_out
    )
    if not changes:
        return
    if not isinstance(participant, Participant):
        participant = session.get_one(Participant, participant.id)
    if outcome.opted_out and not participant.opted_out:
        participant.opted_out = True
        participant.opted_out_at = now
        cancel_pending(session, participant.id, "participant opted out")
    if outcome.opted_in and participant.opted_out:
        participant.opted_out = False
        participant.opted_out_at = None


def _after_checkin(
    session: Session,
    participant: Participant | tuple[Any, ...],
    checkin: Checkin | tuple[Any, ...],
    flow: Flow,
    outcome: Outcome,
    now: datetime,
    library: FlowLibrary,
    settings: Settings,
) -> None:
    """Finishing the welcome flow enrols (consent given) or opts out (consent refused)."""
    if flow.id != WELCOME_FLOW or outcome.state.status != "completed":
        return
    if not isinstance(participant, Participant):
        participant = session.get_one(Participant, participant.id)
    answers = outcome.state.answers
    if answers.get("name"):
        participant.name = str(answers["name"])
    if answers.get("consent") is not True:
        participant.opted_out = True
        participant.opted_out_at = now
        return
    group = session.get(Group, participant.group_id) if participant.group_id else None
    if group is None or not group.default_flow:
        return
    try:
        library.resolve(group.default_flow)
    except FlowError:
        return  # `groups add` checks the flow; a flow removed since is reported by `flows check`
    enrol(session, participant, group.default_flow, now)


def enrol(session: Session, participant: Participant, flow_id: str, now: datetime) -> Enrolment:
    """Subscribe a participant to a flow (once); the clock works out when it falls due."""
    enrolment = session.scalars(
        select(Enrolment).where(
            Enrolment.participant_id == participant.id, Enrolment.flow_id == flow_id
        )
    ).one_or_none()
    if enrolment is None:
        enrolment = Enrolment(
            participant_id=participant.id,
            group_id=participant.group_id,
            flow_id=flow_id,
            enrolled_at=now,
            active=True,
        )
        session.add(enrolment)
        session.flush()
    return enrolment


def _tell_coordinators(
    session: Session,
    participant: Participant | tuple[Any, ...],
    flow: Flow,
    step_id: str,
    now: datetime,
) -> None:
    """Alerts go to the group's coordinators at once: pseudonym and group, no message text."""
    if participant.group_id is None:
        return
    group = session.get_one(Group, participant.group_id)
    coordinators = session.scalars(
        select(Coordinator).where(Coordinator.group_id == participant.group_id)
    )
    text = (
        f"Groundswell alert: {participant.pseudonym} ({group.name}) answered '{step_id}' "
        f"in '{flow.title}' in a way that asks for follow-up. Please get in touch."
    )
    for coordinator in coordinators:
        enqueue_text(session, Recipient(coordinator.channel, coordinator.address), text, now=now)


# --- lookups -------------------------------------------------------------------------


def _active_checkin(connection: Connection, participant_id: int) -> tuple[Any, ...] | None:
    """The participant's open check-in, row-locked: what `receive` and `apply` need of it."""
    return _ACTIVE.first(connection, {"participant_id": participant_id})


def preferred_recipient(
    session: Session, participant: Participant, channel: str | None = None
) -> Recipient | None:
    """How to reach a participant: `channel` if they have it, else Telegram, SMS, simulator."""
    return _pick(
        participant.id, _addresses(session, [participant.id]).get(participant.id, {}), channel
    )


def _addresses(session: Session, participant_ids: list[int]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    rows = session.execute(
        select(ChannelAddress.participant_id, ChannelAddress.channel, ChannelAddress.address).where(
            ChannelAddress.participant_id.in_(participant_ids)
        )
    )
    for participant_id, channel, address in rows:
        found.setdefault(participant_id, {})[channel] = address
    return found


def _pick(
    participant_id: int, addresses: dict[str, str], channel: str | None = None
) -> Recipient | None:
    for choice in (channel, *CHANNEL_PREFERENCE):
        if choice and choice in addresses:
            return Recipient(choice, addresses[choice], participant_id)
    return None


def _context(session: Session, participant: Any, flow: Flow | None) -> EngineParticipant:
    """What the engine may know of a person; `previous` answers only when the flow uses them.

    `participant`: an ORM object, or a row with (at least) `id` and the four used here.
    """
    wanted = flow is not None and "previous." in flow.source_text
    return EngineParticipant(
        id=participant.pseudonym,
        name=participant.name,
        language=participant.language,
        opted_out=participant.opted_out,
        previous=_previous_answers(session, participant.id, flow.id) if wanted else {},
    )


def _previous_answers(session: Session, participant_id: int, flow_id: str) -> dict:
    """The answers of the participant's last completed check-in of this flow."""
    rows = _PREVIOUS.rows(
        session.connection(), {"participant_id": participant_id, "flow_id": flow_id}
    )
    previous: dict[str, Any] = {}
    for step, value, part in rows:
        if part:  # a multiple choice: its chosen values, as a list
            previous.setdefault(step, []).append(value)
        else:
            previous[step] = value
    return previous


def participant_zone(participant: Participant, settings: Settings) -> ZoneInfo:
    """The participant's own time zone, else the deployment's."""
    return zone_named(participant.timezone, settings)


def zone_named(name: str | None, settings: Settings) -> ZoneInfo:
    """The named time zone, or the deployment's when there is none (or it is unknown)."""
    try:
        return ZoneInfo(name) if name else settings.zone
    except (ZoneInfoNotFoundError, ValueError):
        return settings.zone


def _hold(participant: Participant, now: datetime, settings: Settings) -> datetime:
    return release_time(
        now, participant_zone(participant, settings), settings.quiet_start, settings.quiet_end
    )
