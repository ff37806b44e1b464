"""WhatsApp's 24-hour customer-service window, as the host applies it.

WhatsApp lets a business send free-form messages only within 24 hours of the person's
last message to it; outside that it may send only a pre-approved template. The engine
knows nothing of this (it is pure and channel-blind): its messages are held or replaced
here, in the host, the way goflow's hosts apply the events an engine returns.

- Every inbound WhatsApp message records its number's last inbound time
  (`whatsapp_windows`), in the transaction that stores the message (`record_inbound`).
- `window_open` is the rule itself, on an injected moment.
- A message due while the window is closed is queued "held" behind the approved template
  its caller names (`bot.delivery.outbox.Opening`): a check-in opens with the check-in
  template only, a reminder with the reminder template, a coordinator's alert with theirs.
- When the person writes, `release_held` queues what was held for them (what belongs to a
  check-in that has closed meanwhile is cancelled) and drops a template not yet sent. The
  message that opened the window is not an answer to the first question
  (`bot.checkins.receiving`).
- A free-form send WhatsApp refuses with 63016 (the window closed after it was queued) is
  held the same way and the template sent instead (`bot.delivery.outbox.hold_for_window`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from storage.database import dialect_insert
from storage.models import OUTBOX_HELD, OUTBOX_PENDING, Checkin, Message, OutboxItem, WhatsAppWindow

CHANNEL = "whatsapp"
#: How long after a person's last message free-form messages may be sent.
WINDOW = timedelta(hours=24)
#: Margin kept before the window closes: a message queued this close to the end may reach
#: WhatsApp after it, so it counts as outside.
MARGIN = timedelta(minutes=5)


def window_open(last_inbound_at: datetime | None, at: datetime) -> bool:
    """Whether a free-form message may go at `at` to someone who last wrote at
    `last_inbound_at` (None: never wrote)."""
    return last_inbound_at is not None and at < last_inbound_at + WINDOW - MARGIN


def last_inbound(session: Session, addresses: Collection[str]) -> dict[str, datetime]:
    """address -> when that WhatsApp number last wrote to us (numbers that never did are
    missing)."""
    if not addresses:
        return {}
    rows = session.execute(
        select(WhatsAppWindow.address, WhatsAppWindow.last_inbound_at).where(
            WhatsAppWindow.address.in_(list(set(addresses)))
        )
    )
    return {address: at for address, at in rows}


def record_inbound(session: Session, address: str, now: datetime) -> None:
    """The number `address` wrote to us at `now`: its window is open for 24 hours from now
    (never moved back by a message handled late)."""
    insert = dialect_insert(session)(WhatsAppWindow).values(address=address, last_inbound_at=now)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[WhatsAppWindow.address],
            set_={
                "last_inbound_at": case(
                    (
                        WhatsAppWindow.last_inbound_at < insert.excluded.last_inbound_at,
                        insert.excluded.last_inbound_at,
                    ),
                    else_=WhatsAppWindow.last_inbound_at,
                )
            },
        )
    )


def checkins_with_held(session: Session, checkin_ids: Collection[int]) -> set[int]:
    """Which of these check-ins have WhatsApp messages held, waiting for the person."""
    if not checkin_ids:
        return set()
    return set(
        session.scalars(
            select(Message.checkin_id)
            .join(OutboxItem, OutboxItem.message_id == Message.id)
            .where(Message.checkin_id.in_(list(checkin_ids)), OutboxItem.status == OUTBOX_HELD)
            .distinct()
        )
    )


def waiting_templates(session: Session, addresses: Collection[str]) -> set[str]:
    """Which of these numbers already have a template waiting to go (one invitation is
    enough)."""
    if not addresses:
        return set()
    return set(
        session.scalars(
            select(OutboxItem.address).where(
                OutboxItem.channel == CHANNEL,
                OutboxItem.address.in_(list(addresses)),
                OutboxItem.kind == "template",
                OutboxItem.status.in_(OUTBOX_PENDING),
            )
        )
    )


def release_held(session: Session, address: str, now: datetime) -> set[int]:
    """The number `address` wrote: queue what was held for it, due now; returns the ids
    of the open check-ins whose messages were released.

    Held messages of a check-in that ended meanwhile (expired, superseded) are cancelled,
    and a template still waiting to go is dropped: the window is open, it is not needed.
    """
    held = session.execute(
        select(OutboxItem.id, OutboxItem.message_id, Message.checkin_id, Checkin.status)
        .join(Message, OutboxItem.message_id == Message.id)
        .outerjoin(Checkin, Checkin.id == Message.checkin_id)
        .where(
            OutboxItem.channel == CHANNEL,
            OutboxItem.address == address,
            OutboxItem.status == OUTBOX_HELD,
        )
        .with_for_update(of=OutboxItem)
    ).all()
    release = [r for r in held if r.checkin_id is None or r.status == "active"]
    stale = [r for r in held if r not in release]
    unsent = session.execute(
        select(OutboxItem.id, OutboxItem.message_id).where(
            OutboxItem.channel == CHANNEL,
            OutboxItem.address == address,
            OutboxItem.kind == "template",
            OutboxItem.status == "queued",
        )
    ).all()
    if release:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_([r.id for r in release]))
            .values(status="queued", not_before=now)
            .execution_options(synchronize_session=False)
        )
    _cancel(session, [*stale, *unsent], "not needed: the person wrote, the window is open")
    return {r.checkin_id for r in release if r.checkin_id is not None}


def _cancel(session: Session, rows: Collection[Any], reason: str) -> None:
    if not rows:
        return
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_([r.id for r in rows]))
        .values(status="cancelled", last_error=reason, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Message)
        .where(Message.id.in_([r.message_id for r in rows if r.message_id is not None]))
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
