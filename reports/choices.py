"""Per-choice counts for `multiple: true` choice questions: how many people picked each
option, under the report's small-number suppression.

A question with several answers has no one number to average, so the report counts, for
each option, the people who picked it at least once in the period, out of the people who
answered the question. Each option's count and its complement (who answered but did not
pick it) pass through `suppress`, so neither a small count nor "all but two" is published;
shown counts are rounded like every count (`reports.disclosure`), test participants never
count, and a group the report hides shows no choices (`reports.build`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reports.disclosure import DisclosurePolicy, publish_count, suppress
from storage.models import Answer, Participant
from survey_flows.model import Flow, Step, pick_text

__all__ = ["choice_counts"]


def choice_counts(
    session: Session,
    flow: Flow,
    *,
    start: datetime | None,
    end: datetime | None,
    group_id: int | None,
    policy: DisclosurePolicy,
) -> dict[str, Any]:
    """The report's `choices` key: per multiple-choice step, the people who answered it and,
    per option, the people who picked it (None where suppression hides the figure).

    `group_id` limits the count to one group's participants (None: everyone).
    """
    steps = [step for step in flow.steps if step.type == "choice" and step.multiple]
    if not steps:
        return {}
    picked = _picked(session, flow, [s.id for s in steps], start, end, group_id)
    return {step.id: _step_counts(step, flow, picked.get(step.id, {}), policy) for step in steps}


def _picked(
    session: Session,
    flow: Flow,
    step_ids: list[str],
    start: datetime | None,
    end: datetime | None,
    group_id: int | None,
) -> dict[str, dict[int, set[str]]]:
    """step id -> participant id -> the values they picked (a skip counts as answered)."""
    statement = (
        select(Answer.step_id, Answer.participant_id, Answer.value)
        .join(Participant, Participant.id == Answer.participant_id)
        .where(
            Answer.flow_id == flow.id,
            Answer.step_id.in_(step_ids),
            Participant.is_test.is_(False),
        )
    )
    if start is not None:
        statement = statement.where(Answer.answered_at >= start)
    if end is not None:
        statement = statement.where(Answer.answered_at < end)
    if group_id is not None:
        statement = statement.where(Participant.group_id == group_id)
    found: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for step_id, participant_id, value in session.execute(statement):
        chosen = found[step_id][participant_id]
        if isinstance(value, str):
            chosen.add(value)
    return found


def _step_counts(
    step: Step, flow: Flow, people: dict[int, set[str]], policy: DisclosurePolicy
) -> dict[str, Any]:
    """One question's figures: `answered` and, per option, `people` (None when hidden)."""
    answered = len(people)
    options = []
    for choice in step.choices:
        count = sum(1 for values in people.values() if choice.value in values)
        decision = suppress(
            {"picked": count, "did not pick": answered - count},
            answered,
            threshold=policy.threshold,
        )
        shown = not decision.total_suppressed and not decision.is_suppressed("picked")
        options.append(
            {
                "value": choice.value,
                "label": pick_text(choice.label, flow.language, flow.language),
                "people": publish_count(policy, count) if shown else None,
                "suppressed": not shown,
            }
        )
    hidden = answered < policy.threshold
    return {
        "question": pick_text(step.text, flow.language, flow.language),
        "answered": None if hidden else publish_count(policy, answered),
        "suppressed": hidden,
        "options": options,
    }
