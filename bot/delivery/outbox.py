"""The transactional outbox: messages are written with the state change that causes them.

A row is queued in the same transaction as the answer or check-in it belongs to; workers
claim rows with a lease, send them, and mark them. Rows for one address go out strictly in
order: a row is only claimable while no earlier row for the same address is still pending.
Telegram callback answers (`kind` "callback_answer") acknowledge a button press: they
neither wait for nor hold up the chat's messages, since Telegram expires them quickly.
Button edits (`kind` "edit_buttons": Telegram's editMessageReplyMarkup, body the message id)
tick a multiple choice's buttons on the question itself; they too neither wait nor block.

An attempt whose outcome is unknown (the worker died mid-send, or the request timed out
after the provider may have accepted it) leaves `last_error` starting with
`UNKNOWN_OUTCOME`; `outcome_unknown()` tells the next worker to ask the provider first.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from bot.channels.base import WHATSAPP_EMPTY_VARIABLE, WHATSAPP_OUTSIDE_WINDOW
from bot.channels.rendering import plain_text
from bot.delivery import whatsapp_window
from bot.people.opt_out import opt_out
from storage import flow_versions
from storage.bulk import Prepared, insert_many, insert_rows
from storage.database import rows_affected
from storage.models import (
    OUTBOX_HELD,
    OUTBOX_PENDING,
    OUTBOX_PENDING_SQL,
    Checkin,
    Message,
    OutboxItem,
    Participant,
    User,
    table_of,
)
from storage.types import UTCDateTime
from survey_flows.engine_values import Outgoing

PENDING = OUTBOX_PENDING
BUTTON_CHANNELS = ("telegram", "sim")
#: WhatsApp shows at most three quick-reply buttons in a conversation.
QUICK_REPLIES = 3
MESSAGE = "message"
CALLBACK_ANSWER = "callback_answer"
EDIT_BUTTONS = "edit_buttons"
TEMPLATE = "template"
#: Kinds that are messages in the person's conversation: they go strictly in queue order.
IN_ORDER = (MESSAGE, TEMPLATE)
#: How many of an address's latest sends a lookup for a send in doubt steers clear of.
RECENT_SENDS = 200
#: Prefix of `last_error` when an earlier attempt may have reached the provider.
UNKNOWN_OUTCOME = "outcome unknown"
# Literally the partial index's predicate (OUTBOX_PENDING_SQL, with literals rather than
# parameters), so that both databases use ix_outbox_pending.
_PENDING = text(OUTBOX_PENDING_SQL)
_PENDING_LITERALS: list[ColumnElement[Any]] = [literal_column(f"'{status}'") for status in PENDING]


@dataclass(frozen=True)
class Recipient:
    """Where a message goes: a channel address, and the participant (if any) behind it."""

    channel: str
    address: str
    participant_id: int | None = None


@dataclass(frozen=True)
class Opening:
    """The approved WhatsApp template that opens a conversation outside the person's
    24-hour window: `template` names it ("checkin", "reminder", "coordinator"; the sender
    knows their Content SIDs), `variables` fill it ("1" -> text, ...)."""

    template: str
    variables: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """How the template send reads in a transcript."""
        return (
            f"[WhatsApp template {self.template}: " + ", ".join(v for _, v in self.variables) + "]"
        )


def opening(template: str, *values: str | None, fallback: str = WHATSAPP_EMPTY_VARIABLE) -> Opening:
    """The `Opening` of `template` with `values` as its variables "1", "2", ...; an empty
    or missing value becomes `fallback` (WhatsApp refuses empty variables: error 63013)."""
    return Opening(
        template,
        tuple(
            (str(number), (value or "").strip() or fallback)
            for number, value in enumerate(values, 1)
        ),
    )


def checkin_opening(name: str | None, flow_title: str, *, reminder: bool = False) -> Opening:
    """The template that opens (or reminds of) a check-in: "Hi {{1}}, {{2}}..."."""
    return opening("reminder" if reminder else "checkin", name, flow_title)


@dataclass(frozen=True)
class Send:
    """One message to queue: what, to whom, and not before when.

    `opening`: on WhatsApp, the template to send first when the person's window is closed
    (the message itself is then held until they write). `kind` and `status` are set by the
    window rule (`_through_window`), not by callers.
    """

    to: Recipient
    body: str
    not_before: datetime
    checkin_id: int | None = None
    buttons: list[dict[str, str]] | None = None
    photo: bytes | None = None
    opening: Opening | None = None
    kind: str = MESSAGE
    status: str = "queued"


def for_channel(
    to: Recipient,
    message: Outgoing,
    not_before: datetime,
    checkin_id: int | None = None,
    opening: Opening | None = None,
) -> Send:
    """An engine message as its channel shows it: buttons on Telegram, a numbered list on SMS
    and WhatsApp."""
    buttons = [{"value": o.value, "label": o.label} for o in message.options] or None
    if to.channel in BUTTON_CHANNELS and buttons:
        return Send(to, message.text, not_before, checkin_id, buttons, opening=opening)
    if to.channel == whatsapp_window.CHANNEL and buttons and len(buttons) <= QUICK_REPLIES:
        # Quick-reply buttons where the deployment has the content for them; the text
        # keeps its numbered options, which the sender drops when the buttons go.
        return Send(to, plain_text(message), not_before, checkin_id, buttons, opening=opening)
    return Send(to, plain_text(message), not_before, checkin_id, opening=opening)


def enqueue(
    session: Session,
    to: Recipient,
    message: Outgoing,
    *,
    now: datetime,
    not_before: datetime | None = None,
    checkin_id: int | None = None,
) -> None:
    """Queue one engine message."""
    enqueue_many(session, [for_channel(to, message, not_before or now, checkin_id)], now=now)


def enqueue_text(
    session: Session,
    to: Recipient,
    body: str,
    *,
    now: datetime,
    not_before: datetime | None = None,
    photo: bytes | None = None,
    opening: Opening | None = None,
) -> None:
    """Queue a plain message (system texts, coordinator alerts and summaries); `opening`
    is the WhatsApp template to send first if the recipient's window is closed."""
    enqueue_many(
        session, [Send(to, body, not_before or now, photo=photo, opening=opening)], now=now
    )


