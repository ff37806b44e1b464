"""Intervals beyond the mean change: effect sizes, Welch differences and Wilson shares.

Each function is the textbook formula with scipy's distributions, so a statistician can
recompute every published figure from the exported answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

__all__ = ["Difference", "dz_interval", "welch_difference", "wilson_interval"]


def dz_interval(dz: float, n: int, level: float = 0.95) -> tuple[float, float] | None:
    """The exact interval of d_z: invert the noncentral t of t = d_z * sqrt(n), df = n - 1.

    ``None`` for fewer than two people or a non-finite d_z.
    """
    if n < 2 or not math.isfinite(dz):
        return None
    df, t = n - 1, dz * math.sqrt(n)
    tail = (1 - level) / 2

    # The noncentrality parameter's interval lies well inside t +/- 5 normal-theory SEs;
    # a wider bracket sends scipy's noncentral t into regions where it returns NaN.
    width = 5.0 * math.sqrt(1.0 + t * t / (2.0 * df)) + 1.0

    def root(target: float) -> float:
        def gap(ncp: float) -> float:
            return float(stats.nct.cdf(t, df, ncp)) - target

        return float(optimize.brentq(gap, t - width, t + width, xtol=1e-14))

    try:
        low, high = root(1 - tail), root(tail)
    except ValueError:  # no sign change or NaN: an extreme d_z with very few people
        return None
    return low / math.sqrt(n), high / math.sqrt(n)


@dataclass(frozen=True)
class Difference:
    """Mean of ``a`` minus mean of ``b`` with its Welch 95% interval and two-sided p."""

    difference: float
    ci95: tuple[float, float] | None
    p: float | None
    n_a: int
    n_b: int


def welch_difference(a: np.ndarray, b: np.ndarray) -> Difference | None:
    """Welch's unequal-variance comparison of two means; ``None`` when either is empty.

    Needs two people on each side and some spread for an interval and p-value.
    """
    if a.size == 0 or b.size == 0:
        return None
    diff = float(np.mean(a) - np.mean(b))
    if a.size < 2 or b.size < 2:
        return Difference(diff, None, None, int(a.size), int(b.size))
    va, vb = float(np.var(a, ddof=1)) / a.size, float(np.var(b, ddof=1)) / b.size
    se = math.sqrt(va + vb)
    if not se > 1e-12 * max(1.0, abs(diff)):
        return Difference(diff, None, None, int(a.size), int(b.size))
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.975, df)) * se
    p = float(2 * stats.t.sf(abs(diff) / se, df))
    return Difference(diff, (diff - half, diff + half), p, int(a.size), int(b.size))


def wilson_interval(count: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's score interval for the share ``count / n`` (``n`` > 0)."""
    p = count / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
