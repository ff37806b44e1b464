"""Tests for reports.statistics against answers worked out independently in each test.

Every expected figure is computed here from pairs written out by hand, with numpy/scipy
called directly on those raw numbers, never through the code under test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from reports.method import method_note
from reports.statistics import (
    MeasureSummary,
    participation,
    summarise_by_group,
    summarise_measure,
)

T0 = np.datetime64("2025-01-03T18:00")
WEEK = np.timedelta64(7, "D")


def rows(answers: dict[object, list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (participant, time, value) from each participant's answers in weekly order.

    The rows come out in reverse order so the code must sort them itself.
    """
    pids, times, values = [], [], []
    for pid, vals in answers.items():
        for week, value in enumerate(vals):
            pids.append(pid)
            times.append(T0 + week * WEEK)
            values.append(value)
    return (
        np.array(pids[::-1]),
        np.array(times[::-1], dtype="datetime64[m]"),
        np.array(values[::-1], dtype=np.float64),
    )


def expected(d: np.ndarray) -> dict[str, float]:
    """Independent reference figures for a vector of changes."""
    n = len(d)
    sd = np.std(d, ddof=1)
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return {
        "mean": float(np.mean(d)),
        "median": float(np.median(d)),
        "ci": (float(np.mean(d) - half), float(np.mean(d) + half)),
        "p": float(stats.wilcoxon(d, zero_method="zsplit").pvalue),
        "dz": float(np.mean(d) / sd),
    }


# --------------------------------------------------------------------------- paired figures


def test_four_participants_with_tied_changes() -> None:
    # baseline -> ... -> latest; the middle answers must be ignored.
    answers = {101: [3, 9, 5], 102: [4, 6], 103: [2, 0, 0, 5], 104: [6, 7]}
    baseline = np.array([3.0, 4.0, 2.0, 6.0])
    latest = np.array([5.0, 6.0, 5.0, 7.0])
    d = latest - baseline  # 2, 2, 3, 1: two tied changes
    ref = expected(d)

    s = summarise_measure(*rows(answers), threshold=1)

    assert s.n_paired == 4
    assert s.baseline_mean == pytest.approx(3.75)
    assert s.latest_mean == pytest.approx(5.75)
    assert s.mean_change == pytest.approx(2.0)
    assert s.median_change == pytest.approx(2.0)
    # sd of (2, 2, 3, 1) is sqrt(2/3); half-width is t(0.975, 3) * sd / 2.
    half = stats.t.ppf(0.975, 3) * math.sqrt(2 / 3) / 2
    assert s.ci95 == pytest.approx((2.0 - half, 2.0 + half))
    assert s.ci95 == pytest.approx(ref["ci"])
    assert s.effect_size_dz == pytest.approx(2.0 / math.sqrt(2 / 3))
    assert s.wilcoxon_p == pytest.approx(ref["p"])
    np.testing.assert_allclose(s.changes, d)
    assert not s.suppressed


def test_four_participants_untied_exact_wilcoxon() -> None:
    # All four changes positive, distinct: exact two-sided p = 2 / 2**4.
    s = summarise_measure(*rows({1: [1, 2], 2: [1, 3], 3: [1, 4], 4: [1, 5]}))
    assert s.wilcoxon_p == pytest.approx(0.125)
    assert s.suppressed  # 4 < default threshold of 5


def test_zero_changes_use_zsplit() -> None:
    answers = {1: [5, 5], 2: [4, 5], 3: [6, 5], 4: [3, 5], 5: [5, 5], 6: [2, 5], 7: [5, 6]}
    d = np.array([0, 1, -1, 2, 0, 3, 1], dtype=float)
    s = summarise_measure(*rows(answers))
    ref = expected(d)
    assert s.n_paired == 7
    assert s.wilcoxon_p == pytest.approx(ref["p"])
    assert s.mean_change == pytest.approx(ref["mean"])
    assert s.median_change == pytest.approx(1.0)
    assert s.ci95 == pytest.approx(ref["ci"])
    assert s.effect_size_dz == pytest.approx(ref["dz"])