#: Up to this many sends, `enqueue_many` inserts row by row (see there).
ROW_BY_ROW = 4
_MESSAGE_COLUMNS = (
    "participant_id",
    "direction",
    "channel",
    "address",
    "body",
    "created_at",
    "checkin_id",
    "status",
)
_ITEM_COLUMNS = (
    "message_id",
    "kind",
    "channel",
    "address",
    "body",
    "buttons",
    "photo",
    "status",
    "attempts",
    "not_before",
    "created_at",
    "idempotency_key",
)
# Compiled once, run on the DBAPI cursor (see `storage.bulk.Prepared`).
_INSERT_MESSAGE = Prepared(
    insert(table_of(Message)).returning(table_of(Message).c.id), _MESSAGE_COLUMNS
)
_INSERT_ITEM = Prepared(insert(table_of(OutboxItem)), _ITEM_COLUMNS)
# PostgreSQL: the message record and its outbox row in one statement, one round trip.
# Parameters are named after the columns; the two rows share channel, address, body,
# status ("queued") and created_at.
_QUEUED = (
    insert(table_of(Message))
    .values({c: bindparam(c, type_=table_of(Message).c[c].type) for c in _MESSAGE_COLUMNS})
    .returning(table_of(Message).c.id)
    .cte("queued_message")
)
_QUEUE_ONE = Prepared(
    insert(table_of(OutboxItem)).from_select(
        _ITEM_COLUMNS,
        select(
            _QUEUED.c.id,
            *[bindparam(c, type_=table_of(OutboxItem).c[c].type) for c in _ITEM_COLUMNS[1:]],
        ),
    )
)


def enqueue_many(session: Session, sends: list[Send], *, now: datetime) -> None:
    """Queue messages: for each, its message record and its outbox row.

    Order in `sends` is queue order, so one resident's messages go out in that order. A
    few (a reply to a resident) go row by row through statements compiled once, on
    PostgreSQL one statement each; more (a clock tick's thousands) in two bulk
    statements, the message records then the rows.
    """
    if not sends:
        return
    sends = _through_window(session, sends)
    if len(sends) <= ROW_BY_ROW:
        connection = session.connection()
        # One statement gives the message record and its row one body and status each.
        one_statement = connection.dialect.name == "postgresql" and all(
            send.kind == MESSAGE and send.status == "queued" for send in sends
        )
        for send in sends:
            if one_statement:
                _QUEUE_ONE.rows(connection, _message_row(send, now) | _item_row(None, send, now))
            else:
                message_id = _INSERT_MESSAGE.scalar(connection, _message_row(send, now))
                _INSERT_ITEM.rows(connection, _item_row(message_id, send, now))
        return
    message_ids = insert_many(session, _MESSAGES, [_message_row(send, now) for send in sends])
    insert_rows(
        session,
        _OUTBOX,
        [
            _item_row(message_id, send, now)
            for message_id, send in zip(message_ids, sends, strict=True)
        ],
    )


