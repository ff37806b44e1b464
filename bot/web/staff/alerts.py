"""Alerts: answers a flow flagged for a coordinator (a step with `alert:`), open first.

Marking one handled records who (their sign-in email), when, and an optional note, and
is audited. An alert already handled keeps its first handler.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, request
from sqlalchemy import and_, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.web.context import context
from bot.web.staff import audit
from bot.web.staff.access import alert_or_404, group_filter, viewer
from bot.web.staff.pages import page, redirect_with
from storage.database import transaction
from storage.models import Alert, Answer, Group, Participant

blueprint = Blueprint("alerts", __name__, url_prefix="/alerts")

SHOWN = 200
MAX_NOTE = 2000


@blueprint.get("/")
def index() -> str:
    """Open alerts (or handled ones, or all) of the groups the viewer may see."""
    who = viewer()
    show = request.args.get("show", "open")
    if show not in ("open", "handled", "all"):
        show = "open"
    query = (
        select(Alert, Participant.pseudonym, Group.name, Answer.value)
        .join(Participant, Participant.id == Alert.participant_id)
        .outerjoin(Group, Group.id == Alert.group_id)
        .outerjoin(
            Answer, and_(Answer.checkin_id == Alert.checkin_id, Answer.step_id == Alert.step_id)
        )
        .where(group_filter(who, Alert.group_id))
    )
    if show == "open":
        query = query.where(Alert.handled_at.is_(None))
    elif show == "handled":
        query = query.where(Alert.handled_at.is_not(None))
    with transaction(context().sessions, readonly=True) as session:
        rows = session.execute(
            query.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(SHOWN)
        ).all()
    return page("alerts/index.html", rows=rows, show=show, limit=SHOWN)


@blueprint.post("/<int:alert_id>/handle")
def handle(alert_id: int) -> Response:
    """Mark the alert handled by the signed-in user, with their note."""
    who = viewer()
    note = request.form.get("note", "").strip()[:MAX_NOTE] or None

    def work(session: Session, now: datetime) -> None:
        alert = alert_or_404(session, who, alert_id)
        if alert.handled_at is not None:
            return
        alert.handled_by = who.email
        alert.handled_at = now
        alert.note = note
        pseudonym = session.scalar(
            select(Participant.pseudonym).where(Participant.id == alert.participant_id)
        )
        audit.record(session, now, "handled alert", f"alert {alert.id} ({pseudonym})")

    context().write(work)
    return redirect_with("staff.alerts.index", "alert-handled")
