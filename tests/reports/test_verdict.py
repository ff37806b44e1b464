"""Verdicts and the multiple-testing adjustment: no directional verdict is ever published
without adjusted evidence, and Holm is Holm."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from reports.intervals import welch_difference, wilson_interval
from reports.multiplicity import adjust, holm
from reports.statistics import summarise_measure
from reports.verdict import ALPHA, MIN_DECIDABLE_N


def by_definition(p: list[float]) -> list[float]:
    """Holm from its definition: p_(i) adjusted = max over j <= i of (m - j) p_(j), capped."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    for rank, i in enumerate(order):
        out[i] = min(1.0, max((m - j) * p[order[j]] for j in range(rank + 1)))
    return out


@given(st.lists(st.floats(0, 1), max_size=30))
def test_holm_matches_its_definition(p: list[float]) -> None:
    assert holm(p) == pytest.approx(by_definition(p))


def test_holm_on_the_reviews_figures_and_bh_is_scipys() -> None:
    # Two of twenty tests at 0.023 and 0.044 with the rest near 1 do not survive.
    p = [0.023, 0.044] + [0.5] * 18
    adjusted = holm(p)
    assert adjusted[0] == pytest.approx(0.46) and adjusted[1] == pytest.approx(0.836)
    assert adjust(p, "bh") == pytest.approx(list(stats.false_discovery_control(p)))
    with pytest.raises(ValueError, match="unknown adjustment"):
        adjust(p, "bonferroni-ish")
    with pytest.raises(ValueError):
        holm([0.2, float("nan")])


def _changes() -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(-3, 3), min_size=0, max_size=30)


@settings(max_examples=300, deadline=None)
@given(changes=_changes(), tests=st.integers(1, 40), higher=st.booleans())
def test_no_directional_verdict_without_adjusted_evidence(
    changes: list[int], tests: int, higher: bool
) -> None:
    """THE PROPERTY: a published increase / decrease always has p_adjusted < 0.05, a 95%
    interval of positive width that leaves out zero, and enough people for the exact test."""
    n = len(changes)
    ids = np.repeat(np.arange(n), 2)
    times = np.tile([0.0, 28.0], n)
    values = np.ravel(np.column_stack([np.full(n, 5.0), 5.0 + np.array(changes, float)]))
    summary = summarise_measure(ids, times, values, higher_is_better=higher, threshold=1)
    raw = summary.wilcoxon_p
    # Adjusted as one of `tests` tests with the other p-values all smaller (the worst case).
    p_adjusted = None if raw is None else min(1.0, raw * tests)
    out = summary.adjusted(p_adjusted, tests).to_dict()
    if out["suppressed"]:  # nobody paired: nothing is published, verdict included
        assert n == 0 and out["verdict"] is None
        return
    if out["verdict"] in ("increase", "decrease"):
        low, high = out["ci95"]
        assert out["p_adjusted"] < ALPHA
        assert high - low > 0
        assert low > 0 or high < 0
        assert out["n_paired"] >= MIN_DECIDABLE_N
        assert (out["verdict"] == "increase") == (low > 0)
        assert out["verdict_better"] == ((out["verdict"] == "increase") == higher)
    else:
        assert out["verdict_better"] is None
        assert out["verdict"] in ("no clear change", "not enough data")
    if n < MIN_DECIDABLE_N:
        assert out["verdict"] == "not enough data"


def test_welch_and_wilson_against_scipy() -> None:
    a = np.array([1.0, 2, 2, 3, 5, 0, 1])
    b = np.array([0.0, -1, 1, 0, 2])
    diff = welch_difference(a, b)
    assert diff is not None and diff.ci95 is not None
    test = stats.ttest_ind(a, b, equal_var=False)
    assert diff.p == pytest.approx(test.pvalue)
    low, high = test.confidence_interval()
    assert diff.ci95 == pytest.approx((low, high))
    for count, n in itertools.product([0, 1, 3, 7], [7, 20]):
        result = stats.binomtest(count, n).proportion_ci(method="wilson")
        assert wilson_interval(count, n) == pytest.approx((result.low, result.high))
