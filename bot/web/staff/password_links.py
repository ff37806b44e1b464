"""One-time links to set a password: staff make one, the person opens it and chooses theirs.

The link carries the user id, an expiry and an HMAC keyed with the user's current password
hash, so it needs no table and no shared secret: it stops working once used (the password,
and so the key, changes), when it expires, or when a newer password is set another way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from storage.models import User

#: How long a link works.
VALID_FOR = timedelta(days=3)


def _mac(user: User, expires: int) -> str:
    key = (user.password_hash or "").encode()
    return hmac.new(key, f"{user.id}.{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def make(user: User, now: datetime) -> str:
    """The token of a new link for `user` (who must have a password hash, usable or not)."""
    expires = int((now + VALID_FOR).timestamp())
    raw = f"{user.id}.{expires}.{_mac(user, expires)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def user_of(session: Session, token: str, now: datetime) -> User | None:
    """The user this token lets set a password, or None (unknown, used, expired, forged)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        user_id, expires, mac = raw.split(".")
        user = session.get(User, int(user_id))
        deadline = int(expires)
    except (ValueError, UnicodeDecodeError):
        return None
    if user is None or user.password_hash is None or deadline < now.timestamp():
        return None
    return user if hmac.compare_digest(mac, _mac(user, deadline)) else None
