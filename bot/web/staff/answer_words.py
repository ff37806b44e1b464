"""Stored answers in the words residents saw, for staff pages.

Answers are stored as internal values (True/False, `fairly_safe`, 4.0) under step ids;
staff read the question text and the answer's label instead, from the flow version the
answer was given in (`survey_flows.wording` does the wording). The participant timeline,
the alert cards and the conversation transcripts all read answers through here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.web.context import context
from storage import flow_versions
from storage.messages import BUTTON_PREFIX
from storage.models import Answer, Checkin, Message
from survey_flows.engine import DONE
from survey_flows.model import Flow
from survey_flows.wording import answer_label, number_words, question_text

__all__ = ["CHECKIN_WORDS", "ShownAnswer", "button_words", "flow_of", "shown_answers"]

#: A check-in's status as staff read it.
CHECKIN_WORDS = {
    "active": "in progress",
    "completed": "completed",
    "expired": "not finished in time",
    "stopped": "stopped",
    "superseded": "replaced by a newer check-in",
}


def flow_of(session: Session, version: str | None, flow_id: str | None) -> Flow | None:
    """The flow version an answer was given in, else the flow in the library now (None
    when neither can be read: the page then shows the step id rather than failing)."""
    if version:
        with contextlib.suppress(Exception):
            return flow_versions.load(session, version)
    if not flow_id:
        return None
    try:
        return context().library.resolve(flow_id)
    except Exception:
        return None


@dataclass(frozen=True)
class ShownAnswer:
    """One answered question: its text, the answer's label, its score, when."""

    step_id: str
    question: str
    answer: str
    score: str
    answered_at: datetime


def shown_answers(session: Session, answers: Iterable[Answer]) -> list[ShownAnswer]:
    """The answers in residents' words, in the order given: the parts of one multiple
    choice (one row each in storage) become one answer listing every label."""
    grouped: dict[tuple[int, str], list[Answer]] = {}
    for answer in answers:
        grouped.setdefault((answer.checkin_id, answer.step_id), []).append(answer)
    out = []
    for (_, step_id), parts in grouped.items():
        first = parts[0]
        flow = flow_of(session, first.flow_version, first.flow_id)
        chosen = [a.value for a in parts if a.value is not None]
        value: Any = first.value if len(parts) == 1 and first.part == 0 else chosen
        scores = [a.score for a in parts if a.score is not None]
        out.append(
            ShownAnswer(
                step_id=step_id,
                question=question_text(flow, step_id),
                answer="nothing chosen" if value == [] else answer_label(flow, step_id, value),
                score=number_words(scores[0]) if len(scores) == 1 else "–",
                answered_at=first.answered_at,
            )
        )
    return out


def button_words(session: Session, messages: Iterable[Message]) -> dict[int, str]:
    """What each button press among ``messages`` said, by message id: "Pressed: Fairly
    safe" instead of the stored "[button] fairly_safe".

    The label comes from the answer the press gave; a press that gave none yet (a tick in
    a multiple choice) is looked up among the choices of its check-in's flow.
    """
    presses = {
        m.id: m.body[len(BUTTON_PREFIX) :]
        for m in messages
        if m.direction == "in" and m.body and m.body.startswith(BUTTON_PREFIX)
    }
    if not presses:
        return {}
    rows = session.execute(
        select(
            Answer.message_id, Answer.step_id, Answer.flow_version, Answer.flow_id, Answer.value
        ).where(Answer.message_id.in_(list(presses)))
    ).all()
    by_message = {row.message_id: row for row in rows}
    checkin_flows = {
        row.id: (row.flow_version, row.flow_id)
        for row in session.execute(
            select(Message.id, Checkin.flow_version, Checkin.flow_id)
            .join(Checkin, Checkin.id == Message.checkin_id)
            .where(Message.id.in_(list(presses)))
        )
    }
    out = {}
    for message_id, data in presses.items():
        row = by_message.get(message_id)
        if row is not None:
            flow = flow_of(session, row.flow_version, row.flow_id)
            label = _choice_label(flow, data, row.step_id)
        else:
            version, flow_id = checkin_flows.get(message_id, (None, None))
            label = _choice_label(flow_of(session, version, flow_id), data, None)
        out[message_id] = f"Pressed: {label}"
    return out


def _choice_label(flow: Flow | None, data: str, step_id: str | None) -> str:
    """The label of the button whose data is ``data`` (in step ``step_id`` if known)."""
    if data == DONE:
        return "Done"
    if flow is not None:
        steps = [s for s in flow.steps if step_id is None or s.id == step_id]
        for step in steps:
            if step.type == "yes_no" and data in ("yes", "no"):
                return answer_label(flow, step.id, data == "yes")
            for choice in step.choices or ():
                if choice.value == data:
                    return answer_label(flow, step.id, data)
    return "a button" if data.startswith("#") else data
