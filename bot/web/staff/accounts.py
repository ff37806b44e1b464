"""Web accounts: create users, check passwords, list who may sign in.

Passwords are hashed with werkzeug's scrypt (salted, memory-hard) at `PASSWORD_METHOD`,
OWASP's N=2^17, r=8, p=1 (128 MiB, under a second); a hash made at an older, cheaper cost
is replaced at the user's next sign-in (`needs_rehash`, `rehash`). Checking a password for
an email nobody has still runs one scrypt check against a fixed dummy hash, so response
times do not tell which emails have accounts. No Flask here: the `users` command uses it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.people.coordinators import Contact, ContactError, SummaryTime, set_contact
from storage.models import ROLES, AuditEntry, Group, User, UserGroup, WebSession

#: Shortest password accepted (passphrases welcome).
MIN_PASSWORD = 12  # ASVS 4.0.3 2.1.1 (NIST SP 800-63B asks for at least 8)
MAX_PASSWORD = 128  # ASVS 2.1.2: at least 64 allowed, more than 128 refused
#: werkzeug's method string: scrypt with N=2^17, r=8, p=1 (OWASP's recommendation).
PASSWORD_METHOD = "scrypt:131072:8:1"


class AccountError(ValueError):
    """An account cannot be created or changed; the message says what to do instead."""


@dataclass(frozen=True)
class Account:
    """A user as the app and the command line show it (never the password hash)."""

    id: int
    email: str | None  # None: receives alerts and summaries only, cannot sign in
    role: str
    groups: tuple[str, ...]
    created_at: datetime
    name: str | None = None
    channel: str | None = None


def hash_password(password: str) -> str:
    """The scrypt hash of `password`, after checking it is long enough."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"the password is too short: use at least {MIN_PASSWORD} characters "
            "(a few words you can remember work well)"
        )
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password is too long: use at most {MAX_PASSWORD} characters")
    return generate_password_hash(password, method=PASSWORD_METHOD)


def needs_rehash(password_hash: str | None) -> bool:
    """Whether a stored hash was made with another method or cost than `PASSWORD_METHOD`."""
    return password_hash is not None and password_hash.split("$", 1)[0] != PASSWORD_METHOD


def rehash(session: Session, user_id: int, password: str) -> None:
    """Store `password` (just checked) hashed at the current cost."""
    user = session.get(User, user_id)
    if user is not None:
        user.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)


@functools.cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not anyone's password", method=method)


def normalise_email(email: str) -> str:
    """Emails compare without surrounding spaces and letter case."""
    return email.strip().lower()