def test_wilcoxon_zsplit_normal_approximation_by_hand() -> None:
    # 60 pairs (above scipy's exact cut-off) with zeros and ties; the p-value is worked out
    # from the textbook zsplit formula rather than by calling wilcoxon.
    pattern = [0, 0, 1, 1, 1, -1, 2, 2, -2, 3, 0, 1, -1, 4, 2]
    d = np.array(pattern * 4, dtype=float)
    answers = {i: [10.0, 10.0 + change] for i, change in enumerate(d)}
    n = len(d)
    ranks = stats.rankdata(np.abs(d))
    r_plus = ranks[d > 0].sum() + ranks[d == 0].sum() / 2
    _, tie_sizes = np.unique(np.abs(d), return_counts=True)
    var = (n * (n + 1) * (2 * n + 1) - np.sum(tie_sizes**3 - tie_sizes) / 2) / 24
    z = (r_plus - n * (n + 1) / 4) / math.sqrt(var)
    p = 2 * stats.norm.sf(abs(z))

    s = summarise_measure(*rows(answers))
    assert s.wilcoxon_p == pytest.approx(p)


def test_all_changes_zero() -> None:
    s = summarise_measure(*rows({1: [4, 4], 2: [7, 2, 7], 3: [1, 1], 4: [3, 3], 5: [9, 9]}))
    assert s.n_paired == 5
    assert s.mean_change == 0.0
    assert s.median_change == 0.0
    assert s.ci95 == (0.0, 0.0)
    assert s.wilcoxon_p is None
    assert s.effect_size_dz is None
    assert any("zero" in note for note in s.notes)
    assert any("d_z" in note for note in s.notes)


def test_equal_nonzero_changes_have_no_effect_size_but_a_test() -> None:
    # Constant 0.1 changes: sd is exactly 0, not a rounding crumb that would blow d_z up.
    s = summarise_measure(*rows({i: [0.2 * i, 0.2 * i + 0.1] for i in range(6)}))
    assert s.effect_size_dz is None
    assert s.wilcoxon_p is not None


def test_single_paired_participant() -> None:
    # Participant 2 answered once and is left out (no baseline-and-later pair).
    s = summarise_measure(*rows({1: [3, 8], 2: [10]}), threshold=1, meaningful_change=2)
    assert s.n_paired == 1
    assert s.baseline_mean == 3.0
    assert s.latest_mean == 8.0
    assert s.mean_change == 5.0
    assert s.median_change == 5.0
    assert s.ci95 is None
    assert s.wilcoxon_p is None
    assert s.effect_size_dz is None
    assert s.reliable_change.improved == 1
    assert any("one time" in note for note in s.notes)


def test_single_participant_jacobson_truax_cannot_classify() -> None:
    s = summarise_measure(*rows({1: [3, 8]}), reliability=0.8)
    rc = s.reliable_change
    assert rc.method == "jacobson-truax"
    assert (rc.improved, rc.no_change, rc.deteriorated, rc.threshold) == (None,) * 4
    assert "fewer than two people" in rc.reason


def test_no_paired_participants() -> None:
    s = summarise_measure(*rows({1: [3], 2: [4]}), meaningful_change=1)
    assert s.n_paired == 0
    assert s.baseline_mean is None
    assert s.mean_change is None
    assert s.median_change is None
    assert s.suppressed
    assert s.changes.shape == (0,)


def test_empty_input() -> None:
    s = summarise_measure(np.array([], dtype=np.int64), np.array([], "datetime64[s]"), [])
    assert s.n_paired == 0
    assert s.reliable_change.method == "none"


