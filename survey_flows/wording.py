"""Questions and answers in the words residents saw, for staff views and reports.

Stored answers hold internal values (True/False, `fairly_safe`, 4.0); staff and funders
read the question text and the choice's label instead. A question is shown as a resident
with no name on record saw it (`{{ participant.name or 'there' }}` reads "there").
"""

from __future__ import annotations

from typing import Any

from survey_flows.expressions import context, render
from survey_flows.model import Flow, Step, pick_text

__all__ = ["answer_label", "count_words", "number_words", "question_text", "signed_words"]


def _step(flow: Flow, step_id: str) -> Step | None:
    return next((step for step in flow.steps if step.id == step_id), None)


def question_text(flow: Flow | None, step_id: str | None) -> str:
    """The question as residents saw it (the flow's language), or the step id if unknown."""
    step = _step(flow, step_id) if flow is not None and step_id else None
    if flow is None or step is None:
        return step_id or "an unknown question"
    # As a resident with no name on record saw it: "{{ participant.name or 'there' }}"
    # reads "there", a bare name and the space before it are left out.
    shown = render(pick_text(step.text, flow.language, flow.language), context())
    return " ".join(shown.split()) or step_id or ""


def number_words(x: float, digits: int = 2) -> str:
    """A number as people write it: at most ``digits`` decimals, no trailing zeros, never
    "-0" or "4.0" (4, 4.5, 0.87). The one number formatter of staff views and reports."""
    text = f"{float(x):.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "+0") else text


def signed_words(x: float, digits: int = 2) -> str:
    """A change with its sign as people write it: +0.8, -1.25, and 0 (never +0 or -0.0)."""
    text = number_words(x, digits)
    return text if text == "0" or text.startswith("-") else "+" + text


def count_words(x: float, unit: str, units: str | None = None, digits: int = 2) -> str:
    """A quantity with its unit in the right number: "1 point", "0.5 points", "2 people".

    ``units`` is the plural (default ``unit`` + "s"); the singular is used only when the
    number as shown is 1 (or -1), so 0.999 shown as "1" reads "1 point", never "1 points".
    """
    shown = number_words(x, digits)
    return f"{shown} {unit if shown.lstrip('-') == '1' else (units or unit + 's')}"


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
