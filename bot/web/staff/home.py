"""`/`: send each person to where their work is.

Staff on a fresh or laptop install (no participants yet, or no SMS, WhatsApp or Telegram
set up, as after `make run`) land on the simulator, to try a flow at once; otherwise on the
participants list. Coordinators land on their open alerts if any, else their reports.
"""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from sqlalchemy import exists, select
from werkzeug.wrappers import Response

from bot.web.context import context
from bot.web.staff.access import group_filter, viewer
from storage.database import transaction
from storage.models import Alert, Participant

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
def home() -> Response:
    """Redirect to the landing page for this viewer."""
    ctx = context()
    who = viewer()
    with transaction(ctx.sessions, readonly=True) as session:
        if who.is_staff:
            no_people = not session.scalar(select(exists().where(Participant.id.is_not(None))))
            laptop = not (
                ctx.twilio.configured or ctx.twilio.whatsapp_configured or ctx.telegram.configured
            )
            target = "staff.simulator.index" if no_people or laptop else "staff.participants.index"
        else:
            open_alerts = session.scalar(
                select(
                    exists().where(Alert.handled_at.is_(None), group_filter(who, Alert.group_id))
                )
            )
            target = "staff.alerts.index" if open_alerts else "staff.reports.index"
    return redirect(url_for(target), code=303)
