"""The Simulator playing a coordinator: a second test phone that gets a group's alerts and
its weekly summary, with no SMS or Telegram credentials.

Each member of staff may play one coordinator at a time: a `users` row with no sign-in,
its contact on the simulator channel (`SIMULATED`, address "coordinator-<user id>"),
coordinating the group they chose. Everything reaches it the real way: an alert raised by
anyone in that group is queued to it by `bot.checkins.alerts` like to any coordinator, and
"send this week's summary now" queues `bot.schedule.summaries.send_now`'s texts; the
worker's simulator sender marks them sent. While playing, the staff member's test resident
belongs to that group too, so their answers can raise its alerts; a test resident's alerts
go to simulated coordinators only, never to a real one.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from bot.people.coordinators import SIMULATED, Contact, set_contact, set_groups
from bot.web.staff.access import visible_groups
from bot.web.staff.web_sessions import Viewer
from storage.models import Group, Message, OutboxItem, Participant, User, UserGroup

#: The coordinator's phone shows this many of its latest messages.
SHOWN = 100


def coordinator_address(who: Viewer) -> str:
    """The address of the coordinator's test phone for this member of staff."""
    return f"coordinator-{who.user_id}"


def played(session: Session, who: Viewer) -> User | None:
    """The coordinator this member of staff plays, if any."""
    return session.scalars(
        select(User).where(User.channel == SIMULATED, User.address == coordinator_address(who))
    ).first()


def play(session: Session, who: Viewer, group: Group, tester: Participant, now: datetime) -> User:
    """Play a coordinator of `group` (only): made on first use, audited like any contact.

    The test resident joins `group`, so their answers raise its alerts.
    """
    coordinator = played(session, who)
    if coordinator is None:
        coordinator = User(
            email=None,
            name=f"Simulated coordinator ({who.email})",
            role="coordinator",
            created_at=now,
        )
        session.add(coordinator)
        set_contact(
            session,
            coordinator,
            Contact(SIMULATED, coordinator_address(who)),
            None,
            now=now,
            actor=who.email,
        )
        session.flush()
    set_groups(session, coordinator, [group])
    tester.group_id = group.id
    return coordinator


def forget_phone(session: Session, address: str) -> None:
    """Delete the messages and outbox rows of one simulator address."""
    message_ids = select(Message.id).where(Message.channel == SIMULATED, Message.address == address)
    session.execute(
        delete(OutboxItem).where(
            or_(
                OutboxItem.message_id.in_(message_ids),
                (OutboxItem.channel == SIMULATED) & (OutboxItem.address == address),
            )
        )
    )
    session.execute(delete(Message).where(Message.id.in_(message_ids)))


def stop(session: Session, who: Viewer, tester: Participant | None) -> None:
    """Stop playing: the simulated coordinator and its phone's messages go; the test
    resident leaves the group."""
    coordinator = played(session, who)
    if coordinator is not None:
        session.execute(delete(UserGroup).where(UserGroup.user_id == coordinator.id))
        session.delete(coordinator)
    forget_phone(session, coordinator_address(who))
    if tester is not None:
        tester.group_id = None


class CoordinatorPanel(TypedDict):
    """What the coordinator's phone shows."""

    coordinator: User | None
    coordinator_group: Group | None
    coordinator_messages: list[Message]
    groups: list[Group]  # the groups to choose from


def coordinator_panel(session: Session, who: Viewer) -> CoordinatorPanel:
    """What the page shows of the coordinator's phone: whom it plays, its messages, the
    groups it may play."""
    coordinator = played(session, who)
    group = None
    if coordinator is not None:
        group = session.scalars(
            select(Group)
            .join(UserGroup, UserGroup.group_id == Group.id)
            .where(UserGroup.user_id == coordinator.id)
        ).first()
    messages = list(
        session.scalars(
            select(Message)
            .where(Message.channel == SIMULATED, Message.address == coordinator_address(who))
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(SHOWN)
        )
    )
    messages.reverse()
    return {
        "coordinator": coordinator,
        "coordinator_group": group,
        "coordinator_messages": messages,
        "groups": visible_groups(session, who),
    }
