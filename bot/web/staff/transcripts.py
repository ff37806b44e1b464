"""The Conversations pages (transcripts): who wrote lately, and one participant's
transcript, in and out, with each outbound message's delivery status (and, while it
waits, why: `waiting`). Resident text is
always shown escaped (Jinja autoescaping; nothing here is marked safe)."""

from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy import func, select

from bot.web.context import context
from bot.web.staff.access import group_filter, participant_or_404, viewer
from bot.web.staff.answer_words import button_words
from bot.web.staff.pages import page
from bot.web.staff.waiting import reasons
from storage.database import transaction
from storage.models import Group, Message, Participant

blueprint = Blueprint("conversations", __name__, url_prefix="/conversations")

PAGE_SIZE = 50
#: The transcript shows this many of the latest messages.
TRANSCRIPT_LIMIT = 500
STATUS_WORDS = {
    "queued": "waiting to be sent",
    "sending": "being sent",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "not delivered",
    "failed": "failed",
    "cancelled": "cancelled",
}


@blueprint.get("/")
def index() -> str:
    """Participants by their latest message, newest first."""
    who = viewer()
    page_no = int(request.args["page"]) if request.args.get("page", "").isdigit() else 1
    page_no = max(1, page_no)
    latest = (
        select(
            Message.participant_id.label("pid"),
            func.max(Message.created_at).label("last_at"),
            func.count().label("messages"),
        )
        .where(Message.participant_id.is_not(None))
        .group_by(Message.participant_id)
        .subquery()
    )
    query = (
        select(Participant, Group.name, latest.c.last_at, latest.c.messages)
        .join(latest, latest.c.pid == Participant.id)
        .outerjoin(Group, Group.id == Participant.group_id)
        .where(group_filter(who, Participant.group_id))
    )
    with transaction(context().sessions, readonly=True) as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.order_by(latest.c.last_at.desc(), Participant.id)
            .offset((page_no - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        ).all()
    pages = max(1, -(-total // PAGE_SIZE))
    return page("conversations/index.html", rows=rows, page_no=page_no, pages=pages, total=total)


@blueprint.get("/<int:participant_id>")
def show(participant_id: int) -> str:
    """The transcript: every message to and from the person, oldest first."""
    who = viewer()
    ctx = context()
    with transaction(ctx.sessions, readonly=True) as session:
        person = participant_or_404(session, who, participant_id)
        messages = list(
            session.scalars(
                select(Message)
                .where(Message.participant_id == person.id)
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(TRANSCRIPT_LIMIT)
            )
        )
        waiting = reasons(
            session, [m.id for m in messages if m.direction == "out"], ctx.clock(), ctx
        )
        pressed = button_words(session, messages)
    messages.reverse()
    return page(
        "conversations/show.html",
        waiting=waiting,
        person=person,
        messages=messages,
        limit=TRANSCRIPT_LIMIT,
        status_words=STATUS_WORDS,
        pressed=pressed,
    )