def check_email(email: str) -> str:
    """The normalised email, or AccountError when it does not look like one."""
    shown = normalise_email(email)
    local, at, domain = shown.partition("@")
    if not (local and at and "." in domain) or any(c.isspace() for c in shown) or len(shown) > 254:
        raise AccountError(f"{email!r} is not an email address; write it like you@example.org")
    return shown


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user whose email and password these are, else None (in about the same time)."""
    user = session.scalars(select(User).where(User.email == normalise_email(email))).first()
    if user is None or user.password_hash is None or len(password) > MAX_PASSWORD:
        check_password_hash(_dummy_hash(PASSWORD_METHOD), password[:MAX_PASSWORD])
        return None
    return user if check_password_hash(user.password_hash, password) else None


def _groups_named(session: Session, names: Sequence[str]) -> list[Group]:
    found = []
    known = {g.name.lower(): g for g in session.scalars(select(Group))}
    for name in names:
        group = known.get(name.strip().lower())
        if group is None:
            listed = ", ".join(sorted(g.name for g in known.values())) or "none yet"
            raise AccountError(
                f"there is no group called {name!r} (groups: {listed}); add it first with "
                f'groundswell groups add "{name}"'
            )
        found.append(group)
    return found


def add_user(
    session: Session,
    email: str,
    role: str,
    password: str,
    groups: Sequence[str],
    *,
    now: datetime,
    actor: str,
    reach: Contact | None = None,
    when: SummaryTime | None = None,
    name: str | None = None,
) -> Account:
    """Create a user; coordinators need at least one group, staff none (they see all).

    A coordinator given a contact (`reach`) also gets their groups' alerts at once and the
    weekly summary at `when`.
    """
    address = check_email(email)
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "coordinator" and not groups:
        raise AccountError("a coordinator sees only their groups: name at least one with --group")
    if role == "staff" and groups:
        raise AccountError("staff see every group; leave out --group (or use --role coordinator)")
    if session.scalar(select(func.count()).select_from(User).where(User.email == address)):
        raise AccountError(
            f"{address} already has an account; to set a new password run "
            f"groundswell users password {address}"
        )
    if role == "staff" and (reach is not None or when is not None):
        raise AccountError(
            "alerts and summaries go to coordinators; leave out the contact for staff"
        )
    chosen = _groups_named(session, groups)
    user = User(
        email=address,
        role=role,
        password_hash=hash_password(password),
        created_at=now,
        name=(name or "").strip() or None,
    )
    session.add(user)
    session.flush()
    if reach is not None or when is not None:
        try:
            set_contact(session, user, reach, when, now=now, actor=actor)
        except ContactError as error:
            raise AccountError(str(error)) from None
    for group in {g.id: g for g in chosen}.values():
        session.add(UserGroup(user_id=user.id, group_id=group.id))
    session.add(
        AuditEntry(at=now, actor=actor, action="added web user", subject=f"{address} ({role})")
    )
    return Account(user.id, address, role, tuple(sorted(g.name for g in chosen)), now)


def set_password(session: Session, email: str, password: str, *, now: datetime, actor: str) -> None:
    """Give a user a new password and sign them out everywhere."""
    user = _user(session, email)
    user.password_hash = hash_password(password)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.add(AuditEntry(at=now, actor=actor, action="set web password", subject=user.email))


def remove_user(session: Session, email: str, *, now: datetime, actor: str) -> None:
    """Delete a user: their group links and sessions go with them."""
    delete_user(session, _user(session, email), now=now, actor=actor)


def delete_user(session: Session, user: User, *, now: datetime, actor: str) -> None:
    """Delete `user` (not the last staff account: nobody could manage the team then)."""
    if user.role == "staff":
        staff = session.scalar(
            select(func.count()).select_from(User).where(User.role == "staff", User.id != user.id)
        )
        if not staff:
            raise AccountError(
                f"{user.email} is the last staff account and cannot be removed; "
                "add another staff account first"
            )
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.execute(delete(UserGroup).where(UserGroup.user_id == user.id))
    session.delete(user)
    session.add(AuditEntry(at=now, actor=actor, action="removed web user", subject=user.shown_name))


def _user(session: Session, email: str) -> User:
    user = session.scalars(select(User).where(User.email == normalise_email(email))).first()
    if user is None:
        raise AccountError(
            f"nobody signs in as {email.strip()!r}; see who does with: groundswell users list"
        )
    return user


def list_users(session: Session) -> list[Account]:
    """Every user by email, with the names of their groups."""
    names: dict[int, list[str]] = {}
    for user_id, name in session.execute(
        select(UserGroup.user_id, Group.name).join(Group, Group.id == UserGroup.group_id)
    ):
        names.setdefault(user_id, []).append(name)
    return [
        Account(
            user.id,
            user.email,
            user.role,
            tuple(sorted(names.get(user.id, []))),
            user.created_at,
            user.name,
            user.channel,
        )
        for user in session.scalars(select(User).order_by(User.email, User.name, User.id))
    ]


def user_count(session: Session) -> int:
    """How many people can sign in (0 on a fresh install: the sign-in page says what to do)."""
    return (
        session.scalar(
            select(func.count()).select_from(User).where(User.password_hash.is_not(None))
        )
        or 0
    )
