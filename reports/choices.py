"""Per-choice counts for `multiple: true` choice questions: how many people picked each
option, under the report's small-number suppression.

A question with several answers has no one number to average, so the report counts, for
each option, the people who picked it at least once in the period, out of the people who
answered the question. Each option's count and its complement (who answered but did not
pick it) pass through `suppress`, so neither a small count nor "all but two" is published;
shown counts are rounded like every count (`reports.disclosure`). The answers come from
`reports.data.load_choice_answers`, which leaves test participants out as every report query
does (`counted_participants`); a group the report hides shows no choices (`reports.build`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from reports.data import load_choice_answers
from reports.disclosure import DisclosurePolicy, publish_count, suppress
from survey_flows.model import Flow, Step, pick_text
from survey_flows.wording import answer_label, question_text

__all__ = ["choice_counts", "question_counts"]


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
    picked = load_choice_answers(
        session, flow, [s.id for s in steps], start=start, end=end, group_id=group_id
    )
    return {step.id: _step_counts(step, flow, picked.get(step.id, {}), policy) for step in steps}


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
        "question": question_text(flow, step.id),
        "answered": None if hidden else publish_count(policy, answered),
        "suppressed": hidden,
        "options": options,
    }


def question_counts(
    session: Session,
    flow: Flow,
    *,
    start: datetime | None,
    end: datetime | None,
    group_id: int | None,
    policy: DisclosurePolicy,
) -> dict[str, Any]:
    """The report's `questions` key: every single-choice, yes/no and number step without a
    measure, with its question text and, per answer label, the people who gave that answer
    at least once in the period, protected as `choice_counts` protects its options."""
    steps = [
        step
        for step in flow.steps
        if step.measure is None
        and not step.multiple
        and step.type in ("choice", "yes_no", "number")
    ]
    if not steps:
        return {}
    given = load_choice_answers(
        session,
        flow,
        [s.id for s in steps],
        start=start,
        end=end,
        group_id=group_id,
        label=lambda step_id, value: answer_label(flow, step_id, value),
    )
    out = {}
    for step in steps:
        people = given.get(step.id, {})
        if step.type == "choice":
            labels = [pick_text(c.label, flow.language, flow.language) for c in step.choices]
        elif step.type == "yes_no":
            labels = ["Yes", "No"]
        else:
            labels = sorted({x for v in people.values() for x in v}, key=float)
        out[step.id] = _label_counts(step, flow, labels, people, policy)
    return out


def _label_counts(
    step: Step,
    flow: Flow,
    labels: list[str],
    people: dict[int, set[str]],
    policy: DisclosurePolicy,
) -> dict[str, Any]:
    """One question: who answered and, per answer label, who gave it (None when hidden)."""
    answered = len(people)
    counts = []
    for label in labels:
        count = sum(1 for given in people.values() if label in given)
        decision = suppress(
            {"gave": count, "did not": answered - count}, answered, threshold=policy.threshold
        )
        shown = not decision.total_suppressed and not decision.is_suppressed("gave")
        counts.append(
            {
                "label": label,
                "people": publish_count(policy, count) if shown else None,
                "suppressed": not shown,
            }
        )
    hidden = answered < policy.threshold
    return {
        "question": question_text(flow, step.id),
        "answered": None if hidden else publish_count(policy, answered),
        "suppressed": hidden,
        "answers": counts,
    }