def test_missing_baseline_excluded_from_means() -> None:
    # Participant 9 only answered once: not in baseline_mean either.
    answers = {1: [2, 4], 2: [4, 4], 3: [6, 9], 9: [100]}
    s = summarise_measure(*rows(answers), threshold=1)
    assert s.n_paired == 3
    assert s.baseline_mean == pytest.approx(np.mean([2, 4, 6]))
    assert s.latest_mean == pytest.approx(np.mean([4, 4, 9]))


def test_same_time_answers_are_not_a_pair_and_are_averaged() -> None:
    t = np.array([0.0, 0.0, 1.0, 5.0, 5.0])
    pid = np.array([1, 1, 1, 2, 2])
    v = np.array([2.0, 4.0, 7.0, 1.0, 9.0])
    s = summarise_measure(pid, t, v, threshold=1)
    # Participant 1: baseline is the mean of the two answers at time 0; participant 2
    # answered twice but at one time only, so has no change.
    assert s.n_paired == 1
    assert s.baseline_mean == 3.0
    assert s.mean_change == 4.0
    assert any("averaged" in note for note in s.notes)


def test_nan_values_and_times_are_ignored() -> None:
    pid = np.array([1, 1, 1, 2, 2])
    t = np.array([0.0, 1.0, 2.0, np.nan, 3.0])
    v = np.array([1.0, 3.0, np.nan, 5.0, 6.0])
    s = summarise_measure(pid, t, v, threshold=1)
    assert s.n_paired == 1
    assert s.mean_change == 2.0
    assert any("without a value" in note for note in s.notes)


def test_object_ids_and_float_times() -> None:
    pid = np.array(["b", "a", "b", "a", "c"], dtype=object)
    t = np.array([2.5, 1.0, 0.5, 3.0, 1.0])
    v = np.array([7.0, 1.0, 4.0, 2.0, 8.0])
    s = summarise_measure(pid, t, v, threshold=1)
    assert s.n_paired == 2
    np.testing.assert_array_equal(s.changes, [1.0, 3.0])  # ordered by id: a, b


# --------------------------------------------------------------------------- reliable change


def test_jacobson_truax_threshold_by_hand() -> None:
    # Baselines 10, 12, 14, 16, 18: sample SD = sqrt(40 / 4) = sqrt(10).
    # r = 0.8: SE_diff = sqrt(10) * sqrt(2) * sqrt(0.2) = 2, threshold = 1.96 * 2 = 3.92.
    answers = {1: [10, 14], 2: [12, 8], 3: [14, 17.9], 4: [16, 16], 5: [18, 23]}
    s = summarise_measure(*rows(answers), reliability=0.8)
    rc = s.reliable_change
    assert rc.method == "jacobson-truax"
    assert rc.threshold == pytest.approx(3.92)
    # changes +4 (reliable), -4 (reliable), +3.9 (not), 0, +5 (reliable)
    assert (rc.improved, rc.no_change, rc.deteriorated) == (2, 2, 1)
    assert rc.reason is None


def test_jacobson_truax_lower_is_better() -> None:
    answers = {1: [10, 14], 2: [12, 8], 3: [14, 17.9], 4: [16, 16], 5: [18, 23]}
    rc = summarise_measure(*rows(answers), reliability=0.8, higher_is_better=False)
    assert (
        rc.reliable_change.improved,
        rc.reliable_change.no_change,
        rc.reliable_change.deteriorated,
    ) == (1, 2, 2)


def test_jacobson_truax_with_equal_baselines_cannot_classify() -> None:
    s = summarise_measure(*rows({i: [5, i] for i in range(6)}), reliability=0.7)
    rc = s.reliable_change
    assert rc.improved is None and rc.threshold is None
    assert "baselines do not vary" in rc.reason
    assert any("Reliable change not worked out" in note for note in s.notes)


def test_reliability_wins_over_meaningful_change() -> None:
    s = summarise_measure(*rows({1: [1, 2], 2: [3, 9]}), reliability=0.5, meaningful_change=1)
    assert s.reliable_change.method == "jacobson-truax"


