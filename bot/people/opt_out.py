"""Opting a resident out (and back in): the one place it is done.

STOP to the engine, a refused consent, a provider saying the number has opted out (an
outbox send or a Twilio status callback) and forgetting someone all call `opt_out`: the
participant is marked at once and nothing still waiting for them is sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.database import rows_affected
from storage.models import OUTBOX_HELD, OUTBOX_PENDING, Message, OutboxItem, Participant


def opt_out(session: Session, participant: Participant, now: datetime, reason: str) -> bool:
    """Mark `participant` opted out (if not already) and cancel everything still waiting for
    them, giving `reason` on each cancelled row. True when they were not opted out before.

    A message queued afterwards (the one STOP confirmation) is still sent.
    """
    changed = not participant.opted_out
    if changed:
        participant.opted_out = True
        participant.opted_out_at = now
    cancel_pending(session, participant.id, reason)
    return changed


def opt_in(participant: Participant) -> bool:
    """Take `participant` back (they said START); True when they were opted out."""
    changed = participant.opted_out
    participant.opted_out = False
    participant.opted_out_at = None
    return changed


def cancel_pending(session: Session, participant_id: int, reason: str) -> int:
    """Cancel everything still waiting for a participant (they opted out or were forgotten).

    Rows held for a closed WhatsApp window are cancelled too, and so are rows a worker has
    claimed: the worker checks that it still holds a
    row just before sending it (`holds`), so a STOP stops what was already on its way to
    the provider's door, not only what was still in the queue.
    """
    message_ids = select(Message.id).where(
        Message.participant_id == participant_id, Message.direction == "out"
    )
    result = session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.message_id.in_(message_ids),
            OutboxItem.status.in_((*OUTBOX_PENDING, OUTBOX_HELD)),
        )
        .values(status="cancelled", last_error=reason, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Message)
        .where(Message.id.in_(message_ids), Message.status == "queued")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    return rows_affected(result)
