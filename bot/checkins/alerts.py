"""Alerts: a step's `alert` condition held, so it is stored and the group's coordinators
are told at once (pseudonym and group, never message text), in the flow's language.

A test participant's alerts reach only simulated coordinators (`recipients`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.delivery.outbox import Recipient, enqueue_text, opening
from bot.people.coordinators import recipients
from storage.checkin_rows import PersonRow
from storage.models import Alert, Group, Participant
from survey_flows.engine_values import RaisedAlert
from survey_flows.languages import system_text
from survey_flows.model import Flow


def raise_alerts(
    session: Session,
    person: PersonRow,
    checkin_id: int,
    flow: Flow,
    alerts: Sequence[RaisedAlert],
    now: datetime,
) -> None:
    """Store each alert and queue a message about it to every coordinator of the group."""
    for alert in alerts:
        session.add(
            Alert(
                participant_id=person.id,
                group_id=person.group_id,
                checkin_id=checkin_id,
                step_id=alert.step_id,
                flow_id=flow.id,
                created_at=now,
            )
        )
        tell_coordinators(session, person, flow, alert.step_id, now)


def tell_coordinators(
    session: Session, person: PersonRow, flow: Flow, step_id: str, now: datetime
) -> None:
    """Queue the alert message (`coordinator_alert` in the flow's language) to each of the
    group's coordinators."""
    if person.group_id is None:
        return
    group = session.get_one(Group, person.group_id)
    # A staff test (the Simulator's resident, or anyone marked as a test) tells only the
    # coordinators the Simulator plays, never a real one.
    is_test = session.scalar(select(Participant.is_test).where(Participant.id == person.id))
    coordinators = recipients(session, person.group_id, simulated_only=bool(is_test))
    text = system_text(
        "coordinator_alert",
        flow.language,
        pseudonym=person.pseudonym,
        group=group.name,
        step=step_id,
        flow=flow.title,
    )
    for coordinator in coordinators:
        assert coordinator.channel is not None and coordinator.address is not None
        enqueue_text(
            session,
            Recipient(coordinator.channel, coordinator.address),
            text,
            now=now,
            opening=opening("coordinator", coordinator.name, "an alert"),
        )