def test_meaningful_change_lower_is_better() -> None:
    # Loneliness, lower is better, meaningful change 1 (as in the flow format example).
    answers = {1: [4, 2], 2: [3, 2], 3: [2, 2], 4: [1, 2], 5: [0, 3], 6: [2, 1.5]}
    # changes: -2 (improved), -1 (improved, exactly m), 0, +1 (worse), +3 (worse), -0.5
    s = summarise_measure(*rows(answers), higher_is_better=False, meaningful_change=1)
    rc = s.reliable_change
    assert rc.method == "meaningful-change"
    assert rc.threshold == 1.0
    assert (rc.improved, rc.no_change, rc.deteriorated) == (2, 2, 2)


def test_meaningful_change_boundary_in_floating_point() -> None:
    # 0.3 - 0.1 is 0.19999999999999998 in floating point; it is still a change of 0.2.
    s = summarise_measure(*rows({1: [0.1, 0.3], 2: [0.5, 0.5]}), meaningful_change=0.2)
    assert s.reliable_change.improved == 1


def test_no_reliable_change_method() -> None:
    s = summarise_measure(*rows({1: [1, 2], 2: [3, 9]}))
    rc = s.reliable_change
    assert rc.method == "none"
    assert rc.improved is None and rc.no_change is None and rc.deteriorated is None
    assert rc.reason == "the flow gives neither reliability nor meaningful_change for this measure"


@pytest.mark.parametrize(
    "kwargs", [{"reliability": 1.0}, {"reliability": 0}, {"meaningful_change": 0}]
)
def test_bad_options_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        summarise_measure(*rows({1: [1, 2]}), **kwargs)


def test_mismatched_lengths_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        summarise_measure([1, 2], [0.0, 1.0], [1.0])


# --------------------------------------------------------------------------- output


def test_to_dict_keys_and_json() -> None:
    s = summarise_measure(*rows({i: [i, i + (i % 3)] for i in range(8)}), meaningful_change=1)
    out = s.to_dict()
    assert list(out) == [
        "n_paired",
        "baseline_mean",
        "latest_mean",
        "mean_change",
        "ci95",
        "median_change",
        "wilcoxon_p",
        "p_adjusted",
        "verdict",
        "verdict_better",
        "verdict_reason",
        "effect_size_dz",
        "effect_size_dz_ci95",
        "effect_size_dav",
        "effect_size_dav_ci95",
        "follow_up_days",
        "reliable_change",
        "notes",
        "suppressed",
    ]
    assert list(out["reliable_change"]) == ["method", "improved", "no_change", "deteriorated"]
    assert isinstance(out["ci95"], list) and len(out["ci95"]) == 2
    assert out["mean_change"] == s.mean_change  # full precision, not rounded
    assert json.loads(json.dumps(out, allow_nan=False)) == out


def test_suppressed_to_dict_hides_every_figure() -> None:
    s = summarise_measure(*rows({1: [1, 2], 2: [3, 9]}), meaningful_change=1)
    assert s.suppressed
    out = s.to_dict()
    assert out["suppressed"] is True
    assert out["n_paired"] is None and out["mean_change"] is None
    assert out["reliable_change"]["improved"] is None


def test_summary_is_frozen_and_changes_read_only() -> None:
    s = summarise_measure(*rows({1: [1, 2], 2: [3, 9]}))
    with pytest.raises(AttributeError):
        s.n_paired = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        s.changes[0] = 0.0


# --------------------------------------------------------------------------- groups


