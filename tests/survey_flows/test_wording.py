"""Answers and questions in residents' words: labels, Yes/No, plain numbers."""

from __future__ import annotations

import pytest

from survey_flows.checks.folder import FlowLibrary, default_flows_folder
from survey_flows.wording import answer_label, number_words, question_text


@pytest.fixture(scope="module")
def flows() -> FlowLibrary:
    return FlowLibrary(default_flows_folder())


def test_yes_no_and_choice_answers_read_as_labels(flows: FlowLibrary) -> None:
    flow = flows.resolve("weekly-wellbeing")
    assert answer_label(flow, "callback", True) == "Yes"
    assert answer_label(flow, "callback", False) == "No"
    assert answer_label(flow, "lonely", "hardly_ever") == "Hardly ever"
    assert answer_label(flow, "lonely", None) == "skipped"
    assert question_text(flow, "callback").startswith("Thank you for telling us.")
    assert question_text(flow, "gone") == "gone"


@pytest.mark.parametrize(
    ("x", "words"), [(4.0, "4"), (-0.0, "0"), (4.5, "4.5"), (-0.004, "0"), (0.333333, "0.33")]
)
def test_numbers_read_as_people_write_them(x: float, words: str) -> None:
    assert number_words(x) == words
