"""Coordinators as recipients: their contact, summary calendar and groups, checked and saved.

A coordinator is one `users` row: the same person signs in (email, password) and hears
about their groups, alerts at once and a weekly summary, by SMS, WhatsApp or Telegram. The command
line (`users add`, `coordinators add`), the Team page and the Account page all change a
coordinator through this module, so a contact or a summary time is checked one way.
No Flask here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.intake.roster import phone_number
from storage.models import AuditEntry, Group, User, UserGroup
from survey_flows.schedules import WEEKDAYS

#: The channel of a coordinator the Simulator plays: their alerts and summaries arrive on
#: a test phone in the web app, through the outbox like any other message.
SIMULATED = "sim"


class ContactError(ValueError):
    """A contact or summary setting cannot be used; the message says what to write."""


@dataclass(frozen=True)
class Contact:
    """Where alerts and summaries go: ("sms" or "whatsapp", E.164 number) or ("telegram",
    chat id)."""

    channel: str
    address: str


@dataclass(frozen=True)
class SummaryTime:
    """When the weekly summary comes: weekday (0 = Monday), HH:MM local, time zone."""

    weekday: int
    at: str
    timezone: str | None


def contact(
    phone: str | None, telegram: str | None, region: str, whatsapp: str | None = None
) -> Contact | None:
    """The contact from a phone number (SMS), a WhatsApp number or a Telegram chat id (at
    most one); None for none of them."""
    phone, telegram = (phone or "").strip(), (telegram or "").strip()
    whatsapp = (whatsapp or "").strip()
    if sum(map(bool, (phone, whatsapp, telegram))) > 1:
        raise ContactError(
            "give only one of a phone number, a WhatsApp number or a Telegram chat id"
        )
    for channel, label, number in (("sms", "phone", phone), ("whatsapp", "whatsapp", whatsapp)):
        if number:
            try:
                return Contact(channel, phone_number(number, region, label))
            except ValueError as error:
                raise ContactError(str(error)) from None
    if telegram:
        if not telegram.lstrip("-").isdigit():
            raise ContactError(
                f"'{telegram}' is not a Telegram chat id: it is a number, which the person "
                "gets by sending /start to the bot"
            )
        return Contact("telegram", telegram)
    return None


def summary_time(day: str | None, at: str | None, timezone: str | None) -> SummaryTime:
    """The checked summary time; day defaults to Monday, time to 09:00, zone to the
    deployment's (None)."""
    day = (day or "monday").strip().lower()
    if day not in WEEKDAYS:
        raise ContactError(f"'{day}' is not a weekday; write one of {', '.join(WEEKDAYS)}")
    hours, _, minutes = (at or "09:00").strip().partition(":")
    if (
        not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60)
        or len(minutes) != 2
    ):
        raise ContactError(f"write the summary time as HH:MM, e.g. 09:00 (not '{at}')")
    zone = (timezone or "").strip() or None
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ContactError(
                f"'{zone}' is not a time zone; use a name like Europe/London"
            ) from None
    return SummaryTime(WEEKDAYS.index(day), f"{int(hours):02d}:{int(minutes):02d}", zone)


def set_contact(
    session: Session,
    user: User,
    reach: Contact | None,
    when: SummaryTime | None,
    *,
    now: datetime,
    actor: str,
) -> None:
    """Give `user` this contact (None: no messages) and summary time; audited.

    A changed calendar restarts: the next summary is worked out again by the clock.
    """
    if reach is not None:
        with session.no_autoflush:  # `user` may be new and not yet complete
            taken = session.scalars(
                select(User).where(
                    User.channel == reach.channel,
                    User.address == reach.address,
                    User.id.is_distinct_from(user.id),
                )
            ).first()
        if taken is not None:
            raise ContactError(
                f"{taken.shown_name} already gets messages at that {reach.channel} address; "
                "add the group to their account instead"
            )
    if reach is None and user.email is None:
        raise ContactError(
            "someone without a sign-in needs a phone number, WhatsApp number or Telegram chat id"
        )
    user.channel = reach.channel if reach else None
    user.address = reach.address if reach else None
    if when is not None:
        changed = (when.weekday, when.at, when.timezone) != (
            user.summary_weekday,
            user.summary_time,
            user.timezone,
        )
        user.summary_weekday, user.summary_time, user.timezone = (
            when.weekday,
            when.at,
            when.timezone,
        )
        if changed:
            user.next_summary_at = None
    session.add(
        AuditEntry(
            at=now,
            actor=actor,
            action="set coordinator contact",
            subject=f"{user.shown_name}: {user.channel or 'no messages'}",
        )
    )


def groups_named(session: Session, names: Sequence[str]) -> list[Group]:
    """The groups called `names` (letter case ignored); ContactError naming the known ones."""
    known = {g.name.lower(): g for g in session.scalars(select(Group))}
    found: dict[int, Group] = {}
    for name in names:
        group = known.get(name.strip().lower())
        if group is None:
            listed = ", ".join(sorted(g.name for g in known.values())) or "none yet"
            raise ContactError(
                f"there is no group called {name!r} (groups: {listed}); add it first with "
                f'groundswell groups add "{name}"'
            )
        found[group.id] = group
    return list(found.values())


def set_groups(session: Session, user: User, groups: Sequence[Group]) -> None:
    """Make `groups` exactly the groups `user` coordinates."""
    wanted = {g.id for g in groups}
    have = set(session.scalars(select(UserGroup.group_id).where(UserGroup.user_id == user.id)))
    for group_id in have - wanted:
        session.delete(session.get_one(UserGroup, (user.id, group_id)))
    for group_id in wanted - have:
        session.add(UserGroup(user_id=user.id, group_id=group_id))


def recipients(session: Session, group_id: int, *, simulated_only: bool = False) -> list[User]:
    """The group's coordinators who have a contact: they get its alerts and summary.

    `simulated_only`: just the coordinators the Simulator plays (contact on `SIMULATED`),
    for what a staff test raises, so trying a flow never messages a real coordinator.
    """
    query = (
        select(User)
        .join(UserGroup, UserGroup.user_id == User.id)
        .where(
            UserGroup.group_id == group_id,
            User.role == "coordinator",
            User.channel.is_not(None),
        )
        .order_by(User.id)
    )
    if simulated_only:
        query = query.where(User.channel == SIMULATED)
    return list(session.scalars(query))


def by_contact(session: Session, reach: Contact) -> User | None:
    """The user who gets messages at this contact, if any."""
    return session.scalars(
        select(User).where(User.channel == reach.channel, User.address == reach.address)
    ).first()
