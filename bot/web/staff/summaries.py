"""Summaries: this week's summary for each of the viewer's groups, exactly as it would be
sent (SMS, WhatsApp and Telegram side by side, the Telegram chart too), and the ones
already sent.

Coordinators see their own groups only; `?group=` naming another group answers 404. The
texts come from `bot.schedule.summaries.summary_message`, the very function the clock
uses, worked out now for the period that ends yesterday.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.channels.segments import sms_segments
from bot.people.coordinators import SIMULATED
from bot.schedule.summaries import summary_message
from bot.web.context import context
from bot.web.staff.access import group_or_404, viewer, visible_groups
from bot.web.staff.masking import channel_name
from bot.web.staff.pages import page
from bot.web.staff.waiting import reasons
from reports.data import ReportData
from storage.database import transaction
from storage.models import Group, OutboxItem, User, UserGroup
from survey_flows.schedules import WEEKDAYS

blueprint = Blueprint("summaries", __name__, url_prefix="/summaries")

#: Sent summaries listed per group.
SENT_SHOWN = 10
#: Every summary starts with these words and the group's name (`reports.summary`).
OPENING = "Groundswell weekly summary, "


@dataclass(frozen=True)
class Sent:
    """A summary already queued or sent: to whom, when, how far it got."""

    at: datetime
    channel: str
    to: str
    status: str
    body: str
    why: str | None  # why it is still waiting (`bot.web.staff.waiting`), if it is


@dataclass(frozen=True)
class GroupSummary:
    """One group's summary as each channel carries it, and who receives it."""

    group: Group
    sms: str
    sms_segments: int
    whatsapp: str
    telegram: str
    chart: str | None  # data: URI of the PNG
    recipients: list[str]
    sent: list[Sent]


def _recipients(session: Session, group_id: int) -> list[tuple[User, str]]:
    """The group's coordinators with a contact, and when their summary comes."""
    people = session.scalars(
        select(User)
        .join(UserGroup, UserGroup.user_id == User.id)
        .where(UserGroup.group_id == group_id, User.role == "coordinator")
        .order_by(User.name, User.email)
    )
    out = []
    for person in people:
        if person.channel is None:
            how = "sees it here only (no phone, WhatsApp or Telegram on their account)"
        elif person.channel == SIMULATED:
            how = "on the Simulator's test phone (a staff test)"
        else:
            day = WEEKDAYS[person.summary_weekday].capitalize()
            how = f"by {channel_name(person.channel)}, {day}s at {person.summary_time}"
        out.append((person, f"{person.shown_name}: {how}"))
    return out


def _sent(session: Session, group: Group, now: datetime) -> list[Sent]:
    """The latest summaries of `group` in the outbox (they open with its name)."""
    rows = list(
        session.scalars(
            select(OutboxItem)
            .where(OutboxItem.body.like(f"{OPENING}{group.name},%"))
            .order_by(OutboxItem.created_at.desc(), OutboxItem.id.desc())
            .limit(SENT_SHOWN)
        )
    )
    why = reasons(session, [r.message_id for r in rows if r.message_id], now, context())
    return [
        Sent(
            row.created_at,
            row.channel,
            row.address,
            row.status,
            row.body,
            why.get(row.message_id) if row.message_id else None,
        )
        for row in rows
    ]


def group_summary(group: Group, now: datetime) -> GroupSummary:
    """`group`'s summary now, each channel's way, with its recipients and what was sent."""
    ctx = context()
    threshold = ctx.settings.suppression_threshold
    loaded: dict[tuple[Any, ...], ReportData] = {}  # the answers are read once for all three

    def message(channel: str) -> tuple[str, bytes | None]:
        return summary_message(
            ctx.sessions,
            ctx.library,
            group.id,
            now,
            channel=channel,
            threshold=threshold,
            loaded=loaded,
        )

    sms, _ = message("sms")
    whatsapp, _ = message("whatsapp")
    telegram, png = message("telegram")
    with transaction(ctx.sessions, readonly=True) as session:
        people = _recipients(session, group.id)
        sent = _sent(session, group, now)
    chart = "data:image/png;base64," + base64.b64encode(png).decode() if png else None
    return GroupSummary(
        group,
        sms,
        sms_segments(sms),
        whatsapp,
        telegram,
        chart,
        [line for _, line in people],
        sent,
    )


@blueprint.get("/")
def index() -> str:
    """This week's summary of each group the viewer may see (or the one `?group=` names)."""
    who = viewer()
    ctx = context()
    wanted = request.args.get("group", "").strip()
    with transaction(ctx.sessions, readonly=True) as session:
        choices = visible_groups(session, who)
        if wanted:
            if not wanted.isdigit():
                abort(404)
            chosen = [group_or_404(session, who, int(wanted))]
        else:
            chosen = choices
    now = ctx.clock()
    return page(
        "summaries/index.html",
        summaries=[group_summary(group, now) for group in chosen],
        groups=choices,
        wanted=wanted,
        now=now,
    )
