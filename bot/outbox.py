"""The transactional outbox: messages are written with the state change that causes them.

A row is queued in the same transaction as the answer or check-in it belongs to; workers
claim rows with a lease, send them, and mark them. Rows for one address go out strictly in
order: a row is only claimable while no earlier row for the same address is still pending.
Telegram callback answers (`kind` "callback_answer") acknowledge a button press: they
neither wait for nor hold up the chat's messages, since Telegram expires them quickly.

An attempt whose outcome is unknown (the worker died mid-send, or the request timed out
after the provider may have accepted it) leaves `last_error` starting with
`UNKNOWN_OUTCOME`; `outcome_unknown()` tells the next worker to ask the provider first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot.channels.rendering import plain_text
from storage.bulk import insert_many, insert_rows
from storage.models import Message, OutboxItem
from survey_flows.conversation import Outgoing

PENDING = ("queued", "sending")
BUTTON_CHANNELS = ("telegram", "sim")
MESSAGE = "message"
CALLBACK_ANSWER = "callback_answer"
#: Prefix of `last_error` when an earlier attempt may have reached the provider.
UNKNOWN_OUTCOME = "outcome unknown"


@dataclass(frozen=True)
class Recipient:
    """Where a message goes: a channel address, and the participant (if any) behind it."""

    channel: str
    address: str
    participant_id: int | None = None


@dataclass(frozen=True)
class Send:
    """One message to queue: what, to whom, and not before when."""

    to: Recipient
    body: str
    not_before: datetime
    checkin_id: int | None = None
    buttons: list[dict[str, str]] | None = None
    photo: bytes | None = None


def for_channel(
    to: Recipient,
    message: Outgoing,
    not_before: datetime,
    checkin_id: int | None = None,
) -> Send:
    """An engine message as its channel shows it: buttons on Telegram, a numbered list on SMS."""
    if to.channel in BUTTON_CHANNELS and message.options:
        buttons = [{"value": o.value, "label": o.label} for o in message.options]
        return Send(to, message.text, not_before, checkin_id, buttons)
    return Send(to, plain_text(message), not_before, checkin_id)


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
) -> None:
    """Queue a plain message (system texts, coordinator alerts and summaries)."""
    enqueue_many(session, [Send(to, body, not_before or now, photo=photo)], now=now)


def enqueue_many(session: Session, sends: list[Send], *, now: datetime) -> None:
    """Queue messages in two bulk statements: the message records, then their outbox rows.

    Order in `sends` is queue order, so one resident's messages go out in that order.
    """
    if not sends:
        return
    message_ids = insert_many(
        session,
        Message.__table__,
        [
            {
                "participant_id": send.to.participant_id,
                "direction": "out",
                "channel": send.to.channel,
                "address": send.to.address,
                "body": send.body,
                "created_at": now,
                "checkin_id": send.checkin_id,
                "status": "queued",
            }
            for send in sends
        ],
    )
    insert_rows(
        session,
        OutboxItem.__table__,
        [
            {
                "message_id": message_id,
                "channel": send.to.channel,
                "address": send.to.address,
                "body": send.body,
                "buttons": send.buttons,
                "photo": send.photo,
                "status": "queued",
                "attempts": 0,
                "not_before": send.not_before,
                "created_at": now,
                "idempotency_key": f"out-{uuid.uuid4().hex}",
            }
            for message_id, send in zip(message_ids, sends, strict=True)
        ],
    )


def enqueue_callback_answer(
    session: Session, callback_query_id: str, chat_id: str, now: datetime
) -> OutboxItem:
    """Queue Telegram's answerCallbackQuery for a button press (stops the client's spinner).

    Written with the handling of the press; the worker answers it from its own event loop.
    No `messages` row: an acknowledgement is not a message to the person.
    """
    item = OutboxItem(
        message_id=None,
        kind=CALLBACK_ANSWER,
        channel="telegram",
        address=chat_id,
        body=callback_query_id,
        status="queued",
        attempts=0,
        not_before=now,
        created_at=now,
        idempotency_key=f"cbq-{uuid.uuid4().hex}",
    )
    session.add(item)
    return item


def cancel_pending(
    session: Session, participant_id: int, reason: str, *, worker: str | None = None
) -> int:
    """Cancel everything still waiting for a participant (they opted out or were forgotten).

    `worker`: also cancel the rows that worker holds (claimed, not yet sent), so a worker
    that learns of an opt-out mid-batch can drop the rest of that person's rows.
    """
    message_ids = select(Message.id).where(
        Message.participant_id == participant_id, Message.direction == "out"
    )
    waiting = OutboxItem.status == "queued"
    if worker is not None:
        held = (OutboxItem.status == "sending") & (OutboxItem.claimed_by == worker)
        waiting = or_(waiting, held)
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.message_id.in_(message_ids), waiting)
        .values(status="cancelled", last_error=reason, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Message)
        .where(Message.id.in_(message_ids), Message.status == "queued")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def claim(
    session: Session,
    worker: str,
    now: datetime,
    *,
    limit: int = 50,
    lease: timedelta = timedelta(seconds=60),
    channels: tuple[str, ...] | None = None,
) -> list[OutboxItem]:
    """Take up to `limit` due rows for this worker, the head of each address's queue only.

    A row in `sending` whose lease ran out belongs to a worker that died mid-send: it is
    claimable again, and its `last_error` is set to `UNKNOWN_OUTCOME` so that the next
    sender checks the provider first (see `outcome_unknown`). Callback answers are never
    blocked and never block. PostgreSQL skips rows other workers hold; on SQLite the write
    lock does the same job.
    """
    earlier = aliased(OutboxItem)
    blocked = exists().where(
        earlier.channel == OutboxItem.channel,
        earlier.address == OutboxItem.address,
        earlier.id < OutboxItem.id,
        earlier.status.in_(PENDING),
        earlier.kind == MESSAGE,
    )
    free = or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now)
    in_order = or_(OutboxItem.kind != MESSAGE, ~blocked)
    query = (
        select(OutboxItem)
        .where(OutboxItem.status.in_(PENDING), OutboxItem.not_before <= now, free, in_order)
        .order_by(OutboxItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboxItem)
    )
    if channels:
        query = query.where(OutboxItem.channel.in_(channels))
    items = list(session.scalars(query))
    for item in items:
        if item.status == "sending":  # reclaimed: its last attempt never reported back
            item.last_error = f"{UNKNOWN_OUTCOME}: the lease of {item.claimed_by} ran out"
        item.status = "sending"
        item.claimed_by = worker
        item.claimed_until = now + lease
        item.attempts += 1
    session.flush()
    return items


def mark_sent(session: Session, item_id: int, worker: str, provider_id: str, now: datetime) -> bool:
    """Record a send; False if the lease was lost to another worker meanwhile."""
    done = session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id, OutboxItem.claimed_by == worker)
        .where(OutboxItem.status == "sending")
        .values(status="sent", provider_id=provider_id, sent_at=now, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:
        return False
    session.execute(
        update(Message)
        .where(
            Message.id
            == select(OutboxItem.message_id).where(OutboxItem.id == item_id).scalar_subquery()
        )
        .values(status="sent", provider_id=provider_id)
        .execution_options(synchronize_session=False)
    )
    return True


def outcome_unknown(item: OutboxItem) -> bool:
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
        update(OutboxItem)
        .where(OutboxItem.id == item_id, OutboxItem.claimed_by == worker)
        .where(OutboxItem.status == "sending")  # not if cancelled (forgotten) meanwhile
        .values(status="queued", not_before=not_before, claimed_until=None, last_error=error)
        .execution_options(synchronize_session=False)
    )


def mark_failed(session: Session, item_id: int, worker: str, error: str, code: str | None) -> None:
    """Give up on a row for good (a permanent provider error or too many attempts)."""
    done = session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id, OutboxItem.claimed_by == worker)
        .where(OutboxItem.status == "sending")
        .values(status="failed", claimed_until=None, last_error=error)
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:
        return
    session.execute(
        update(Message)
        .where(
            Message.id
            == select(OutboxItem.message_id).where(OutboxItem.id == item_id).scalar_subquery()
        )
        .values(status="failed", error_code=code)
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
                OutboxItem.status.in_(PENDING),
                OutboxItem.not_before <= now,
                or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now),
            )
        )
        or 0
    )
