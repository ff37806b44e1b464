"""Adjusting p-values for the number of tests in one report (Holm by default).

A report that makes twenty tests will, by chance alone, often find one "significant" at
5%. Every p-value a report publishes is therefore adjusted for the report's number of
comparisons, and verdicts use the adjusted value. Holm's step-down method controls the
chance of any false "change" (family-wise error) and is never weaker than Bonferroni;
Benjamini-Hochberg (``"bh"``, scipy's ``false_discovery_control``) controls the false
discovery rate instead and is offered for large exploratory reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["METHODS", "adjust", "holm"]

#: Adjustment methods a report can use, with the words the method note uses for them.
METHODS = {
    "holm": "Holm's step-down method (controls the chance of any false finding)",
    "bh": "the Benjamini-Hochberg method (controls the expected share of false findings)",
}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given.

    Sorted ascending, the i-th smallest (from 0) of m is multiplied by (m - i); the
    results are made non-decreasing along that order and capped at 1.
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return []
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must be numbers between 0 and 1")
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    stepped = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty(m, dtype=np.float64)
    out[order] = stepped
    return [float(x) for x in out]


def adjust(p_values: Sequence[float], method: str = "holm") -> list[float]:
    """``p_values`` adjusted for their number by ``method`` (``"holm"`` or ``"bh"``)."""
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        if len(p_values) == 0:
            return []
        adjusted = stats.false_discovery_control(np.asarray(p_values, dtype=np.float64))
        return [float(x) for x in np.atleast_1d(adjusted)]
    raise ValueError(f"unknown adjustment method {method!r}; use one of {', '.join(METHODS)}")
