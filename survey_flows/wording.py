"""Questions and answers in the words residents saw, for staff views and reports.

Stored answers hold internal values (True/False, `fairly_safe`, 4.0); staff and funders
read the question text and the choice's label instead. Placeholders such as
`{{ participant.name }}` are left out of question texts shown to staff.
"""

from __future__ import annotations

from typing import Any

from survey_flows.expressions import render
from survey_flows.model import Flow, Step, pick_text

__all__ = ["answer_label", "number_words", "question_text"]


def _step(flow: Flow, step_id: str) -> Step | None:
    return next((step for step in flow.steps if step.id == step_id), None)


def question_text(flow: Flow | None, step_id: str | None) -> str:
    """The question as residents saw it (the flow's language), or the step id if unknown."""
    step = _step(flow, step_id) if flow is not None and step_id else None
    if flow is None or step is None:
        return step_id or "an unknown question"
    shown = render(pick_text(step.text, flow.language, flow.language), {})
    return " ".join(shown.split()) or step_id or ""


def number_words(x: float) -> str:
    """A number as people write it: 4, 4.5, never -0 or 4.0."""
    if x == int(x):
        return str(int(x)) if int(x) != 0 else "0"
    shown = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if shown in ("-0", "0") else shown


def answer_label(flow: Flow | None, step_id: str | None, value: Any) -> str:
    """An answer as its label: a choice's label, Yes/No, a plain number, or the text."""
    if value is None:
        return "skipped"
    step = _step(flow, step_id) if flow is not None and step_id else None
    if isinstance(value, list):
        return ", ".join(answer_label(flow, step_id, item) for item in value)
    if step is not None and flow is not None and step.choices:
        for choice in step.choices:
            if choice.value == value:
                return pick_text(choice.label, flow.language, flow.language)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return number_words(float(value))
    return str(value)
