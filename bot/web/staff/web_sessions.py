"""Server-side browser sessions: a random token in the cookie, its SHA-256 in the database.

Why not Flask's signed cookie: the database is the one shared state of every web process,
so sessions work across processes with no shared secret to configure, signing out really
ends a session (a copied cookie stops working), and a new password signs a user out
everywhere. Sign-in always starts a brand-new session (no fixation).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import Group, User, UserGroup, WebSession

COOKIE = "groundswell_session"
#: Signed in: ends after this long without a request...
IDLE = timedelta(hours=8)
#: ...and at the latest this long after signing in.
ABSOLUTE = timedelta(days=7)
#: Before sign-in the session only carries the sign-in form's CSRF token.
ANONYMOUS = timedelta(hours=2)
#: `last_seen_at` is written at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Viewer:
    """Who is signed in: staff see every group; coordinators only `group_ids`."""

    user_id: int
    email: str
    role: str
    group_ids: frozenset[int]

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"


@dataclass(frozen=True)
class Current:
    """The session a request arrived with (row id, CSRF token) and its viewer, if any."""

    id: int
    csrf_token: str
    viewer: Viewer | None
    needs_touch: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load(session: Session, token: str | None, now: datetime) -> Current | None:
    """The live session for a cookie token, with its user; None if unknown or expired."""
    if not token or len(token) > 200:
        return None
    row = session.scalars(select(WebSession).where(WebSession.token_hash == _digest(token))).first()
    if row is None or row.expires_at <= now:
        return None
    viewer = None
    if row.user_id is not None:
        user = session.get(User, row.user_id)
        if user is None:
            return None
        ids = frozenset(
            session.scalars(
                select(Group.id)
                .join(UserGroup, UserGroup.group_id == Group.id)
                .where(UserGroup.user_id == user.id)
            )
        )
        viewer = Viewer(user.id, user.email or "", user.role, ids)
    stale = row.user_id is not None and now - row.last_seen_at >= TOUCH_EVERY
    return Current(row.id, row.csrf_token, viewer, stale)


def start(session: Session, user_id: int | None, now: datetime) -> tuple[str, WebSession]:
    """A new session (signed in when `user_id` is given); returns the cookie token and row.

    Expired rows are cleared out here, so the table stays the size of live sessions.
    """
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    lifetime = ANONYMOUS if user_id is None else IDLE
    row = WebSession(
        token_hash=_digest(token),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return token, row


def touch(session: Session, session_id: int, now: datetime) -> None:
    """Slide a signed-in session's idle expiry forward (never past its absolute limit)."""
    row = session.get(WebSession, session_id)
    if row is not None:
        row.last_seen_at = now
        row.expires_at = min(now + IDLE, row.created_at + ABSOLUTE)


def end(session: Session, session_id: int) -> None:
    """Sign out: the row goes, so the cookie (and any copy of it) is worthless."""
    session.execute(delete(WebSession).where(WebSession.id == session_id))
