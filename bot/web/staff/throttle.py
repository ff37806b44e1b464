"""Slow down password guessing: failed sign-ins are counted per email and per client.

After `PER_ACCOUNT` failures for one email, or `PER_CLIENT` from one address, within
`WINDOW`, sign-in is refused (without checking the password) until the oldest of those
failures is older than the window. Refused attempts are not counted, so the lock lifts on
its own; a successful sign-in clears the email's failures. Rows live in the database, so
every web process sees the same counts.

The client address is the connection's (`request.remote_addr`): behind a proxy every
request may share one address, which is why the per-client limit is the looser one.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import SignInFailure

WINDOW = timedelta(minutes=15)
PER_ACCOUNT = 5
PER_CLIENT = 30
#: Failures older than this are deleted whenever a new one is recorded.
KEEP = timedelta(days=1)


def wait_minutes(session: Session, email: str, client: str, now: datetime) -> int:
    """0 when a sign-in may be tried now; else whole minutes until it may.

    Locked while the window holds `limit` failures: the lock lifts when the limit-th most
    recent of them leaves the window.
    """
    waits = []
    for column, value, limit in (
        (SignInFailure.email, email, PER_ACCOUNT),
        (SignInFailure.client, client, PER_CLIENT),
    ):
        nth = session.scalars(
            select(SignInFailure.at)
            .where(column == value, SignInFailure.at > now - WINDOW)
            .order_by(SignInFailure.at.desc())
            .offset(limit - 1)
            .limit(1)
        ).first()
        if nth is not None:
            waits.append(max(1, math.ceil((nth + WINDOW - now).total_seconds() / 60)))
    return max(waits, default=0)


def record_failure(session: Session, email: str, client: str, now: datetime) -> None:
    """Count one failed sign-in (and forget failures older than a day)."""
    session.execute(delete(SignInFailure).where(SignInFailure.at < now - KEEP))
    session.add(SignInFailure(at=now, email=email[:254], client=client[:64]))


def clear(session: Session, email: str) -> None:
    """A successful sign-in: this email's failures no longer count."""
    session.execute(delete(SignInFailure).where(SignInFailure.email == email))
