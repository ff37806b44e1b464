"""Sender limits shared by every worker: one row per limit, each slot taken in one statement.

Each row holds `next_at`, the earliest moment (seconds since the epoch, on the database's
own clock, so machines with drifting clocks agree) at which the next send under that limit
may go. `reserve` takes a send's slot under every limit it falls under at once: the first
moment all of them allow (`max(now, next_at of each)`), moving each row on to that moment
plus its interval. The caller waits until then, sends, and `settle`s: the next send is at
least an interval after this one really returned, however late it went. This is a token
bucket holding one token (GCRA): sends under one limit are at least one interval apart,
whichever worker or machine makes them.

Why one statement: a limited send used to take four statements and two transactions here
(insert the rows, lock them, read the clock, move each row; then settle), and a worker
spent more time on them than on sending: Telegram reached 9-17 sends/s against its 30/s.
Now the read and the write are one statement and `settle` one more, which the worker runs
in the transaction that marks the row sent.

PostgreSQL: the statement locks the existing rows (`FOR UPDATE`, in key order so two
workers never deadlock), reads the clock after the locks (waiting for them takes time),
and moves them. A row that does not exist yet (the first send to a chat) cannot be locked:
the statement then takes nothing, the rows are inserted, and it runs again (first use
only). SQLite (one writer; `BEGIN IMMEDIATE` holds the lock for the whole transaction) does
the same with one upsert ... RETURNING. Production shares limits through PostgreSQL only
(`bot.delivery.rate_limits.shared_limiter`): on SQLite one worker's own buckets suffice;
both databases run the same guarantee in the tests.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from storage.database import dialect_insert, rows_affected
from storage.models import SendLimit

#: Rows not used for this long (seconds) are deleted by `forget_idle`: per-chat limits
#: would otherwise pile up, one row per chat ever messaged.
IDLE_SECONDS = 600.0
#: Stands in for "wait as long as it takes" (SQL has no portable infinity).
_FOREVER = 1e12


@dataclass(frozen=True)
class Slot:
    """A send slot: when it is (`at`, database clock), how long from now (`wait`), and
    whether it was taken (False: it was further off than the caller would wait)."""

    at: float
    wait: float
    taken: bool = True


def database_now(session: Session) -> float:
    """Seconds since the epoch on the database server's clock (at the moment of asking);
    on SQLite, which runs in this process, this machine's clock."""
    if session.get_bind().dialect.name != "postgresql":
        return time.time()
    return float(session.scalar(text("SELECT extract(epoch FROM clock_timestamp())")))


def _wanted(intervals: Mapping[str, float]) -> tuple[str, dict[str, Any]]:
    """A VALUES list of (key, gap) in key order, and its bind parameters."""
    rows: list[str] = []
    params: dict[str, Any] = {}
    for n, key in enumerate(sorted(intervals)):
        rows.append(f"(CAST(:k{n} AS VARCHAR(100)), CAST(:g{n} AS DOUBLE PRECISION))")
        params[f"k{n}"], params[f"g{n}"] = key, float(intervals[key])
    return ", ".join(rows), params


def reserve(
    session: Session,
    intervals: Mapping[str, float],
    max_wait: float = float("inf"),
    *,
    now: float | None = None,
) -> Slot:
    """Take the next send slot under every limit in `intervals` (key -> seconds between
    two sends) at once; the slot's `wait` says how long from now it is (0: at once).
    A slot more than `max_wait` seconds off is not taken (`taken` False): the caller
    does something else meanwhile instead of holding up its other sends.

    `now` (seconds since the epoch) replaces the database's clock (tests inject one).
    Call inside a transaction and commit before waiting: the row locks are held only
    while the slot is taken, never while the caller waits or sends.
    """
    if not intervals:
        return Slot(0.0, 0.0)
    # A microsecond's slack: a caller asking again exactly `max_wait` before its slot (as
    # `SharedLimiter.try_wait` says to) takes it despite rounding.
    max_wait = min(max_wait, _FOREVER) + 1e-6
    if session.get_bind().dialect.name == "postgresql":
        return _reserve_postgresql(session, intervals, max_wait, now)
    return _reserve_sqlite(session, intervals, max_wait, now)