def _through_window(session: Session, sends: list[Send]) -> list[Send]:
    """WhatsApp's 24-hour rule applied to `sends` (the others pass unchanged).

    A WhatsApp message due when the person's window is closed is held (status "held")
    until they write (`whatsapp_window.release_held`); when it carries an `opening`, the
    template goes ahead of it, unless one is already waiting to go to that person. A
    check-in that already has messages held (its first question) holds no more: they ask
    the question already.
    """
    waiting = [s for s in sends if s.to.channel == whatsapp_window.CHANNEL and s.kind == MESSAGE]
    if not waiting:
        return sends
    last = whatsapp_window.last_inbound(session, {s.to.address for s in waiting})
    closed = [
        s for s in waiting if not whatsapp_window.window_open(last.get(s.to.address), s.not_before)
    ]
    if not closed:
        return sends
    already = whatsapp_window.checkins_with_held(
        session, {s.checkin_id for s in closed if s.checkin_id is not None}
    )
    closed_ids = {id(s) for s in closed}
    opened = whatsapp_window.waiting_templates(session, {s.to.address for s in closed})
    result = []
    for send in sends:
        if id(send) not in closed_ids:
            result.append(send)
            continue
        if send.opening is not None and send.to.address not in opened:
            opened.add(send.to.address)
            result.append(
                Send(
                    send.to,
                    send.opening.describe(),
                    send.not_before,
                    send.checkin_id,
                    opening=send.opening,
                    kind=TEMPLATE,
                )
            )
        if send.checkin_id is None or send.checkin_id not in already:
            result.append(replace(send, status=OUTBOX_HELD))
    return result


def template_body(opening: Opening) -> str:
    """A template row's `body`: which template, and its variables (JSON)."""
    return json.dumps({"template": opening.template, "variables": dict(opening.variables)})


def template_of(body: str) -> Opening:
    """The template a template row's `body` names (see `template_body`)."""
    data = json.loads(body)
    return Opening(str(data["template"]), tuple((k, str(v)) for k, v in data["variables"].items()))


def _message_row(send: Send, now: datetime) -> dict[str, Any]:
    return {
        "participant_id": send.to.participant_id,
        "direction": "out",
        "channel": send.to.channel,
        "address": send.to.address,
        "body": send.body,
        "created_at": now,
        "checkin_id": send.checkin_id,
        "status": "queued",
    }


def _item_row(message_id: int | None, send: Send, now: datetime) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "kind": send.kind,
        "channel": send.to.channel,
        "address": send.to.address,
        "body": template_body(send.opening)
        if send.kind == TEMPLATE and send.opening is not None
        else send.body,
        "buttons": send.buttons,
        "photo": send.photo,
        "status": send.status,
        "attempts": 0,
        "not_before": send.not_before,
        "created_at": now,
        "idempotency_key": f"out-{uuid.uuid4().hex}",
    }


def enqueue_callback_answer(
    session: Session, callback_query_id: str, chat_id: str, now: datetime
) -> OutboxItem:
    """Queue Telegram's answerCallbackQuery for a button press (stops the client's spinner).

    Written with the handling of the press; the worker answers it from its own event loop.
    No `messages` row: an acknowledgement is not a message to the person.
    """
    return _telegram_side_call(session, CALLBACK_ANSWER, chat_id, callback_query_id, None, now)


def enqueue_edit_buttons(
    session: Session, chat_id: str, message_id: int, message: Outgoing, now: datetime
) -> OutboxItem:
    """Queue an edit of the buttons under a bot message the resident pressed a button on
    (a multiple choice's toggle: the question's buttons get their ticks, no new message).

    No `messages` row: nothing new is said to the person.
    """
    buttons = [{"value": o.value, "label": o.label} for o in message.options]
    return _telegram_side_call(session, EDIT_BUTTONS, chat_id, str(message_id), buttons, now)


def _telegram_side_call(
    session: Session,
    kind: str,
    chat_id: str,
    body: str,
    buttons: list[dict[str, str]] | None,
    now: datetime,
) -> OutboxItem:
    """Queue a Telegram call that says nothing new to the person (no `messages` row)."""
    item = OutboxItem(
        message_id=None,
        kind=kind,
        channel="telegram",
        address=chat_id,
        body=body,
        buttons=buttons,
        status="queued",
        attempts=0,
        not_before=now,
        created_at=now,
        idempotency_key=f"{kind}-{uuid.uuid4().hex}",
    )
    session.add(item)
    return item


