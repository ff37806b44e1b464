"""Slow down password guessing: failed sign-ins are counted per account and per client.

- Per account: after `PER_ACCOUNT` failures for one email within `WINDOW`, that email's
  sign-in is refused (without checking the password) until the oldest of them leaves the
  window. Only failures typed against that email count, so guesses at made-up emails
  never lock a real account.
- Per client: a client address (the real one, from the trusted proxy's X-Forwarded-For;
  see `GROUNDSWELL_TRUSTED_PROXIES`) gets `CLIENT_FREE` failures in the window; after that
  it must wait between attempts, twice as long after each further failure, never more
  than `CLIENT_MAX_WAIT`. That slows spraying across many accounts to a crawl but never
  locks out a real user who shares the address: they wait at most a minute.

Every attempt is counted as a failure *before* its password is checked, under a lock on
a per-account row and a per-client row (`sign_in_locks`, taken with an UPDATE, which
holds the row until commit on PostgreSQL; SQLite's write lock already serialises the
transaction), so parallel guesses are counted one after another and never overtake the
limit. Refused attempts are not counted, so the limits lift on their own; a successful
sign-in clears the email's failures. Rows live in the database, so every web process
sees the same counts.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.database import dialect_insert
from storage.models import SignInFailure, SignInLock

WINDOW = timedelta(minutes=15)
PER_ACCOUNT = 5
#: Failures a client may make in the window before it must wait between attempts.
CLIENT_FREE = 10
CLIENT_MAX_WAIT = timedelta(seconds=60)
#: Failures (and unused lock rows) older than this are deleted whenever one is recorded.
KEEP = timedelta(days=1)


def _lock(session: Session, key: str, now: datetime) -> None:
    """Hold the lock row `key` until this transaction ends (creating it if need be)."""
    for _ in range(3):  # the row may be cleared out between the insert and the update
        session.execute(
            dialect_insert(session)(SignInLock)
            .values(key=key, used_at=now)
            .on_conflict_do_nothing(index_elements=[SignInLock.key])
        )
        held = session.execute(
            update(SignInLock)
            .where(SignInLock.key == key)
            .values(used_at=now)
            .returning(SignInLock.key)
        ).first()
        if held is not None:
            return
    raise RuntimeError(f"could not lock sign-in row {key!r}")


def _account_wait(session: Session, email: str, now: datetime) -> timedelta:
    nth = session.scalars(
        select(SignInFailure.at)
        .where(SignInFailure.email == email, SignInFailure.at > now - WINDOW)
        .order_by(SignInFailure.at.desc())
        .offset(PER_ACCOUNT - 1)
        .limit(1)
    ).first()
    return nth + WINDOW - now if nth is not None else timedelta(0)


def _client_wait(session: Session, client: str, now: datetime) -> timedelta:
    count, last = session.execute(
        select(func.count(), func.max(SignInFailure.at)).where(
            SignInFailure.client == client, SignInFailure.at > now - WINDOW
        )
    ).one()
    if count < CLIENT_FREE or last is None:
        return timedelta(0)
    pause = min(timedelta(seconds=2 ** min(count - CLIENT_FREE, 16)), CLIENT_MAX_WAIT)
    return last + pause - now


def attempt(session: Session, email: str, client: str, now: datetime) -> int:
    """Seconds until a sign-in for `email` from `client` may be tried (0: now).

    When it may be tried now, the attempt is counted as a failure before returning (a
    successful sign-in then `clear`s it), all under the account's and client's locks.
    """
    email, client = email[:254], client[:64]
    _lock(session, f"account:{email}", now)  # always account first, then client: no deadlock
    _lock(session, f"client:{client}", now)
    wait = max(_account_wait(session, email, now), _client_wait(session, client, now))
    seconds = max(0, math.ceil(wait.total_seconds()))
    if not seconds:
        session.execute(delete(SignInFailure).where(SignInFailure.at < now - KEEP))
        unused = (
            select(SignInLock.key)
            .where(SignInLock.used_at < now - KEEP)
            .with_for_update(skip_locked=True)  # a row someone holds is in use: leave it
        )
        session.execute(delete(SignInLock).where(SignInLock.key.in_(unused)))
        session.add(SignInFailure(at=now, email=email, client=client))
    return seconds


def clear(session: Session, email: str) -> None:
    """A successful sign-in: this email's failures no longer count."""
    session.execute(delete(SignInFailure).where(SignInFailure.email == email[:254]))


def describe_wait(seconds: int) -> str:
    """ "30 seconds", "a minute", "12 minutes": how long to wait, in words."""
    if seconds < 60:
        return "a second" if seconds == 1 else f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return "a minute" if minutes == 1 else f"{minutes} minutes"
