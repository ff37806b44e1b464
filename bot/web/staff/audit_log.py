"""The audit log page (staff only): newest entries first, and whether the chain holds.

Entries name people by pseudonym and staff by sign-in email; the page is read-only, as the
log is (see `storage.audit`).
"""

from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy import select

from bot.web.context import context
from bot.web.staff.access import require_staff
from bot.web.staff.pages import page
from storage import audit
from storage.database import transaction
from storage.models import AuditEntry

blueprint = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 100


@blueprint.before_request
def _staff_only() -> None:
    require_staff()


@blueprint.get("/")
def index() -> str:
    """A page of entries, newest first (`?before=ID` for older ones), and the chain's check."""
    before = request.args.get("before", type=int)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE_SIZE + 1)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    with transaction(context().sessions, readonly=True) as session:
        rows = session.scalars(query).all()
        verdict = audit.verify(session)
    older = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return page("audit/index.html", entries=rows[:PAGE_SIZE], verdict=verdict, older=older)
