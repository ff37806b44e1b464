"""Text, CSV, JSON and HTML renderings of one report show the same figures, safely."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from reports.build import analyse
from reports.charts import report_charts
from reports.formats import csv as csv_format
from reports.formats import html as html_format
from reports.formats import json as json_format
from reports.formats import text as text_format
from reports.formats.cells import cell
from reports.formats.wording import (
    change_sentence,
    clean_text,
    follow_up_sentence,
    hidden_phrase,
    reliable_sentence,
    signed,
)
from reports.summary import _measure_sentences
from survey_flows.checks.folder import FlowLibrary, default_flows_folder
from tests.reports.dataset import GROUPS, SCRIPT_STORY, Dataset, insert_dataset

STAMP = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def built(sessions: sessionmaker[Session]) -> Any:
    data = insert_dataset(sessions)
    return analyse(sessions, data.flow, threshold=5, generated_at=STAMP)


# --------------------------------------------------------------------------- wording


def test_one_point_and_one_day_are_singular() -> None:
    rc = {"improved": 2, "no_change": 5, "deteriorated": 1, "threshold": 1.0}
    jt = reliable_sentence(
        {"reliable_change": rc | {"method": "jacobson-truax"}, "reliability": 0.8}
    )
    meaningful = reliable_sentence({"reliable_change": rc | {"method": "meaningful-change"}})
    for sentence in (jt, meaningful):
        assert "1 point" in sentence and "1 points" not in sentence
    days = {"median": 1, "p25": 1, "p75": 1, "min": 1, "max": 1}
    assert "median of 1 day " in follow_up_sentence({"follow_up_days": days})
    assert "1 days" not in follow_up_sentence({"follow_up_days": days})


def test_a_summary_never_says_minus_zero() -> None:
    flow = FlowLibrary(default_flows_folder()).resolve("weekly-wellbeing")
    figures = {
        "label": "Life satisfaction",
        "suppressed": False,
        "mean_change": -0.04,
        "ci95": [-0.04, 0.03],
        "n_paired": 1,
        "verdict": "no clear change",
    }
    (sentence,) = _measure_sentences({"measures": {"life_satisfaction": figures}}, flow)
    assert sentence == ("Life satisfaction: no clear change (0, 95% CI 0 to 0; 1 person).")
    assert "-0.0" not in sentence and "+0.0" not in sentence


@pytest.mark.parametrize(
    ("ci", "verdict", "better", "expected"),
    [
        ([0.2, 1.4], "increase", True, "an increase, which is better"),
        ([-1.4, -0.2], "decrease", False, "a decrease, which is worse"),
        ([-0.2, 1.4], "no clear change", None, "no clear change"),
        # The interval leaves out zero but the verdict (adjusted evidence) does not agree:
        # the sentence follows the verdict, never the interval alone.
        ([0.2, 1.4], "no clear change", None, "no clear change"),
    ],
)
def test_change_sentence_follows_the_verdict(
    ci: list[float], verdict: str, better: bool | None, expected: str
) -> None:
    m = {
        "mean_change": (ci[0] + ci[1]) / 2,
        "ci95": ci,
        "higher_is_better": True,
        "verdict": verdict,
        "verdict_better": better,
        "verdict_reason": "the reason",
    }
    sentence = change_sentence(m)
    assert expected in sentence and "the reason" in sentence
    assert f"95% CI {signed(ci[0])} to {signed(ci[1])}" in sentence
    if verdict == "no clear change":
        assert "increase" not in sentence and "decrease" not in sentence


def test_lower_is_better_wording() -> None:
    m = {
        "mean_change": -0.8,
        "ci95": [-1.4, -0.2],
        "higher_is_better": False,
        "verdict": "decrease",
        "verdict_better": True,
        "verdict_reason": "r",
    }
    assert "a decrease, which is better" in change_sentence(m)


def test_clean_text_removes_terminal_escapes() -> None:
    assert "\x1b" not in clean_text("hi \x1b[2J there\nnext")
    assert clean_text("line\nbreak") == "line break"


def test_cells_neutralise_formulas_but_keep_numbers() -> None:
    assert cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert cell("@sum") == "'@sum"
    assert cell(-0.5) == "-0.5"
    assert cell(0.1 + 0.2) == repr(0.1 + 0.2)
    assert cell(None) == "" and cell(True) == "true"


# --------------------------------------------------------------------------- text


def test_text_report_in_plain_words(built: Any) -> None:
    text = text_format.render(built.data)
    mood = built.data["measures"]["mood"]
    low, high = mood["ci95"]
    assert (
        f"Mean change {signed(mood['mean_change'])} (95% CI {signed(low)} to {signed(high)})"
        in (text.replace("\n  ", " "))
    )
    rc = mood["reliable_change"]
    n = rc["improved"] + rc["no_change"] + rc["deteriorated"]  # each rounded to 5
    assert f"{rc['improved']} of {n} improved by at least the meaningful change" in text.replace(
        "\n  ", " "
    )
    assert hidden_phrase(5).capitalize().split(",")[0] in text
    assert "WHO ANSWERED" in text and "HOW THESE FIGURES WERE MADE" in text
    assert "Regression to the mean" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    # Suppressed groups' numbers appear nowhere.
    assert "East:" in text


# --------------------------------------------------------------------------- CSV


def test_csv_has_a_row_per_measure_per_scope_with_every_figure(built: Any) -> None:
    rows = list(csv.DictReader(io.StringIO(csv_format.render(built.data))))
    report = built.data
    assert len(rows) == len(report["measures"]) * (1 + len(GROUPS))
    assert {r["scope"] for r in rows} == {"all", *GROUPS}
    for row in rows:
        scope = report if row["scope"] == "all" else report["groups"][row["scope"]]
        m = scope["measures"][row["measure"]]
        assert row["suppressed"] == ("true" if m["suppressed"] else "false")
        for key in (
            "n_paired",
            "baseline_mean",
            "mean_change",
            "median_change",
            "wilcoxon_p",
            "p_adjusted",
            "effect_size_dav",
        ):
            value = m[key]
            assert row[key] == ("" if value is None else repr(value))
            if value is not None:
                assert float(row[key]) == value  # full precision: exactly the JSON figure
        if m["ci95"] is not None:
            assert [float(row["ci95_low"]), float(row["ci95_high"])] == m["ci95"]
        assert row["improved"] == cell(m["reliable_change"]["improved"])
        assert row["verdict"] == cell(m["verdict"])
        days = m["follow_up_days"] or {}
        assert row["follow_up_days_median"] == cell(days.get("median"))
        assert row["attrition_difference"] == cell(m["attrition_check"]["difference"])
        if m.get("bands") is not None:
            assert json.loads(row["bands"]) == m["bands"]
        p = scope["participants"]
        assert row["responded"] == cell(p["responded"])
        for key in ("withdrawn", "forgotten", "lost_to_follow_up"):
            assert row[key] == cell(p[key])


def test_csv_of_a_one_group_report(sessions: sessionmaker[Session]) -> None:
    data: Dataset = insert_dataset(sessions)
    report = analyse(sessions, data.flow, group="North").data
    rows = list(csv.DictReader(io.StringIO(csv_format.render(report))))
    assert {r["scope"] for r in rows} == {"North"}
    assert len(rows) == len(report["measures"])


# --------------------------------------------------------------------------- JSON


def test_json_is_strict_and_turns_nan_into_null(built: Any) -> None:
    assert json.loads(json_format.render(built.data)) == built.data
    odd = {"a": float("nan"), "b": [float("inf"), 1.5], "c": {"d": -float("inf")}}
    assert json.loads(json_format.render(odd)) == {"a": None, "b": [None, 1.5], "c": {"d": None}}


# --------------------------------------------------------------------------- HTML


class _Collector(HTMLParser):
    """Tags, attributes and text of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_escapes_resident_text_and_embeds_charts(built: Any) -> None:
    charts = report_charts(built)
    document = html_format.render(built.data, charts)
    # The story with a <script> tag is shown as text, never as markup.
    assert "<script" not in document
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; the new bench" in document
    parsed = _Collector()
    parsed.feed(document)
    assert SCRIPT_STORY in "".join(parsed.text)
    assert not any(tag == "script" for tag, _ in parsed.tags)
    # Self-contained and readable on a phone.
    assert any(
        tag == "meta"
        and attrs.get("name") == "viewport"
        and "width=device-width" in (attrs.get("content") or "")
        for tag, attrs in parsed.tags
    )
    assert "@media (max-width" in document
    assert not any(tag == "link" for tag, _ in parsed.tags)
    images = [attrs for tag, attrs in parsed.tags if tag == "img"]
    assert len(images) == len(charts) > 0
    for attrs in images:
        assert (attrs.get("src") or "").startswith("data:image/png;base64,iVBORw0KGgo")
        assert len(attrs.get("alt") or "") > 40
    captions = sum(1 for tag, _ in parsed.tags if tag == "caption")
    assert captions >= 1 + len(built.data["measures"])
    assert "How these figures were made" in document
    assert "Regression to the mean" in document


def test_html_escapes_group_names_and_labels(built: Any) -> None:
    report = json.loads(json.dumps(built.data))
    report["groups"]['<b onmouseover="x">Evil</b>'] = report["groups"].pop("North")
    report["measures"]["mood"]["label"] = "<i>Mood</i>"
    document = html_format.render(report)
    assert "<b onmouseover" not in document and "<i>Mood</i>" not in document
    assert "&lt;b onmouseover=&#34;x&#34;&gt;Evil&lt;/b&gt;" in document


def test_html_shows_hidden_groups_without_figures(built: Any) -> None:
    document = html_format.render(built.data)
    assert hidden_phrase(5) in document
    east = built.data["groups"]["East"]
    assert east["measures"]["mood"]["suppressed"] is True
