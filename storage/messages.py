"""Recording messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite

from storage.bulk import Prepared
from storage.models import Message, table_of

_MESSAGES = table_of(Message)
#: An inbound button press is stored as this prefix and the button's value, so transcripts
#: can tell a press from the same text typed (see `bot.web.staff.answer_words`).
BUTTON_PREFIX = "[button] "


def _record(
    insert: Callable[[Table], postgresql.Insert | sqlite.Insert], *returning: Any
) -> Insert:
    """INSERT .. ON CONFLICT (channel, direction, provider_id) DO NOTHING RETURNING .."""
    return (
        insert(_MESSAGES)
        .on_conflict_do_nothing(
            index_elements=[_MESSAGES.c.channel, _MESSAGES.c.direction, _MESSAGES.c.provider_id]
        )
        .returning(*returning)
    )


_KEYS = (
    "direction",
    "channel",
    "provider_id",
    "address",
    "body",
    "participant_id",
    "created_at",
    "checkin_id",
)
# Built once per dialect, run on the DBAPI cursor (every inbound message runs one).
_RECORD_ID = {
    "postgresql": Prepared(_record(postgresql.insert, _MESSAGES.c.id), _KEYS),
    "sqlite": Prepared(_record(sqlite.insert, _MESSAGES.c.id), _KEYS),
}


def record_inbound_id(
    connection: Connection,
    *,
    channel: str,
    provider_id: str | None,
    address: str,
    body: str | None,
    participant_id: int | None,
    created_at: datetime,
    checkin_id: int | None = None,
) -> int | None:
    """Store an inbound message once: the new row's id, or None if this provider id was
    already recorded.

    Providers retry webhooks (Twilio after 15 s, Telegram on any non-2xx), so the caller
    processes the message only when this returns an id. INSERT .. ON CONFLICT DO NOTHING
    on (channel, direction, provider_id) makes concurrent deliveries safe, not just
    sequential ones. A None `provider_id` (e.g. the simulator) is never a duplicate.
    """
    values = _values(channel, provider_id, address, body, participant_id, created_at, checkin_id)
    row = _insert(connection, _RECORD_ID, values)
    return row.id if row is not None else None


def _values(
    channel: str,
    provider_id: str | None,
    address: str,
    body: str | None,
    participant_id: int | None,
    created_at: datetime,
    checkin_id: int | None,
) -> dict[str, Any]:
    return {
        "direction": "in",
        "channel": channel,
        "provider_id": provider_id,
        "address": address,
        "body": body,
        "participant_id": participant_id,
        "created_at": created_at,
        "checkin_id": checkin_id,
    }


def _insert(connection: Connection, statements: dict[str, Prepared], values: dict[str, Any]) -> Any:
    """The new row, or None when this provider id was recorded before."""
    statement = statements.get(connection.dialect.name)
    if statement is None:
        raise NotImplementedError(f"no upsert support for dialect {connection.dialect.name!r}")
    return statement.first(connection, values)
