"""analyse against figures worked out independently from the inserted answers.

Every test runs on SQLite and PostgreSQL (the `sessions` fixture). Expected figures come
from `dataset.reference_*`, which use numpy/scipy on the raw values kept at insert time.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from reports import build as build_module
from reports.build import SMALL_GROUP, UnknownGroupError, analyse
from reports.data import MeasureAnswers, ReportData, load_report_data
from reports.disclosure import EXACT
from reports.formats.json import render as render_json
from storage.database import transaction
from storage.models import Participant
from tests.reports.dataset import (
    GROUPS,
    SCRIPT_STORY,
    T0,
    Dataset,
    assert_close,
    insert_dataset,
    reference_cohort_sd,
    reference_figures,
    reference_pairs,
    reference_weekly,
)

FIGURES = (
    "n_paired",
    "baseline_mean",
    "latest_mean",
    "mean_change",
    "ci95",
    "median_change",
    "wilcoxon_p",
    "effect_size_dz",
)
STAMP = datetime(2025, 3, 1, tzinfo=UTC)


def exact_report(
    sessions: sessionmaker[Session], flow: Any, *, threshold: int = 5, **options: Any
) -> dict[str, Any]:
    """The report with suppression only (no rounding, noise or snapping): these tests check
    the arithmetic; tests/reports/test_disclosure_attacks.py checks the protection."""
    return analyse(sessions, flow, policy=replace(EXACT, threshold=threshold), **options).data


@pytest.fixture
def data(sessions: sessionmaker[Session]) -> Dataset:
    return insert_dataset(sessions)


def expected_for(
    data: Dataset,
    measure: str,
    group: str | None = ...,  # type: ignore[assignment]
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Reference figures for a measure, for one group (``...`` = everyone)."""
    meta = data.flow.measures[measure]
    cohort = [
        (a["participant"], a["answered_at"], a["score"])
        for a in data.rows(measure)
        if (since is None or a["answered_at"] >= since)
        and (until is None or a["answered_at"] < until)
    ]
    rows = [
        (a["participant"], a["answered_at"], a["score"])
        for a in data.rows(measure)
        if (group is ... or a["group"] == group)
        and (since is None or a["answered_at"] >= since)
        and (until is None or a["answered_at"] < until)
    ]
    baseline, latest = reference_pairs(rows)
    return reference_figures(
        baseline,
        latest,
        higher_is_better=meta.higher_is_better,
        reliability=meta.reliability,
        meaningful_change=meta.meaningful_change,
        reference_sd=meta.reference_sd or reference_cohort_sd(cohort),
    )


def paired_counts(data: Dataset, measure: str) -> dict[str | None, int]:
    """Paired people per group (None: no group), worked out from the raw answers."""
    counts = {}
    for group in [*GROUPS, None]:
        counts[group] = expected_for(data, measure, group)["n_paired"]
    return counts


def test_dataset_has_the_shape_the_tests_rely_on(data: Dataset) -> None:
    for measure in data.flow.measures:
        counts = paired_counts(data, measure)
        assert counts["East"] == 3
        assert 5 <= counts["South"] <= 7
        assert counts["North"] >= 10
        assert counts[None] == 0


