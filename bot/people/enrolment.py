"""Enrolment: subscribing a participant to a flow, which the clock then starts when due."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.flow_versions import Flows
from storage.models import Enrolment, Group, Participant
from survey_flows.checks.problems import FlowError


def enrol(session: Session, participant: Participant, flow_id: str, now: datetime) -> Enrolment:
    """Subscribe a participant to a flow (once); the clock works out when it falls due."""
    enrolment = session.scalars(
        select(Enrolment).where(
            Enrolment.participant_id == participant.id, Enrolment.flow_id == flow_id
        )
    ).one_or_none()
    if enrolment is None:
        enrolment = Enrolment(
            participant_id=participant.id,
            group_id=participant.group_id,
            flow_id=flow_id,
            enrolled_at=now,
            active=True,
        )
        session.add(enrolment)
        session.flush()
    return enrolment


def enrol_in_group_flow(
    session: Session, participant: Participant, library: Flows, now: datetime
) -> Enrolment | None:
    """Enrol a participant who gave consent in their group's regular flow, if it has one."""
    group = session.get(Group, participant.group_id) if participant.group_id else None
    if group is None or not group.default_flow:
        return None
    try:
        library.resolve(group.default_flow)
    except FlowError:
        return (
            None  # `groups add` checks the flow; a flow removed since is reported by `flows check`
        )
    return enrol(session, participant, group.default_flow, now)
