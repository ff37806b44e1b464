"""Answers and questions in residents' words: labels, Yes/No, plain numbers."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey_flows.checks.folder import FlowLibrary, default_flows_folder
from survey_flows.checks.loading import parse_flow
from survey_flows.wording import (
    answer_label,
    count_words,
    number_words,
    question_text,
    signed_words,
)


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


# --- numbers and units: one formatter for every figure a reader sees ---------------------

FINITE = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)


@given(FINITE, st.integers(min_value=0, max_value=4))
def test_a_number_never_shows_minus_zero_or_trailing_zeros(x: float, digits: int) -> None:
    shown = number_words(x, digits)
    assert not re.fullmatch(r"[-+]0(\.0*)?", shown)
    if "." in shown:
        assert not shown.endswith("0") and not shown.endswith(".")
        assert len(shown.split(".")[1]) <= digits
    assert abs(float(shown) - x) <= 0.5 * 10**-digits + 1e-9 * max(1.0, abs(x))


@given(FINITE)
def test_a_change_has_its_sign_except_zero(x: float) -> None:
    shown = signed_words(x)
    plain = number_words(x)
    if plain == "0":
        assert shown == "0"
    else:
        assert shown == (plain if plain.startswith("-") else "+" + plain)


@given(FINITE, st.sampled_from([("point", None), ("person", "people"), ("minute", None)]))
def test_a_unit_is_singular_exactly_when_the_number_shown_is_one(
    x: float, unit: tuple[str, str | None]
) -> None:
    singular, plural = unit
    shown = count_words(x, singular, plural)
    number, word = shown.split(" ", 1)
    assert number == number_words(x)
    assert word == (singular if number in ("1", "-1") else plural or singular + "s")


@pytest.mark.parametrize(
    ("x", "words"),
    [(1, "1 point"), (1.0, "1 point"), (0.999, "1 point"), (0, "0 points"), (1.5, "1.5 points")],
)
def test_points_read_as_people_write_them(x: float, words: str) -> None:
    assert count_words(x, "point") == words


def test_a_question_reads_as_a_resident_with_no_name_saw_it() -> None:
    flow = parse_flow(
        "flow: hello\ntitle: Hello\nsteps:\n"
        "  - id: fallback\n    ask: \"All well, {{ participant.name or 'friend' }}?\"\n"
        "    type: yes_no\n"
        '  - id: bare\n    ask: "All well {{ participant.name }}?"\n    type: yes_no\n'
    )
    assert question_text(flow, "fallback") == "All well, friend?"
    assert question_text(flow, "bare") == "All well?"
