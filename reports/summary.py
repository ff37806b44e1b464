"""The coordinator's weekly summary: short, true, and readable in ten seconds.

For now it states the week's counts per group (check-ins sent and answered). It never
states a change in a measure: that needs the intervals of the full change report.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Checkin, Group, Participant
from survey_flows.loading import FlowLibrary

WEEK = timedelta(days=7)


def coordinator_summary(
    session: Session, library: FlowLibrary, group: Group, now: datetime, *, channel: str
) -> tuple[str, bytes | None]:
    """The summary text for one group's coordinator, and a chart (None when there is none)."""
    since = now - WEEK
    sent, answered = session.execute(
        select(
            func.count(Checkin.id),
            func.count(Checkin.id).filter(Checkin.status == "completed"),
        )
        .join(Participant, Participant.id == Checkin.participant_id)
        .where(Participant.group_id == group.id, Checkin.started_at >= since)
    ).one()
    text = (
        f"Groundswell weekly summary, {group.name}: {sent} check-ins sent in the last 7 days, "
        f"{answered} answered in full."
    )
    return text, None
