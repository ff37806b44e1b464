"""The audit log is append-only and hash-chained: editing, deleting or slipping in a row is
found by `verify` (`groundswell audit verify`).

Each row stores `prev_hash`, the `row_hash` of the row before it (`GENESIS` for the first),
and `row_hash`, the SHA-256 of its own content together with that link. Rows are chained
as they are flushed, by a `before_flush` listener on every ORM session, so every writer
(web app, commands, imports) chains its entries without knowing about it. Appends are
serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the write
lock every writing transaction already holds (`BEGIN IMMEDIATE`), so two writers never
chain onto the same row. What a chain cannot show is a cut-off tail (the newest rows
deleted); the viewer shows the newest entry so staff can notice that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

from storage.models import AuditEntry
from storage.types import utcnow

GENESIS = "0" * 64
#: The PostgreSQL advisory lock key that serialises appends (any fixed 64-bit number).
LOCK_KEY = 0x6175646974  # "audit"


def chain_hash(prev_hash: str, at: datetime, actor: str, action: str, subject: str | None) -> str:
    """The hash of one entry's content and its link to the entry before it."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    content = json.dumps(
        [prev_hash, stamp, actor, action, subject], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def lock(session: Session) -> None:
    """Hold the append lock until this transaction ends (PostgreSQL; SQLite holds it)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def head(session: Session) -> str:
    """The newest entry's hash (GENESIS when the log is empty)."""
    newest = session.scalar(select(AuditEntry.row_hash).order_by(AuditEntry.id.desc()).limit(1))
    return newest or GENESIS


@event.listens_for(Session, "before_flush")
def _chain_new_entries(session: Session, _context: Any, _instances: Any) -> None:
    """Chain the entries about to be inserted, in the order they were added."""
    new = [row for row in session.new if isinstance(row, AuditEntry)]
    if not new:
        return
    new.sort(key=lambda row: inspect(row).insert_order or 0)  # set on every pending row
    with session.no_autoflush:
        lock(session)
        previous = head(session)
    for row in new:
        if row.at is None:  # not given: the moment it is written
            row.at = utcnow()
        row.prev_hash = previous
        row.row_hash = chain_hash(previous, row.at, row.actor, row.action, row.subject)
        previous = row.row_hash


@dataclass(frozen=True)
class Break:
    """The first entry where the chain does not hold, and what is wrong there."""

    entry_id: int
    at: datetime
    problem: str


@dataclass(frozen=True)
class Verdict:
    """How many entries were checked and the first break, if any."""

    entries: int
    broken: Break | None


def _rows(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def verify(session: Session) -> Verdict:
    """Walk the chain from the first entry; stop at the first link that does not hold."""
    previous = GENESIS
    count = 0
    for row in _rows(session):
        count += 1
        if row.prev_hash != previous:
            problem = (
                "it does not follow the entry before it: an entry before it was deleted, "
                "or this one was slipped in"
            )
            return Verdict(count, Break(row.id, row.at, problem))
        if row.row_hash != chain_hash(row.prev_hash, row.at, row.actor, row.action, row.subject):
            problem = "its content does not match its hash: it was changed after it was written"
            return Verdict(count, Break(row.id, row.at, problem))
        previous = row.row_hash
    return Verdict(count, None)