def test_by_group_matches_separate_summaries() -> None:
    ward_a = {1: [3, 5], 2: [4, 4], 3: [6, 2], 4: [1, 7], 5: [2, 3], 6: [5, 6]}
    ward_b = {7: [2, 2], 8: [5, 9], 9: [3, 1], 10: [7, 8], 11: [4, 6, 6], 12: [1]}
    pa, ta, va = rows(ward_a)
    pb, tb, vb = rows(ward_b)
    groups = np.array(["a"] * len(pa) + ["b"] * len(pb), dtype=object)
    pid = np.concatenate([pa, pb])
    t = np.concatenate([ta, tb])
    v = np.concatenate([va, vb])
    perm = np.random.default_rng(3).permutation(len(pid))

    by_group = summarise_by_group(
        groups[perm], pid[perm], t[perm], v[perm], reliability=0.6, threshold=1, reference_sd=2.0
    )
    assert list(by_group) == ["a", "b"]
    for name, (p, tt, vv) in {"a": (pa, ta, va), "b": (pb, tb, vb)}.items():
        alone = summarise_measure(p, tt, vv, reliability=0.6, threshold=1, reference_sd=2.0)
        assert by_group[name] == alone
        np.testing.assert_array_equal(by_group[name].changes, alone.changes)


def test_by_group_pairs_within_group() -> None:
    # Participant 1 answered once in each group: paired in neither.
    g = np.array(["x", "y", "y", "y"])
    pid = np.array([1, 1, 2, 2])
    t = np.array([0.0, 1.0, 0.0, 1.0])
    v = np.array([1.0, 5.0, 2.0, 3.0])
    out = summarise_by_group(g, pid, t, v, threshold=1)
    assert out["x"].n_paired == 0
    assert out["y"].n_paired == 1


def test_by_group_marks_only_groups_below_the_threshold() -> None:
    # Secondary suppression is decided once, across every view, by reports.disclosure.
    small = {i: [1, 2] for i in range(3)}
    medium = {i: [1, 3] for i in range(10, 16)}
    large = {i: [2, 2] for i in range(20, 40)}
    parts = [rows(small), rows(medium), rows(large)]
    g = np.concatenate([np.full(len(p[0]), name) for name, p in zip("sml", parts, strict=True)])
    pid, t, v = (np.concatenate([p[k] for p in parts]) for k in range(3))
    out = summarise_by_group(g, pid, t, v)
    assert out["s"].suppressed  # 3 < 5
    assert not out["m"].suppressed
    assert not out["l"].suppressed
    assert out["m"].n_paired == 6


# --------------------------------------------------------------------------- properties


answer_rows = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 5), st.integers(0, 10)), min_size=0, max_size=40
)


@settings(max_examples=150, deadline=None)
@given(data=answer_rows, seed=st.integers(0, 2**32 - 1), hib=st.booleans())
def test_summary_does_not_depend_on_row_order(
    data: list[tuple[int, int, int]], seed: int, hib: bool
) -> None:
    pid = np.array([r[0] for r in data], dtype=np.int64)
    t = np.array([r[1] for r in data], dtype=np.float64)
    v = np.array([r[2] for r in data], dtype=np.float64)
    perm = np.random.default_rng(seed).permutation(len(data))
    for options in ({"reliability": 0.7}, {"meaningful_change": 2}):
        a = summarise_measure(pid, t, v, higher_is_better=hib, threshold=1, **options)
        b = summarise_measure(
            pid[perm], t[perm], v[perm], higher_is_better=hib, threshold=1, **options
        )
        assert a == b
        np.testing.assert_array_equal(a.changes, b.changes)


@settings(max_examples=100, deadline=None)
@given(data=answer_rows)
def test_figures_agree_with_a_plain_python_reference(data: list[tuple[int, int, int]]) -> None:
    by_person: dict[int, dict[int, list[int]]] = {}
    for p, t, v in data:
        by_person.setdefault(p, {}).setdefault(t, []).append(v)
    pairs = []
    for p in sorted(by_person):
        times = sorted(by_person[p])
        if len(times) >= 2:
            first, last = by_person[p][times[0]], by_person[p][times[-1]]
            pairs.append((sum(first) / len(first), sum(last) / len(last)))
    s: MeasureSummary = summarise_measure(
        [r[0] for r in data], np.array([r[1] for r in data], float), [r[2] for r in data]
    )
    assert s.n_paired == len(pairs)
    if pairs:
        b = np.array([x for x, _ in pairs])
        d = np.array([y - x for x, y in pairs])
        assert s.baseline_mean == pytest.approx(b.mean())
        assert s.mean_change == pytest.approx(d.mean())
        assert s.median_change == pytest.approx(np.median(d))


