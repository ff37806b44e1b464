"""WhatsApp's 24-hour customer-service window, as the host applies it.

WhatsApp lets a business send free-form messages only within 24 hours of the person's
last message to it; outside that it may send only a pre-approved template. The engine
knows nothing of this (it is pure and channel-blind): its messages are held or replaced
here, in the host, the way goflow's hosts apply the events an engine returns.

- Every inbound WhatsApp message records its number's last inbound time
  (`whatsapp_windows`), in the transaction that stores the message (`record_inbound`).
- `window_open` is the rule itself, on an injected moment.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from storage.database import dialect_insert
from storage.models import WhatsAppWindow

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
