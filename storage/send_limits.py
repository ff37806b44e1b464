"""Sender limits shared by every worker: one row per limit, taken under a row lock.

Each row holds `next_at`, the earliest moment (seconds since the epoch, on the database's
own clock, so machines with drifting clocks agree) at which the next send under that limit
may go. `reserve` locks the rows of every limit a send falls under (`SELECT ... FOR
UPDATE`, in key order so two workers never deadlock), picks the first moment all of them
allow, and moves each row on by its interval. The caller waits until that moment, then
sends, then `settle`s: the next send is at least an interval after this one really
returned, however late it went. This is a token bucket holding one token (GCRA): sends
under one limit are at least one interval apart, whichever worker or machine makes them.

PostgreSQL only: SQLite has one writer and runs one worker, whose own in-process buckets
(`bot.delivery.rate_limits.Limiter`) are enough.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from storage.database import dialect_insert, rows_affected
from storage.models import SendLimit

#: Rows not used for this long (seconds) are deleted by `forget_idle`: per-chat limits
#: would otherwise pile up, one row per chat ever messaged.
IDLE_SECONDS = 600.0


@dataclass(frozen=True)
class Slot:
    """A send slot: when it is (`at`, database clock), how long from now (`wait`), and
    whether it was taken (False: it was further off than the caller would wait)."""

    at: float
    wait: float
    taken: bool = True


def database_now(session: Session) -> float:
    """Seconds since the epoch on the database server's clock (at the moment of asking)."""
    return float(session.scalar(text("SELECT extract(epoch FROM clock_timestamp())")))


def reserve(
    session: Session, intervals: Mapping[str, float], max_wait: float = float("inf")
) -> Slot:
    """Take the next send slot under every limit in `intervals` (key -> seconds between
    two sends) at once; the slot's `wait` says how long from now it is (0: at once).
    A slot more than `max_wait` seconds off is not taken (`taken` False): the caller
    does something else meanwhile instead of holding up its other sends.

    Call inside a transaction and commit before waiting: the row locks are held only
    while the slot is taken, never while the caller waits or sends.
    """
    keys = sorted(intervals)
    if not keys:
        return Slot(0.0, 0.0)
    session.execute(
        dialect_insert(session)(SendLimit)
        .values([{"key": key, "next_at": 0.0} for key in keys])
        .on_conflict_do_nothing(index_elements=[SendLimit.key])
    )
    held = dict(
        session.execute(
            select(SendLimit.key, SendLimit.next_at)
            .where(SendLimit.key.in_(keys))
            .order_by(SendLimit.key)
            .with_for_update()
        ).all()
    )
    now = database_now(session)  # read after the locks: waiting for them takes time
    slot = max(now, *held.values())
    if slot - now > max_wait:
        return Slot(slot, slot - now, taken=False)
    for key in keys:
        session.execute(
            update(SendLimit).where(SendLimit.key == key).values(next_at=slot + intervals[key])
        )
    return Slot(slot, slot - now)


def settle(session: Session, intervals: Mapping[str, float], done_at: float) -> None:
    """After a send returned at `done_at` (database clock): no next send under these
    limits before `done_at` plus its interval. A send that went out late (a slow machine,
    a slow network) so never has the following one squeezed up against it."""
    for key in sorted(intervals):
        session.execute(
            update(SendLimit)
            .where(SendLimit.key == key, SendLimit.next_at < done_at + intervals[key])
            .values(next_at=done_at + intervals[key])
        )


def forget_idle(session: Session) -> int:
    """Delete limit rows unused for `IDLE_SECONDS` (a fresh row allows a send at once,
    exactly like an idle one); returns how many went."""
    cutoff = database_now(session) - IDLE_SECONDS
    result = session.execute(delete(SendLimit).where(SendLimit.next_at < cutoff))
    return rows_affected(result)
