"""Checks that every value a `when` or `alert` compares an answer with is one the answer can
take: a choice step's values, true or false for yes/no, numbers for scale and number steps.

`answers.warm == 'nevr'` parses and runs, but can never hold, so the branch silently never
fires (or, with `!=`, always does). This runs after the steps are built, because a condition
may name any step's answer (`previous.STEP` even a later one).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from survey_flows.checks.checker import Checker, is_number
from survey_flows.checks.choices import reply_form
from survey_flows.checks.yaml_lines import value_line
from survey_flows.expressions import Comparison, comparisons
from survey_flows.model import Step

EQUALITY = ("eq", "ne", "in", "notin")


def check_compared_values(checker: Checker, seq: CommentedSeq, steps: Sequence[Step]) -> None:
    """Report each `when`/`alert` in the `steps:` list `seq` that compares a built step's
    answer with a value it can never have, at the condition's line, with a suggestion."""
    by_id = {step.id: step for step in steps}
    for index, item in enumerate(seq):
        if not isinstance(item, CommentedMap):
            continue
        step_id = item.get("id")
        where = f"step '{step_id}': " if isinstance(step_id, str) else f"step {index + 1}: "
        for key in ("when", "alert"):
            source = item.get(key)
            if not isinstance(source, str):
                continue
            for comparison in comparisons(source):
                step = by_id.get(comparison.step)
                if step is None:
                    continue  # an unknown or broken step, already reported
                for value in comparison.values:
                    problem = _problem(step, comparison, value)
                    if problem:
                        checker.add(value_line(item, key), f"{where}`{key}`: {problem}")


def _problem(step: Step, comparison: Comparison, value: object) -> str | None:
    """Why `value` can never be the answer of `step`, with what to write instead; else None."""
    name = comparison.name
    if step.multiple and comparison.answer_first and comparison.operator in EQUALITY:
        shown = _shown(value) if isinstance(value, str) else "'VALUE'"
        return (
            f"{name} is a list of the chosen values (the step has `multiple: true`), so it "
            f"never equals one value; write {shown} in {name} (or not in)"
        )
    if step.type == "choice" and comparison.operator in EQUALITY:
        return _choice_problem(step, name, value)
    if step.type == "yes_no" and comparison.operator in EQUALITY and not isinstance(value, bool):
        return (
            f"{name} is a yes/no answer, true or false, never {_shown(value)}; write "
            f"`{name}` for yes or `not {name}` for no"
        )
    if step.type in ("scale", "number") and not is_number(value):
        return (
            f"{name} is a number, never {_shown(value)}; compare it with a number, e.g. {name} <= 4"
        )
    return None


def _choice_problem(step: Step, name: str, value: object) -> str | None:
    values = [choice.value for choice in step.choices]
    if isinstance(value, str) and value in values:
        return None
    listed = ", ".join(f"'{v}'" for v in values)
    if is_number(value) and str(value) in values:
        return f"{name} is the chosen value as text, so write it in quotes: '{value}'"
    if not isinstance(value, str):
        return f"{name} is one of the choices {listed}, never {_shown(value)}"
    for choice in step.choices:
        words = [*choice.label.values(), *choice.aliases]
        if any(reply_form(word) == reply_form(value) for word in words) or (
            reply_form(choice.value) == reply_form(value)
        ):
            return (
                f"'{value}' is not a choice value of step '{step.id}' (conditions compare the "
                f"stored `value`, not what residents see or type); did you mean '{choice.value}'?"
            )
    close = difflib.get_close_matches(value, values, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"use one of: {listed}"
    return f"'{value}' is not one of the choices of step '{step.id}'; {hint}"


def _shown(value: object) -> str:
    """A compared value as a flow file would write it."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "none"
    return f"'{value}'" if isinstance(value, str) else str(value)