def claim(
    session: Session,
    worker: str,
    now: datetime,
    *,
    limit: int = 50,
    lease: timedelta = timedelta(seconds=60),
    channels: tuple[str, ...] | None = None,
) -> list[Row[Any]]:
    """Take up to `limit` due rows for this worker, the head of each address's queue only.

    Returns the claimed rows (all outbox columns, as they are after the claim) in queue
    order. One statement: UPDATE .. WHERE id IN (the due heads, FOR UPDATE SKIP LOCKED)
    RETURNING. A row in `sending` whose lease ran out belongs to a worker that died
    mid-send: it is claimable again, and its `last_error` is set to `UNKNOWN_OUTCOME` so
    that the next sender checks the provider first (see `outcome_unknown`). Callback
    answers are never blocked and never block. PostgreSQL skips rows other workers hold;
    on SQLite the write lock does the same job.
    """
    candidate = _OUTBOX.alias("candidate")
    earlier = _OUTBOX.alias("earlier")
    blocked = exists().where(
        earlier.c.channel == candidate.c.channel,
        earlier.c.address == candidate.c.address,
        earlier.c.id < candidate.c.id,
        earlier.c.status.in_(PENDING),
        earlier.c.kind.in_(IN_ORDER),
    )
    due = (
        select(candidate.c.id)
        .where(
            candidate.c.status.in_(_PENDING_LITERALS),  # the partial index's predicate
            candidate.c.not_before <= now,
            or_(candidate.c.claimed_until.is_(None), candidate.c.claimed_until < now),
            or_(candidate.c.kind.not_in(IN_ORDER), ~blocked),
        )
        .order_by(candidate.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if channels:
        due = due.where(candidate.c.channel.in_(channels))
    # SET expressions see the row as it was: a row still "sending" was reclaimed.
    reclaimed = (
        literal(f"{UNKNOWN_OUTCOME}: the lease of ")
        + func.coalesce(_OUTBOX.c.claimed_by, "?")
        + literal(" ran out")
    )
    claimed = session.execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(due.scalar_subquery()))
        .values(
            status="sending",
            claimed_by=worker,
            claimed_until=now + lease,
            attempts=_OUTBOX.c.attempts + 1,
            last_error=case((_OUTBOX.c.status == "sending", reclaimed), else_=_OUTBOX.c.last_error),
        )
        .returning(*_OUTBOX.c)
    ).all()
    return sorted(claimed, key=lambda row: row.id)


# The per-row marks run once per message sent: Core statements on the tables, built once,
# cost the worker half what ORM-enabled updates built per call do (see bench/worker_send.py).
_OUTBOX = table_of(OutboxItem)
_MESSAGES = table_of(Message)
_HELD = (
    _OUTBOX.c.id == bindparam("item_id"),
    _OUTBOX.c.claimed_by == bindparam("worker"),
    _OUTBOX.c.status == "sending",
)
_ITS_MESSAGE = _MESSAGES.c.id == (
    select(_OUTBOX.c.message_id).where(_OUTBOX.c.id == bindparam("item_id")).scalar_subquery()
)
_MARK_SENT = (
    update(_OUTBOX)
    .where(*_HELD)
    .values(
        status="sent",
        provider_id=bindparam("sid"),
        sent_at=bindparam("at", type_=UTCDateTime()),
        claimed_until=None,
    )
)
_MESSAGE_SENT = (
    update(_MESSAGES).where(_ITS_MESSAGE).values(status="sent", provider_id=bindparam("sid"))
)
_MARK_RETRY = (
    update(_OUTBOX)
    .where(*_HELD)  # not if cancelled (forgotten) meanwhile
    .values(
        status="queued",
        not_before=bindparam("not_before_", type_=UTCDateTime()),
        claimed_until=None,
        last_error=bindparam("error"),
    )
)
_MARK_FAILED = (
    update(_OUTBOX)
    .where(*_HELD)
    .values(status="failed", claimed_until=None, last_error=bindparam("error"))
)
_HOLDS = select(_OUTBOX.c.id).where(*_HELD)
_MESSAGE_FAILED = (
    update(_MESSAGES).where(_ITS_MESSAGE).values(status="failed", error_code=bindparam("code"))
)