def test_every_figure_matches_an_independent_computation(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    # Threshold 1: nothing is hidden, so every group's figures can be checked.
    report = exact_report(sessions, data.flow, threshold=1, generated_at=STAMP)
    for name in data.flow.measures:
        assert_close(report["measures"][name], expected_for(data, name), f"all.{name}")
        assert report["measures"][name]["suppressed"] is False
        for group in GROUPS:
            figures = report["groups"][group]["measures"][name]
            assert_close(figures, expected_for(data, name, group), f"{group}.{name}")
            assert figures["suppressed"] is False


def test_lower_is_better_counts_decreases_as_improvement(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    report = exact_report(sessions, data.flow, threshold=1)
    worry = report["measures"]["worry"]
    assert worry["higher_is_better"] is False
    assert worry["reliable_change"]["method"] == "jacobson-truax"
    rows = [(a["participant"], a["answered_at"], a["score"]) for a in data.rows("worry")]
    baseline, latest = reference_pairs(rows)
    sd = reference_cohort_sd(rows)
    assert sd is not None
    limit = 1.96 * sd * np.sqrt(2) * np.sqrt(1 - 0.7)
    assert worry["reliable_change"]["threshold"] == pytest.approx(limit)
    assert worry["reliable_change"]["improved"] == int(np.sum(latest - baseline < -limit))
    assert worry["reliable_change"]["deteriorated"] == int(np.sum(latest - baseline > limit))


def test_measure_without_reliability_says_why(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    energy = exact_report(sessions, data.flow)["measures"]["energy"]["reliable_change"]
    assert energy["method"] == "none"
    assert energy["improved"] is None
    assert "neither reliability nor meaningful_change" in energy["reason"]


def test_small_group_suppressed_with_secondary_suppression(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    report = exact_report(sessions, data.flow, threshold=5)
    for name in data.flow.measures:
        east = report["groups"]["East"]["measures"][name]
        south = report["groups"]["South"]["measures"][name]
        north = report["groups"]["North"]["measures"][name]
        # East (3 people) is below the threshold: everything null, suppressed: true.
        assert east["suppressed"] is True
        assert all(east[key] is None for key in FIGURES)
        assert east["reliable_change"]["improved"] is None
        # The reliable-change rule is the measure's, the same in every view.
        overall = report["measures"][name]["reliable_change"]["threshold"]
        assert east["reliable_change"]["threshold"] == overall
        # South has 5 or more people but total - North would give South + East, so
        # South alone would reveal East: South is hidden too (secondary suppression).
        assert paired_counts(data, name)["South"] >= 5
        assert south["suppressed"] is True
        assert all(south[key] is None for key in FIGURES)
        # North and the total are shown, and what subtraction recovers covers >= 5 people.
        assert north["suppressed"] is False
        total = report["measures"][name]
        assert total["suppressed"] is False
        assert total["n_paired"] - north["n_paired"] >= 5
        assert_close(north, expected_for(data, name, "North"))
    # Participation counts are protected the same way.
    assert report["groups"]["East"]["participants"]["suppressed"] is True
    assert report["groups"]["East"]["participants"]["responded"] is None
    assert all(stage["count"] is None for stage in report["groups"]["East"]["attrition"])
    assert report["groups"]["North"]["participants"]["suppressed"] is False


def test_raising_the_threshold_hides_more(sessions: sessionmaker[Session], data: Dataset) -> None:
    report = exact_report(sessions, data.flow, threshold=50)
    assert report["participants"]["suppressed"] is True
    for name in data.flow.measures:
        assert report["measures"][name]["suppressed"] is True
        assert all(w["suppressed"] for w in report["measures"][name]["weekly"])
        for body in report["groups"].values():
            assert body["measures"][name]["suppressed"] is True
    assert report["method"]["suppression_threshold"] == 50
    assert "fewer than 50 people" in " ".join(report["method"]["paragraphs"])


def test_participation(sessions: sessionmaker[Session], data: Dataset) -> None:
    report = exact_report(sessions, data.flow, threshold=1)
    people = {c["participant"] for c in data.checkins} | data.enrolled
    sent = len(data.checkins)
    completed = sum(c["status"] == "completed" for c in data.checkins)
    times: dict[tuple[str, str], set[datetime]] = {}
    for a in data.answers:
        if a["measure"] is not None:
            times.setdefault((a["participant"], a["measure"]), set()).add(a["answered_at"])
    paired = {p for (p, _), t in times.items() if len(t) >= 2}
    completers = {c["participant"] for c in data.checkins if c["status"] == "completed"}
    p = report["participants"]
    assert p["enrolled"] == len(people) == sum(GROUPS.values()) + 2
    assert p["prompted"] == len({c["participant"] for c in data.checkins})
    assert p["responded"] == len(completers | paired)
    assert p["paired"] == len(paired)
    assert p["checkins_sent"] == sent
    assert p["checkins_completed"] == completed
    assert p["response_rate"] == pytest.approx(completed / sent)
    assert [s["count"] for s in report["attrition"]] == [
        p["enrolled"],
        p["prompted"],
        p["responded"],
        p["paired"],
        0,
        0,
        p["responded"] - p["paired"],
    ]
    north = report["groups"]["North"]["participants"]
    assert north["enrolled"] == GROUPS["North"]


def test_period_filters_answers_and_checkins(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    since, until = date(2025, 1, 13), date(2025, 2, 2)  # weeks 1 to 3
    start = datetime(2025, 1, 13, tzinfo=UTC)
    end = datetime(2025, 2, 3, tzinfo=UTC)
    report = exact_report(sessions, data.flow, since=since, until=until, threshold=1)
    assert report["period"] == {
        "since": "2025-01-13",
        "until": "2025-02-02",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "published": "2025-01-13 to 2025-02-02",
        "snapped": False,
    }
    for name in data.flow.measures:
        assert_close(report["measures"][name], expected_for(data, name, ..., start, end))
        weeks = [w["week_start"] for w in report["measures"][name]["weekly"]]
        assert weeks == ["2025-01-13", "2025-01-20", "2025-01-27"]
    in_period = [c for c in data.checkins if start <= c["started_at"] < end]
    assert report["participants"]["checkins_sent"] == len(in_period)


def test_weekly_means_match(sessions: sessionmaker[Session], data: Dataset) -> None:
    report = exact_report(sessions, data.flow, threshold=1)
    for name in data.flow.measures:
        expected = reference_weekly(
            [(a["participant"], a["answered_at"], a["score"]) for a in data.rows(name)]
        )
        weekly = report["measures"][name]["weekly"]
        assert [w["week_start"] for w in weekly] == list(expected)
        for w in weekly:
            n, mean, ci = expected[w["week_start"]]
            assert_close(w, {"n": n, "mean": mean, "ci95": ci, "suppressed": False})


def test_group_report_is_cut_from_the_full_report(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    full = exact_report(sessions, data.flow)
    north = exact_report(sessions, data.flow, group="North")
    assert north["scope"] == "North"
    assert list(north["groups"]) == ["North"]
    assert north["participants"] == full["groups"]["North"]["participants"]
    for name in data.flow.measures:
        own = {k: v for k, v in north["measures"][name].items() if k != "weekly"}
        assert own == full["groups"]["North"]["measures"][name]
    assert all(s["group"] == "North" for s in north["stories"])
    # South is hidden in the full report to protect East; its own report must not undo that.
    south = exact_report(sessions, data.flow, group="South")
    assert south["participants"]["suppressed"] is True
    for name in data.flow.measures:
        assert south["measures"][name]["suppressed"] is True
        assert south["measures"][name]["n_paired"] is None


def test_unknown_group_lists_the_groups(sessions: sessionmaker[Session], data: Dataset) -> None:
    with pytest.raises(UnknownGroupError) as caught:
        exact_report(sessions, data.flow, group="Westside")
    assert caught.value.known == ["East", "North", "South"]
    assert "East, North, South" in str(caught.value)


def test_period_that_ends_before_it_starts(sessions: sessionmaker[Session], data: Dataset) -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        exact_report(sessions, data.flow, since=date(2025, 2, 1), until=date(2025, 1, 1))


def test_stories(sessions: sessionmaker[Session], data: Dataset) -> None:
    report = exact_report(sessions, data.flow)
    stories = report["stories"]
    expected = [a for a in data.answers if a["step"] == "story"]
    assert len(stories) == len(expected)
    assert [s["answered_at"] for s in stories] == sorted(s["answered_at"] for s in stories)
    by_group = {a["participant"]: a["group"] for a in expected}
    for story in stories:
        group = by_group[story["participant"]]
        # North's counts are shown; South and East are hidden, so not named.
        assert story["group"] == (group if group == "North" else SMALL_GROUP)
        assert story["participant"].startswith("P-")
    assert any(s["text"] == SCRIPT_STORY for s in stories)


def test_forgotten_participants_stories_are_left_out(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    teller = next(a["participant"] for a in data.answers if a["step"] == "story")
    with transaction(sessions) as session:
        person = session.query(Participant).filter_by(pseudonym=teller).one()
        person.forgotten_at = T0 + timedelta(weeks=10)
    stories = exact_report(sessions, data.flow)["stories"]
    assert stories and teller not in {s["participant"] for s in stories}


def test_report_is_strict_json(sessions: sessionmaker[Session], data: Dataset) -> None:
    report = exact_report(sessions, data.flow, generated_at=STAMP)
    text = render_json(report)
    assert json.loads(text) == report
    assert report["generated_at"] == STAMP.isoformat()
    assert set(report) >= {
        "flow",
        "period",
        "participants",
        "measures",
        "groups",
        "stories",
        "method",
        "generated_at",
        "attrition",
    }
    assert report["method"]["definitions"]["wilcoxon_p"].count("zsplit") == 1


def test_empty_flow_builds_with_everything_hidden(sessions: sessionmaker[Session]) -> None:
    from tests.reports.dataset import flow

    report = exact_report(sessions, flow())
    assert report["participants"]["suppressed"] is True
    assert report["groups"] == {} and report["stories"] == []
    for m in report["measures"].values():
        assert m["suppressed"] is True and m["weekly"] == []
    render_json(report)


def _shuffled(data: ReportData, seed: int) -> ReportData:
    rng = np.random.default_rng(seed)
    measures = {}
    for name, m in data.measures.items():
        order = rng.permutation(m.score.size)
        measures[name] = MeasureAnswers(
            m.participant_id[order], m.group_id[order], m.answered_at[order], m.score[order]
        )
    return ReportData(measures, data.checkins, data.population, data.group_names, data.stories)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_report_does_not_change_when_rows_are_shuffled(
    sessions: sessionmaker[Session], data: Dataset, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    before = exact_report(sessions, data.flow, threshold=3, generated_at=STAMP)

    def shuffled_load(session: Session, flow: Any, **kwargs: Any) -> ReportData:
        return _shuffled(load_report_data(session, flow, **kwargs), seed)

    monkeypatch.setattr(build_module, "load_report_data", shuffled_load)
    after = exact_report(sessions, data.flow, threshold=3, generated_at=STAMP)
    assert after == before


def test_read_columns_on_both_databases(sessions: sessionmaker[Session], data: Dataset) -> None:
    from sqlalchemy import func, select

    from reports.columns import read_columns
    from storage.models import Answer

    statement = select(Answer.participant_id, Answer.answered_at, Answer.score).where(
        Answer.measure == "mood"
    )
    with transaction(sessions, readonly=True) as session:
        pid, at, score = read_columns(session, statement, ("int", "time", "float"))
        empty = read_columns(session, statement.where(Answer.id < 0), ("int", "time", "float"))
        with pytest.raises((ValueError, TypeError)):
            read_columns(session, select(func.nullif(Answer.id, Answer.id)), ("int",))
    expected = sorted(
        (a["answered_at"].replace(tzinfo=None), a["score"]) for a in data.rows("mood")
    )
    got = sorted((t.astype("datetime64[us]").item(), s) for t, s in zip(at, score, strict=True))
    assert got == expected
    assert pid.dtype == np.int64 and at.dtype == np.dtype("datetime64[us]")
    assert all(a.size == 0 for a in empty)
