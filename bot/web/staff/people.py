"""Reading participants for the pages: the filtered list, and one person's whole record.

Every query is limited to the groups the viewer may see (`access.group_filter`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from bot.web.staff.access import group_filter
from bot.web.staff.answer_words import CHECKIN_WORDS, ShownAnswer, flow_of, shown_answers
from bot.web.staff.web_sessions import Viewer
from storage.models import (
    Alert,
    Answer,
    ChannelAddress,
    Checkin,
    Enrolment,
    Group,
    Participant,
)
from survey_flows.wording import question_text

PAGE_SIZE = 50
#: Channels whose address is a phone number: a staff search by number looks in both.
PHONE_CHANNELS = ("sms", "whatsapp")


@dataclass(frozen=True)
class Filters:
    """What the participants list is narrowed to (empty strings mean "any")."""

    q: str = ""
    group: str = ""  # a group id, or "none" for people in no group
    channel: str = ""
    language: str = ""
    status: str = ""  # "in", "out" or "forgotten"
    page: int = 1


@dataclass(frozen=True)
class Row:
    """One line of the participants list."""

    id: int
    pseudonym: str
    name: str | None
    group: str | None
    channels: tuple[str, ...]
    language: str | None
    opted_out: bool
    forgotten: bool
    last_answer_at: datetime | None


@dataclass
class Listing:
    """A page of rows and how many match in all."""

    rows: list[Row] = field(default_factory=list)
    total: int = 0
    page: int = 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _where(who: Viewer, filters: Filters, phone: str | None) -> list[Any]:
    clauses: list[Any] = [group_filter(who, Participant.group_id)]
    text = filters.q.strip()
    if phone is not None:
        clauses.append(
            exists().where(
                ChannelAddress.participant_id == Participant.id,
                ChannelAddress.channel.in_(PHONE_CHANNELS),
                ChannelAddress.address == phone,
            )
        )
    elif text:
        wanted = text.lower()
        clauses.append(
            or_(
                func.lower(Participant.pseudonym).contains(wanted, autoescape=True),
                func.lower(Participant.name).contains(wanted, autoescape=True),
            )
        )
    if filters.group == "none":
        clauses.append(Participant.group_id.is_(None))
    elif filters.group.isdigit():
        clauses.append(Participant.group_id == int(filters.group))
    if filters.channel:
        clauses.append(
            exists().where(
                ChannelAddress.participant_id == Participant.id,
                ChannelAddress.channel == filters.channel,
            )
        )
    if filters.language:
        clauses.append(Participant.language == filters.language)
    if filters.status == "in":
        clauses += [Participant.opted_out.is_(False), Participant.forgotten_at.is_(None)]
    elif filters.status == "out":
        clauses.append(Participant.opted_out.is_(True))
    elif filters.status == "forgotten":
        clauses.append(Participant.forgotten_at.is_not(None))
    return clauses


def listing(session: Session, who: Viewer, filters: Filters, phone: str | None) -> Listing:
    """The page of participants matching `filters` (a phone search when `phone` is given)."""
    clauses = _where(who, filters, phone)
    total = session.scalar(select(func.count()).select_from(Participant).where(*clauses)) or 0
    page = max(1, filters.page)
    people = session.execute(
        select(Participant, Group.name)
        .outerjoin(Group, Group.id == Participant.group_id)
        .where(*clauses)
        .order_by(Participant.pseudonym)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    ids = [person.id for person, _ in people]
    channels: dict[int, list[str]] = {}
    for pid, channel in session.execute(
        select(ChannelAddress.participant_id, ChannelAddress.channel)
        .where(ChannelAddress.participant_id.in_(ids))
        .order_by(ChannelAddress.channel)
    ):
        channels.setdefault(pid, []).append(channel)
    last = dict(
        session.execute(
            select(Answer.participant_id, func.max(Answer.answered_at))
            .where(Answer.participant_id.in_(ids))
            .group_by(Answer.participant_id)
        ).all()
    )
    rows = [
        Row(
            person.id,
            person.pseudonym,
            person.name,
            group_name,
            tuple(channels.get(person.id, [])),
            person.language,
            person.opted_out,
            person.forgotten_at is not None,
            last.get(person.id),
        )
        for person, group_name in people
    ]
    return Listing(rows, total, page)


def languages(session: Session, who: Viewer) -> list[str]:
    """The languages visible participants have, for the filter."""
    return [
        language
        for language in session.scalars(
            select(Participant.language)
            .where(Participant.language.is_not(None), group_filter(who, Participant.group_id))
            .distinct()
            .order_by(Participant.language)
        )
        if language
    ]


@dataclass(frozen=True)
class CheckinEntry:
    """One check-in on a person's timeline, in the words residents saw: the flow's title,
    its status in words, each answer's question and label, and the questions alerted on."""

    checkin: Checkin
    flow_title: str
    status: str
    answers: list[ShownAnswer]
    alerts: list[tuple[Alert, str]]


def timeline(session: Session, participant_id: int, limit: int = 50) -> list[CheckinEntry]:
    """The person's latest check-ins, newest first, each with its answers and alerts."""
    checkins = list(
        session.scalars(
            select(Checkin)
            .where(Checkin.participant_id == participant_id)
            .order_by(Checkin.started_at.desc(), Checkin.id.desc())
            .limit(limit)
        )
    )
    ids = [c.id for c in checkins]
    answers: dict[int, list[Answer]] = {}
    for answer in session.scalars(
        select(Answer)
        .where(Answer.checkin_id.in_(ids))
        .order_by(Answer.answered_at, Answer.id, Answer.part)
    ):
        answers.setdefault(answer.checkin_id, []).append(answer)
    alerts: dict[int, list[Alert]] = {}
    for alert in session.scalars(select(Alert).where(Alert.checkin_id.in_(ids))):
        if alert.checkin_id is not None:
            alerts.setdefault(alert.checkin_id, []).append(alert)
    entries = []
    for c in checkins:
        flow = flow_of(session, c.flow_version, c.flow_id)
        entries.append(
            CheckinEntry(
                checkin=c,
                flow_title=flow.title if flow is not None else c.flow_id,
                status=CHECKIN_WORDS.get(c.status, c.status),
                answers=shown_answers(session, answers.get(c.id, [])),
                alerts=[(a, question_text(flow, a.step_id)) for a in alerts.get(c.id, [])],
            )
        )
    return entries


def enrolments(session: Session, participant_id: int) -> list[Enrolment]:
    """The person's enrolments, by flow."""
    return list(
        session.scalars(
            select(Enrolment)
            .where(Enrolment.participant_id == participant_id)
            .order_by(Enrolment.flow_id)
        )
    )


def addresses(session: Session, participant_id: int) -> list[ChannelAddress]:
    """The person's channel addresses (none once forgotten)."""
    return list(
        session.scalars(
            select(ChannelAddress)
            .where(ChannelAddress.participant_id == participant_id)
            .order_by(ChannelAddress.channel)
        )
    )