def mark_sent(session: Session, item_id: int, worker: str, provider_id: str, now: datetime) -> bool:
    """Record a send; False if the row was taken over by another worker (our lease ran
    out) or cancelled (an opt-out) while it was being sent."""
    done = session.execute(
        _MARK_SENT, {"item_id": item_id, "worker": worker, "sid": provider_id, "at": now}
    )
    if not rows_affected(done):
        return False
    session.execute(_MESSAGE_SENT, {"item_id": item_id, "sid": provider_id})
    return True


def outcome_unknown(item: OutboxItem | Row[Any]) -> bool:
    """Whether an earlier attempt of this (claimed) row may have reached the provider."""
    return item.attempts > 1 and (item.last_error or "").startswith(UNKNOWN_OUTCOME)


def release(session: Session, item_ids: list[int], worker: str) -> None:
    """Hand back claimed rows this worker did not try to send (shutting down, lease short).

    They are due again at once, and the claim's attempt is taken back.
    """
    if not item_ids:
        return
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(item_ids), OutboxItem.claimed_by == worker)
        .where(OutboxItem.status == "sending")
        .values(
            status="queued",
            claimed_by=None,
            claimed_until=None,
            attempts=OutboxItem.attempts - 1,
        )
        .execution_options(synchronize_session=False)
    )


def sent_ids_to(session: Session, channel: str, address: str, *, other_than: int) -> set[str]:
    """Provider ids of the latest rows sent to an address (bar one): what a lookup for a
    send in doubt must not take for that row's message (the same text may have gone
    before)."""
    return set(
        session.scalars(
            select(OutboxItem.provider_id)
            .where(OutboxItem.channel == channel, OutboxItem.address == address)
            .where(OutboxItem.provider_id.is_not(None), OutboxItem.id != other_than)
            .order_by(OutboxItem.id.desc())
            .limit(RECENT_SENDS)
        )
    )


def holds(session: Session, item_id: int, worker: str) -> bool:
    """Whether `worker` still holds the row: claimed by it, not cancelled or taken over.

    Asked just before each send, so an opt-out committed meanwhile stops it.
    """
    return session.execute(_HOLDS, {"item_id": item_id, "worker": worker}).first() is not None


def renew(session: Session, item_ids: list[int], worker: str, until: datetime) -> set[int]:
    """Extend this worker's lease on rows it still holds until `until`; return their ids.

    A row missing from the answer was taken over by another worker after our lease ran
    out (or cancelled): we must not send it.
    """
    if not item_ids:
        return set()
    mine = (
        OutboxItem.id.in_(item_ids),
        OutboxItem.claimed_by == worker,
        OutboxItem.status == "sending",
    )
    session.execute(
        update(OutboxItem)
        .where(*mine)
        .values(claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    return set(session.scalars(select(OutboxItem.id).where(*mine)))


def mark_retry(
    session: Session,
    item_id: int,
    worker: str,
    error: str,
    not_before: datetime,
    *,
    in_doubt: bool = False,
) -> None:
    """Put a row back in the queue after a passing failure; it keeps its place in line.

    `in_doubt`: the provider may have taken the message anyway (a timeout, a dropped
    connection, a 5xx): the next attempt must look for it before sending again.
    """
    if in_doubt:
        error = f"{UNKNOWN_OUTCOME}: {error}"
    session.execute(
        _MARK_RETRY,
        {"item_id": item_id, "worker": worker, "not_before_": not_before, "error": error},
    )


def mark_failed(session: Session, item_id: int, worker: str, error: str, code: str | None) -> None:
    """Give up on a row for good (a permanent provider error or too many attempts)."""
    done = session.execute(_MARK_FAILED, {"item_id": item_id, "worker": worker, "error": error})
    if rows_affected(done):
        session.execute(_MESSAGE_FAILED, {"item_id": item_id, "code": code})


def mark_opted_out(
    session: Session, item_id: int, worker: str, error: str, code: str | None, now: datetime
) -> set[int]:
    """The recipient unsubscribed or blocked us: fail the row, mark the participant behind
    it opted out, and cancel everything pending for them, claimed rows included.

    Returns the ids of the other rows `worker` held for them: it must not send those.
    """
    mark_failed(session, item_id, worker, error, code)
    participant_id = session.scalar(
        select(Message.participant_id)
        .join(OutboxItem, OutboxItem.message_id == Message.id)
        .where(OutboxItem.id == item_id)
    )
    if participant_id is None:  # an unknown sender: nobody to mark
        return set()
    participant = session.get_one(Participant, participant_id, with_for_update=True)
    held = set(
        session.scalars(
            select(OutboxItem.id)
            .join(Message, OutboxItem.message_id == Message.id)
            .where(
                Message.participant_id == participant_id,
                OutboxItem.status == "sending",
                OutboxItem.claimed_by == worker,
            )
        )
    )
    opt_out(session, participant, now, f"opted out (error {code})")
    return held


def hold_for_window(session: Session, item_id: int, now: datetime) -> bool:
    """WhatsApp refused a free-form message (63016: the window closed after it was
    queued): hold it, and what is queued behind it, until the person writes, and queue the
    template that invites them (unless one is already waiting). Works on a row being sent
    (the error came back from the send) and on one marked sent (it came in a status
    callback); the person never received it, so sending it later is no duplicate. False if
    the row is neither.
    """
    row = session.execute(
        select(OutboxItem.kind, OutboxItem.channel, OutboxItem.address, OutboxItem.message_id)
        .where(OutboxItem.id == item_id, OutboxItem.status.in_(("sending", "sent")))
        .with_for_update()
    ).first()
    if row is None or row.kind != MESSAGE or row.message_id is None:
        return False
    message = session.get_one(Message, row.message_id)
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id)
        .values(
            status=OUTBOX_HELD,
            claimed_until=None,
            provider_id=None,
            sent_at=None,
            last_error=(
                f"outside the WhatsApp window ({WHATSAPP_OUTSIDE_WINDOW}): "
                "held until the person writes"
            ),
        )
        .execution_options(synchronize_session=False)
    )
    message.status, message.provider_id = "queued", None
    message.error_code = WHATSAPP_OUTSIDE_WINDOW
    # The messages queued behind it would be refused too: hold them with it.
    session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.channel == row.channel,
            OutboxItem.address == row.address,
            OutboxItem.kind == MESSAGE,
            OutboxItem.status == "queued",
        )
        .values(status=OUTBOX_HELD)
        .execution_options(synchronize_session=False)
    )
    if not whatsapp_window.waiting_templates(session, {row.address}):
        opens = _opening_of(session, message)
        to = Recipient(row.channel, row.address, message.participant_id)
        template = Send(to, opens.describe(), now, message.checkin_id, opening=opens, kind=TEMPLATE)
        enqueue_many(session, [template], now=now)
    return True


