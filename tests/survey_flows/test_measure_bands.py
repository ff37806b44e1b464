"""`reference_sd` and `bands` on a flow's measures: parsed into the model, and every mistake
refused at its FILE:LINE (bands in order, no overlaps, no gaps, covering the scale)."""

from __future__ import annotations

from pathlib import Path

from survey_flows.checks.flow import check_flow_text
from survey_flows.checks.loading import load_flow
from survey_flows.model import Band

LIBRARY = Path(__file__).resolve().parents[2] / "survey_flows" / "library"

HEAD = """\
flow: banded
title: Banded
steps:
  - id: mood
    ask: "Mood from 0 to 10?"
    type: scale
    min: 0
    max: 10
    measure: mood
measures:
  mood:
    label: Mood
"""


def problems(extra: str) -> list[tuple[int, str]]:
    flow, found = check_flow_text(HEAD + extra, "banded.yaml")
    assert flow is None, "expected the flow to be refused"
    return [(p.line, p.message) for p in found]


def test_reference_sd_and_bands_reach_the_model() -> None:
    text = HEAD + (
        "    reliability: 0.7\n"
        "    reference_sd: 1.9\n"
        '    reference: "ONS APS 2022-23"\n'
        "    bands:\n"
        "      - {label: low, min: 0, max: 4}\n"
        "      - {label: high, min: 5, max: 10}\n"
    )
    flow, found = check_flow_text(text, "banded.yaml")
    assert found == [] and flow is not None
    mood = flow.measures["mood"]
    assert (mood.reference_sd, mood.reference) == (1.9, "ONS APS 2022-23")
    assert mood.bands == (Band("low", 0, 4), Band("high", 5, 10))


def test_reference_sd_must_be_positive_and_sourced() -> None:
    found = problems("    reference_sd: 0\n")
    assert found == [
        (
            13,
            "measure 'mood': `reference_sd` is a standard deviation from a published "
            "source and must be more than 0, e.g. reference_sd: 1.9",
        )
    ]
    found = problems("    reference_sd: 2\n")
    assert any(line == 13 and "say where `reference_sd` comes from" in m for line, m in found)


def test_overlapping_bands_are_refused_at_their_line() -> None:
    found = problems(
        "    bands:\n      - {label: low, min: 0, max: 5}\n      - {label: high, min: 5, max: 10}\n"
    )
    assert len(found) == 1
    line, message = found[0]
    assert line == 15
    assert "band 'high' (5 to 10) overlaps or comes before 'low' (up to 5)" in message


def test_a_gap_between_bands_is_refused_with_the_start_to_use() -> None:
    found = problems(
        "    bands:\n      - {label: low, min: 0, max: 4}\n      - {label: high, min: 6, max: 10}\n"
    )
    assert found == [
        (
            15,
            "measure 'mood': band 'high' starts at 6, leaving a gap after 'low' (up to 4); "
            "start it at 5",
        )
    ]


def test_bands_must_cover_the_scale() -> None:
    found = problems(
        "    bands:\n      - {label: low, min: 1, max: 4}\n      - {label: high, min: 5, max: 9}\n"
    )
    messages = dict(found)
    assert "the bands start at 1 but the scale starts at 0" in messages[14]
    assert "the bands end at 9 but the scale ends at 10" in messages[15]


def test_bands_out_of_order_and_badly_formed_are_refused() -> None:
    found = problems(
        "    bands:\n      - {label: high, min: 5, max: 10}\n      - {label: low, min: 0, max: 4}\n"
    )
    assert any(line == 15 and "list bands from low to high" in m for line, m in found)
    found = problems("    bands:\n      - {label: low, min: 4, max: 0}\n      - [1]\n")
    assert any(line == 14 and "`min` must not be above `max`" in m for line, m in found)
    assert any(line == 15 and "each band needs a label, min and max" in m for line, m in found)
    found = problems("    bands: low\n")
    assert found[0][0] == 13 and "`bands` must be a list of ranges" in found[0][1]


def test_shipped_ons_measures_use_the_ons_thresholds() -> None:
    flow = load_flow(LIBRARY / "weekly-wellbeing.yaml")
    ons = (
        Band("low", 0, 4),
        Band("medium", 5, 6),
        Band("high", 7, 8),
        Band("very high", 9, 10),
    )
    for name in ("life_satisfaction", "worthwhile", "happiness"):
        assert flow.measures[name].bands == ons
    assert flow.measures["anxiety"].bands == (
        Band("very low", 0, 1),
        Band("low", 2, 3),
        Band("medium", 4, 5),
        Band("high", 6, 10),
    )
