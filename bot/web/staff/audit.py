"""The audit log from the web app: who did what sensitive thing, by their sign-in email."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.web.context import context
from bot.web.staff.access import viewer
from storage.models import AuditEntry


def record(session: Session, now: datetime, action: str, subject: str | None) -> None:
    """Add an entry inside the caller's transaction (it commits with the change itself)."""
    session.add(AuditEntry(at=now, actor=viewer().email, action=action, subject=subject))


def write(action: str, subject: str | None) -> None:
    """Add an entry in a transaction of its own (for changes outside the database)."""
    actor = viewer().email

    def work(session: Session, now: datetime) -> None:
        session.add(AuditEntry(at=now, actor=actor, action=action, subject=subject))

    context().write(work)