def _opening_of(session: Session, message: Message) -> Opening:
    """The template that invites the person `message` was for to write back."""
    if message.participant_id is None:
        name = session.scalar(
            select(User.name).where(
                User.channel == message.channel, User.address == message.address
            )
        )
        return opening("coordinator", name, "a message")
    person = session.get_one(Participant, message.participant_id)
    checkin = session.get(Checkin, message.checkin_id) if message.checkin_id else None
    title = flow_versions.load(session, checkin.flow_version).title if checkin else None
    return checkin_opening(person.name, title or "your check-in")


def templates_sent_since(session: Session, channel: str, since: datetime) -> dict[str, datetime]:
    """address -> its first template sent at or after `since`: the people a WhatsApp sender
    started conversations with (what Meta's per-day tier counts)."""
    rows = session.execute(
        select(OutboxItem.address, func.min(OutboxItem.sent_at))
        .where(
            OutboxItem.channel == channel,
            OutboxItem.kind == TEMPLATE,
            OutboxItem.status == "sent",
            OutboxItem.sent_at >= since,
        )
        .group_by(OutboxItem.address)
    )
    return {address: first for address, first in rows if first is not None}


def postpone(
    session: Session, item_id: int, worker: str, not_before: datetime, reason: str
) -> None:
    """Put a claimed row back, due at `not_before`, without counting the claim as an
    attempt (it was not tried: a limit said wait)."""
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id, OutboxItem.claimed_by == worker)
        .where(OutboxItem.status == "sending")
        .values(
            status="queued",
            not_before=not_before,
            claimed_by=None,
            claimed_until=None,
            attempts=OutboxItem.attempts - 1,
            last_error=reason,
        )
        .execution_options(synchronize_session=False)
    )


def counts(session: Session) -> dict[str, int]:
    """How many rows are in each state, for the health page and `worker --once`."""
    rows = session.execute(select(OutboxItem.status, func.count()).group_by(OutboxItem.status))
    return {status: n for status, n in rows}


def due_count(session: Session, now: datetime) -> int:
    """Rows a worker could claim now (used to decide when `worker --once` is done)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(
                _PENDING,
                OutboxItem.not_before <= now,
                or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now),
            )
        )
        or 0
    )
