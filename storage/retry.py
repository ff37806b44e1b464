"""One unit of database work in one transaction, run again when it lost a race.

`unit_of_work()` runs any work and retries it when it lost a race with a concurrent request
for the same unique key (two JOIN messages from one new number at once, a deadlock, a
serialisation failure): the retry sees the winner's rows and takes the ordinary path. Any
other error propagates with everything rolled back. Every web write and every inbound message
goes through it.

On SQLite, threads of one process take turns through a lock before they open a write
transaction: SQLite has one writer at a time anyway, and a thread waiting on the lock
wakes the moment it is free, whereas SQLite's own busy handler sleeps in growing steps
(up to 100 ms), which made the slowest answers ten times slower under load.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, TimeoutError
from sqlalchemy.orm import Session, sessionmaker

from storage.database import transaction

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Attempts of one unit of work that lost a race.
ATTEMPTS = 3
#: PostgreSQL SQLSTATEs that mean "run the transaction again": serialisation, deadlock.
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})
#: One SQLite writer per process at a time (see the module docstring).
_SQLITE_WRITER = threading.Lock()


def unit_of_work(
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    work: Callable[[Session, datetime], T],
) -> T:
    """Run `work(session, now)` in one transaction; retry it if it lost a race.

    Each attempt is a fresh transaction with a fresh `now`, so nothing of a failed
    attempt survives.
    """
    turn = _SQLITE_WRITER if _is_sqlite(sessions) else nullcontext()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with turn, transaction(sessions) as session:
                return work(session, clock())
        except DBAPIError as error:
            if attempt == ATTEMPTS or not lost_race(error):
                raise
            log.info("unit of work lost a race (%s); retrying", type(error.orig).__name__)
    raise AssertionError("unreachable")


def _is_sqlite(sessions: sessionmaker[Session]) -> bool:
    bind = sessions.kw.get("bind")
    return bind is not None and bind.dialect.name == "sqlite"


def lost_race(error: DBAPIError) -> bool:
    """A unique key taken meanwhile, a deadlock or a serialisation failure."""
    if isinstance(error, IntegrityError):
        return True
    return getattr(error.orig, "sqlstate", None) in _RETRY_SQLSTATES


def database_unavailable(error: BaseException) -> bool:
    """Connection refused or lost, the pool exhausted, SQLite busy past its timeout:
    worth trying again later, unlike a bug."""
    if isinstance(error, OperationalError | TimeoutError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated
