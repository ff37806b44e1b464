"""One inbound message in one unit of work, the same way for webhooks and long polling.

`handle()` runs `bot.checkins.receiving.receive` in a `storage.retry.unit_of_work` and, for a
Telegram button press, queues the answer to the callback query in that same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import InboundMessage
from bot.checkins.receiving import Received, receive
from bot.delivery.outbox import enqueue_callback_answer
from bot.settings import Settings
from storage.flow_versions import Flows
from storage.retry import unit_of_work


def handle(
    sessions: sessionmaker[Session],
    inbound: InboundMessage,
    *,
    library: Flows,
    settings: Settings,
    clock: Callable[[], datetime],
) -> Received:
    """Handle one inbound message exactly once (a redelivery changes nothing)."""

    def work(session: Session, now: datetime) -> Received:
        received = receive(session, inbound, now, library, settings)
        if inbound.callback_query_id and not received.duplicate:
            enqueue_callback_answer(session, inbound.callback_query_id, inbound.address, now)
        return received

    return unit_of_work(sessions, clock, work)


def describe(inbound: InboundMessage, received: Received) -> str:
    """A log line about a handled message: provider id and pseudonym, never text or number."""
    if received.duplicate:
        return f"{inbound.channel} {inbound.provider_id}: redelivery, nothing to do"
    return (
        f"{inbound.channel} {inbound.provider_id}: participant={received.participant or 'unknown'}"
        f" joined={received.joined} replies={received.messages}"
    )
