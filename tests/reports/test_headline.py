"""'What changed' sentences: verdict first, plain words, period and people, no jargon."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.formats.headline import (
    group_sentences,
    how_sure,
    measure_sentence,
    period_phrase,
    what_changed,
    when_made,
)

PERIOD = {"since": "2026-09-07", "until": "2026-11-29"}


@pytest.mark.parametrize(
    ("p", "words"),
    [(None, "not sure"), (0.2, "not sure"), (0.04, "fairly sure"), (0.005, "sure"),
     (0.0001, "very sure")],
)  # fmt: skip
def test_how_sure_in_words(p: float | None, words: str) -> None:
    assert how_sure(p) == words


def test_a_real_improvement_leads_with_better() -> None:
    m = {"n_paired": 42, "mean_change": 0.87, "verdict": "increase", "verdict_better": True,
         "p_adjusted": 0.004}  # fmt: skip
    assert measure_sentence("Life satisfaction", m, PERIOD) == (
        "Better: Life satisfaction rose by 0.87 points on average, among 42 people who "
        "answered at the start and again later, from 7 September 2026 to 29 November 2026. "
        "We are sure this is a real change."
    )


def test_no_clear_change_one_point_and_no_minus_zero() -> None:
    m = {"n_paired": 1, "mean_change": -0.0, "verdict": "no clear change", "p_adjusted": 0.9}
    sentence = measure_sentence("Loneliness", m, PERIOD)
    assert sentence.startswith("No clear change: Loneliness did not change")
    assert "1 person" in sentence and "-0" not in sentence and "not sure" in sentence
    one = {"n_paired": 8, "mean_change": 1.0, "verdict": "no clear change", "p_adjusted": 0.2}
    assert "by 1 point on average" in measure_sentence("Loneliness", one, PERIOD)


def test_hidden_and_thin_measures_say_so() -> None:
    report = {
        "period": {},
        "measures": {
            "a": {"label": "A", "suppressed": True},
            "b": {"label": "B", "n_paired": 0, "mean_change": None, "verdict": None},
        },
    }
    a, b = what_changed(report)
    assert a.startswith("Not shown: A") and b.startswith("Not enough data yet: B")
    assert when_made("2026-12-02T14:05:09+00:00") == "2 December 2026 at 14:05 UTC"


def test_charts_start_at_the_scales_minimum() -> None:
    from reports.charts import measure_scales
    from survey_flows.checks.folder import FlowLibrary, default_flows_folder

    scales = measure_scales(FlowLibrary(default_flows_folder()).resolve("weekly-wellbeing"))
    assert scales["life_satisfaction"] == (0.0, 10.0)
    assert scales["loneliness"] == (0.0, 4.0)


def test_a_clear_change_in_one_group_is_headlined_first() -> None:
    riverside = {"label": "Life satisfaction", "n_paired": 80, "mean_change": 0.87,
                 "verdict": "increase", "verdict_better": True, "p_adjusted": 0.00001}  # fmt: skip
    elm = {"label": "Life satisfaction", "n_paired": 85, "mean_change": -0.07,
           "verdict": "no clear change", "p_adjusted": 1.0}  # fmt: skip
    hidden = {"label": "Life satisfaction", "suppressed": True, "n_paired": None,
              "mean_change": None, "verdict": None}  # fmt: skip
    report = {
        "scope": "all",
        "period": PERIOD,
        "measures": {"life_satisfaction": elm | {"n_paired": 250, "mean_change": 0.18}},
        "groups": {
            name: {"measures": {"life_satisfaction": m}}
            for name, m in (("Elm Street", elm), ("Riverside", riverside), ("Tiny", hidden))
        },
    }
    sentences = what_changed(report)
    assert sentences == [
        "Better: Life satisfaction in Riverside rose by 0.87 points on average, among 80 "
        "people who answered at the start and again later, from 7 September 2026 to 29 "
        "November 2026. We are very sure this is a real change.",
        "No clear change: Life satisfaction rose by 0.18 points on average among 250 people, "
        "from 7 September 2026 to 29 November 2026. We are not sure that this is more than "
        "chance.",
    ]  # a group without a clear change, or hidden by disclosure control, gets no sentence
    assert group_sentences(report | {"scope": "Riverside"}) == []


def test_the_period_is_the_days_the_figures_cover() -> None:
    snapped = {"since": "2026-11-04", "until": None, "start": "2026-11-02T00:00:00+00:00",
               "end": "2026-11-30T00:00:00+00:00"}  # fmt: skip
    assert period_phrase(snapped) == "from 2 November 2026 to 29 November 2026"
    open_start = {"since": None, "until": None, "start": None,
                  "end": "2026-11-30T00:00:00+00:00"}  # fmt: skip
    assert period_phrase(open_start) == "up to 29 November 2026"
    assert period_phrase({}) == "over all answers so far"


@given(
    change=st.floats(min_value=-10, max_value=10, allow_nan=False),
    n=st.integers(min_value=0, max_value=500),
    verdict=st.sampled_from(["increase", "decrease", "no clear change", "not enough data"]),
    p=st.one_of(st.none(), st.floats(min_value=0, max_value=1)),
)
def test_no_sentence_says_1_points_1_people_or_minus_zero(
    change: float, n: int, verdict: str, p: float | None
) -> None:
    m = {"n_paired": n, "mean_change": change, "verdict": verdict, "verdict_better": True,
         "p_adjusted": p}  # fmt: skip
    sentence = measure_sentence("Mood", m, PERIOD)
    quantities = re.findall(r"(-?[\d.]+) (points?|person|people)\b", sentence)
    assert quantities, sentence
    for number, unit in quantities:
        assert not re.fullmatch(r"-?0(\.0*)?", number) or number == "0", sentence
        assert not number.endswith(".0") and not number.startswith("-"), sentence
        assert (unit in ("point", "person")) == (number == "1"), sentence
