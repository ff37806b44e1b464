"""Alerts: answers a flow flagged for a coordinator (a step with `alert:`), open first.

Each card shows the question as residents saw it and the answer's label, the pseudonym,
group and time. A coordinator of the group (or staff) may reveal the resident's contact,
once, which is audited, and mark the alert handled: who (their sign-in email), when and an
optional note are recorded and audited. An alert already handled keeps its first handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, request
from sqlalchemy import and_, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.web.context import context
from bot.web.staff import audit
from bot.web.staff.access import alert_or_404, group_filter, viewer
from bot.web.staff.answer_words import flow_of
from bot.web.staff.masking import channel_name, masked
from bot.web.staff.pages import page, redirect_with
from storage.database import transaction
from storage.models import Alert, Answer, ChannelAddress, Group, Participant
from survey_flows.wording import answer_label, question_text

blueprint = Blueprint("alerts", __name__, url_prefix="/alerts")

SHOWN = 200
MAX_NOTE = 2000


@dataclass(frozen=True)
class AlertCard:
    """One alert as its card shows it: in the words residents saw."""

    alert: Alert
    pseudonym: str
    group: str | None
    flow_title: str
    question: str
    answer: str
    contacts: list[tuple[int, str, str]]  # (address id, channel, masked address)


def cards(session: Session, rows: list[Any]) -> list[AlertCard]:
    """The cards of these (alert, pseudonym, group, value, version) rows."""
    ids = [row[0].participant_id for row in rows]
    contacts: dict[int, list[tuple[int, str, str]]] = {}
    for row in session.scalars(
        select(ChannelAddress)
        .where(ChannelAddress.participant_id.in_(ids))
        .order_by(ChannelAddress.id)
    ):
        contacts.setdefault(row.participant_id, []).append(
            (row.id, row.channel, masked(row.channel, row.address))
        )
    out = []
    for alert, pseudonym, group, value, version in rows:
        flow = flow_of(session, version, alert.flow_id)
        out.append(
            AlertCard(
                alert=alert,
                pseudonym=pseudonym,
                group=group,
                flow_title=flow.title if flow else (alert.flow_id or "–"),
                question=question_text(flow, alert.step_id),
                answer=answer_label(flow, alert.step_id, value),
                contacts=contacts.get(alert.participant_id, []),
            )
        )
    return out


def _page(show: str, revealed: dict[int, str] | None = None) -> str:
    who = viewer()
    query = (
        select(Alert, Participant.pseudonym, Group.name, Answer.value, Answer.flow_version)
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
        shown = cards(session, list(rows))
    return page(
        "alerts/index.html",
        cards=shown,
        show=show,
        limit=SHOWN,
        revealed=revealed or {},
    )


@blueprint.get("/")
def index() -> str:
    """Open alerts (or handled ones, or all) of the groups the viewer may see."""
    show = request.args.get("show", "open")
    return _page(show if show in ("open", "handled", "all") else "open")


@blueprint.post("/<int:alert_id>/reveal")
def reveal(alert_id: int) -> str:
    """Show the resident's contact in full, once, to a coordinator of the alert's group (or
    staff), and write who saw it in the audit log."""
    who = viewer()
    address_id = request.form.get("address", "")

    def work(session: Session, now: datetime) -> tuple[int, str]:
        alert = alert_or_404(session, who, alert_id)
        row = session.get(ChannelAddress, int(address_id)) if address_id.isdigit() else None
        if row is None or row.participant_id != alert.participant_id:
            abort(404)
        pseudonym = session.scalar(
            select(Participant.pseudonym).where(Participant.id == alert.participant_id)
        )
        audit.record(
            session,
            now,
            "revealed contact",
            f"{channel_name(row.channel)} of {pseudonym} (alert {alert.id})",
        )
        return row.id, row.address

    shown_id, address = context().write(work)
    show = request.args.get("show", "open")
    return _page(show if show in ("open", "handled", "all") else "open", {shown_id: address})


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
