"""Server-side browser sessions: a random token in the cookie, its SHA-256 in the database.

Why not Flask's signed cookie: the database is the one shared state of every web process,
so sessions work across processes with no shared secret to configure, signing out really
ends a session (a copied cookie stops working), and a new password signs a user out
everywhere. Sign-in always starts a brand-new session (no fixation). Only signed-in
sessions have rows: the sign-in form's CSRF token is a cookie of its own (`SIGN_IN_COOKIE`),
so an anonymous visitor writes nothing to the database.

Over HTTPS the cookies carry the `__Host-` prefix: the browser then only accepts them when
Secure, host-only and for the whole site, so a sibling subdomain cannot plant one.
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
#: The sign-in form's CSRF token (double-submit: the form must echo this cookie's value).
SIGN_IN_COOKIE = "groundswell_sign_in"
HOST_PREFIX = "__Host-"
#: `last_seen_at` is written at most this often (or a sixth of the idle limit if shorter).
TOUCH_EVERY = timedelta(minutes=5)


def cookie_name(base: str, secure: bool) -> str:
    """The cookie's name: `__Host-` prefixed when the site is served over HTTPS."""
    return HOST_PREFIX + base if secure else base


@dataclass(frozen=True)
class Lifetime:
    """How long a signed-in session lives: `idle` without a request, `absolute` at most."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)

    @classmethod
    def of(cls, idle_minutes: int, max_hours: int) -> Lifetime:
        """From the settings' GROUNDSWELL_SESSION_IDLE_MINUTES and _MAX_HOURS."""
        return cls(timedelta(minutes=idle_minutes), timedelta(hours=max_hours))

    @property
    def touch_every(self) -> timedelta:
        return min(TOUCH_EVERY, self.idle / 6)


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
    """The signed-in session a request arrived with: row id, CSRF token and its viewer."""

    id: int
    csrf_token: str
    viewer: Viewer
    needs_touch: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load(
    session: Session, token: str | None, now: datetime, lifetime: Lifetime = Lifetime()
) -> Current | None:
    """The live session for a cookie token, with its user; None if unknown or expired."""
    if not token or len(token) > 200:
        return None
    row = session.scalars(select(WebSession).where(WebSession.token_hash == _digest(token))).first()
    if row is None or row.user_id is None or now >= _ends(row, lifetime):
        return None
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
    stale = now - row.last_seen_at >= lifetime.touch_every
    return Current(row.id, row.csrf_token, viewer, stale)


def _ends(row: WebSession, lifetime: Lifetime) -> datetime:
    """When the session ends: its stored expiry, or sooner if the settings were tightened."""
    return min(row.expires_at, row.last_seen_at + lifetime.idle, row.created_at + lifetime.absolute)


def start(
    session: Session, user_id: int, now: datetime, lifetime: Lifetime = Lifetime()
) -> tuple[str, WebSession]:
    """A new signed-in session for `user_id`; returns the cookie token and row.

    Expired rows are cleared out here, so the table stays the size of live sessions.
    """
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=_digest(token),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + min(lifetime.idle, lifetime.absolute),
    )
    session.add(row)
    session.flush()
    return token, row


def touch(
    session: Session, session_id: int, now: datetime, lifetime: Lifetime = Lifetime()
) -> None:
    """Slide a signed-in session's idle expiry forward (never past its absolute limit)."""
    row = session.get(WebSession, session_id)
    if row is not None:
        row.last_seen_at = now
        row.expires_at = min(now + lifetime.idle, row.created_at + lifetime.absolute)


def end(session: Session, session_id: int) -> None:
    """Sign out: the row goes, so the cookie (and any copy of it) is worthless."""
    session.execute(delete(WebSession).where(WebSession.id == session_id))