def _reserve_postgresql(
    session: Session, intervals: Mapping[str, float], max_wait: float, now: float | None
) -> Slot:
    values, params = _wanted(intervals)
    clock = (
        "CAST(:now AS DOUBLE PRECISION)"
        if now is not None
        else "CAST(extract(epoch FROM clock_timestamp()) AS DOUBLE PRECISION)"
    )
    statement = text(
        f"""
        WITH wanted(key, gap) AS (VALUES {values}),
        held AS (
            SELECT send_limits.key, send_limits.next_at FROM send_limits
            WHERE send_limits.key IN (SELECT key FROM wanted)
            ORDER BY send_limits.key
            FOR UPDATE
        ),
        seen AS (SELECT {clock} AS now, max(next_at) AS last, count(*) AS found FROM held),
        slot AS (
            SELECT now, GREATEST(now, COALESCE(last, now)) AS at,
                   found = :keys AND GREATEST(now, COALESCE(last, now)) - now <= :max_wait
                       AS taken
            FROM seen
        ),
        moved AS (
            UPDATE send_limits SET next_at = slot.at + wanted.gap
            FROM wanted, slot
            WHERE send_limits.key = wanted.key AND slot.taken
            RETURNING send_limits.key
        )
        SELECT slot.now, slot.at, slot.taken, (SELECT count(*) FROM moved) AS moved
        FROM slot
        """
    )
    params |= {"keys": len(intervals), "max_wait": max_wait, "now": now}
    clock_now, at, taken, moved = session.execute(statement, params).one()
    if taken:
        assert moved == len(intervals), (moved, len(intervals))
        return Slot(at, at - clock_now)
    if at - clock_now > max_wait:
        return Slot(at, at - clock_now, taken=False)
    # A row was missing (first use of the limit): create it, then take the slot.
    session.execute(
        dialect_insert(session)(SendLimit)
        .values([{"key": key, "next_at": 0.0} for key in sorted(intervals)])
        .on_conflict_do_nothing(index_elements=[SendLimit.key])
    )
    clock_now, at, taken, moved = session.execute(statement, params).one()
    if not taken:
        return Slot(at, at - clock_now, taken=False)
    return Slot(at, at - clock_now)


def _reserve_sqlite(
    session: Session, intervals: Mapping[str, float], max_wait: float, now: float | None
) -> Slot:
    # BEGIN IMMEDIATE: this transaction is the only writer, so no row needs locking.
    current = time.time() if now is None else now
    values, params = _wanted(intervals)
    params |= {"now": current, "max_wait": max_wait}
    slot_sql = (
        "max(:now, COALESCE((SELECT max(next_at) FROM send_limits "
        "WHERE key IN (SELECT key FROM wanted)), :now))"
    )
    moved = session.execute(
        text(
            f"""
            WITH wanted(key, gap) AS (VALUES {values}),
            slot AS (SELECT {slot_sql} AS at)
            INSERT INTO send_limits (key, next_at)
            SELECT wanted.key, slot.at + wanted.gap FROM wanted, slot
            WHERE slot.at - :now <= :max_wait
            ON CONFLICT (key) DO UPDATE SET next_at = excluded.next_at
            RETURNING key, next_at
            """
        ),
        params,
    ).all()
    if moved:
        key, next_at = moved[0]
        at = next_at - intervals[key]
        return Slot(at, at - current)
    at = session.execute(
        text(f"WITH wanted(key, gap) AS (VALUES {values}) SELECT {slot_sql}"), params
    ).scalar_one()
    return Slot(at, at - current, taken=False)


def settle(session: Session, intervals: Mapping[str, float], done_at: float) -> None:
    """After a send returned at `done_at` (database clock): no next send under these
    limits before `done_at` plus its interval. A send that went out late (a slow machine,
    a slow network) so never has the following one squeezed up against it. One statement;
    the worker runs it in the transaction that marks the row sent."""
    if not intervals:
        return
    values, params = _wanted(intervals)
    session.execute(
        text(
            f"""
            WITH wanted(key, gap) AS (VALUES {values})
            UPDATE send_limits SET next_at = CAST(:done AS DOUBLE PRECISION) + wanted.gap
            FROM wanted
            WHERE send_limits.key = wanted.key
              AND send_limits.next_at < CAST(:done AS DOUBLE PRECISION) + wanted.gap
            """
        ),
        params | {"done": done_at},
    )


def forget_idle(session: Session, *, now: float | None = None) -> int:
    """Delete limit rows unused for `IDLE_SECONDS` (a fresh row allows a send at once,
    exactly like an idle one); returns how many went."""
    cutoff = (database_now(session) if now is None else now) - IDLE_SECONDS
    result = session.execute(delete(SendLimit).where(SendLimit.next_at < cutoff))
    return rows_affected(result)