# --------------------------------------------------------------------------- participation


def test_participation_counts_and_flow() -> None:
    sent = [0, 3, 3, 4, 2, 1]
    completed = [0, 0, 1, 4, 2, 1]
    paired = [False, False, False, True, True, False]
    withdrawn = [False, True, True, False, False, False]
    forgotten = [False, False, False, False, False, True]
    out = participation(sent, completed, paired, withdrawn, forgotten)
    assert (out.enrolled, out.prompted, out.responded, out.paired) == (6, 5, 4, 2)
    assert out.response_rate == pytest.approx(8 / 13)
    # Responded but not paired: persons 2 (withdrew) and 5 (forgotten): neither is lost.
    assert out.flow == [
        ("enrolled", 6),
        ("prompted", 5),
        ("responded", 4),
        ("answered baseline and a later check-in", 2),
        ("withdrawn", 2),
        ("forgotten", 1),
        ("lost_to_follow_up", 0),
    ]
    assert participation(sent, completed, paired).lost_to_follow_up == 2
    assert json.loads(json.dumps(out.to_dict()))["flow"][3]["count"] == 2


def test_participation_with_nothing_sent() -> None:
    out = participation([0, 0], [0, 0], [False, False])
    assert out.response_rate is None
    assert out.prompted == 0


def test_participation_paired_without_completing_still_responded() -> None:
    out = participation([3], [0], [True])
    assert out.responded == 1


@pytest.mark.parametrize(
    ("sent", "completed", "paired"),
    [([1], [2], [False]), ([-1], [0], [False]), ([1], [1], [True]), ([1, 2], [1], [False])],
)
def test_participation_rejects_inconsistent_counts(
    sent: list[int], completed: list[int], paired: list[bool]
) -> None:
    with pytest.raises(ValueError):
        participation(sent, completed, paired)


# --------------------------------------------------------------------------- method note


def test_method_note_covers_the_essentials() -> None:
    text = " ".join(method_note(7))
    for phrase in (
        "fewer than 7",
        "baseline",
        "paired participants",
        "check-ins completed divided by the number of check-ins sent",
        "t-distribution",
        "Wilcoxon signed-rank",
        "zsplit",
        "d_z",
        "Jacobson-Truax",
        "smallest change that matters",
        "Regression to the mean",
        "ONS",
        "choose whether to reply",
        "Small numbers",
    ):
        assert phrase in text, phrase


# scipy's own permutation version takes seconds for a dozen changes: keep these small.
@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(min_value=-3, max_value=3), min_size=2, max_size=8).filter(
        lambda d: any(d)
    )
)
def test_fast_wilcoxon_p_is_scipys_p(changes: list[int]) -> None:
    from reports.statistics import wilcoxon_zsplit_p

    d = np.array(changes, dtype=float)
    assert wilcoxon_zsplit_p(d) == pytest.approx(
        float(stats.wilcoxon(d, zero_method="zsplit").pvalue), abs=1e-12
    )


def test_fast_wilcoxon_p_at_scipys_permutation_limit() -> None:
    from reports.statistics import wilcoxon_zsplit_p

    d = np.array([2, -1, 0, 1, 1, 2, -2, 3, 0, 1, 1, -1, 2], dtype=float)  # 13, ties, zeros
    assert wilcoxon_zsplit_p(d) == pytest.approx(
        float(stats.wilcoxon(d, zero_method="zsplit").pvalue), abs=1e-12
    )
