"""Recording messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from storage.database import dialect_insert
from storage.models import Message


def record_inbound(
    session: Session,
    *,
    channel: str,
    provider_id: str | None,
    address: str,
    body: str | None,
    participant_id: int | None,
    created_at: datetime,
    checkin_id: int | None = None,
) -> Message | None:
    """Store an inbound message once; None if this provider id was already recorded.

    Providers retry webhooks (Twilio after 15 s, Telegram on any non-2xx), so the caller
    processes the message only when this returns a row. INSERT .. ON CONFLICT DO NOTHING on
    (channel, direction, provider_id) makes concurrent deliveries safe, not just sequential
    ones. A None `provider_id` (e.g. the simulator) is never treated as a duplicate.
    """
    insert = dialect_insert(session)
    statement = (
        insert(Message)
        .values(
            direction="in",
            channel=channel,
            provider_id=provider_id,
            address=address,
            body=body,
            participant_id=participant_id,
            created_at=created_at,
            checkin_id=checkin_id,
        )
        .on_conflict_do_nothing(
            index_elements=[Message.channel, Message.direction, Message.provider_id]
        )
        .returning(Message)
    )
    return session.scalars(statement).one_or_none()
