"""Intervals beyond the mean change: effect sizes, Welch differences and Wilson shares.

Each function is the textbook formula with scipy's distributions, so a statistician can
recompute every published figure from the exported answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "Difference",
    "dz_interval",
    "dz_intervals",
    "welch_difference",
    "welch_pairs",
    "wilson_interval",
]


def dz_intervals(dz: np.ndarray, n: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Exact intervals of many d_z at once: rows of (low, high), NaN where there is none.

    Each inverts the noncentral t of t = d_z * sqrt(n) with n - 1 degrees of freedom: the
    noncentrality c where P(T <= t | c) is 0.975 (low) or 0.025 (high), divided by
    sqrt(n). The roots are found by bisection on all intervals together (60 halvings of a
    bracket of t +/- 5 normal-theory SEs, to about 1e-15), because one vectorised call of
    scipy's noncentral t costs what a single scalar call does.
    """
    dz = np.asarray(dz, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    out = np.full((dz.size, 2), np.nan)
    ok = (n >= 2) & np.isfinite(dz)
    if not ok.any():
        return out
    df = n[ok] - 1
    t = dz[ok] * np.sqrt(n[ok])
    # Beyond this bracket scipy's noncentral t returns NaN; the roots lie well inside it.
    width = 5.0 * np.sqrt(1.0 + t * t / (2.0 * df)) + 1.0
    tail = (1 - level) / 2
    roots = []
    for target in (1 - tail, tail):
        low, high = t - width, t + width
        for _ in range(60):
            mid = (low + high) / 2
            above = stats.nct.cdf(t, df, mid) > target  # the cdf falls as c grows
            low = np.where(above, mid, low)
            high = np.where(above, high, mid)
        root = (low + high) / 2
        edge = (np.abs(root - (t - width)) < 1e-9) | (np.abs(root - (t + width)) < 1e-9)
        roots.append(np.where(edge, np.nan, root))
    out[ok, 0] = roots[0] / np.sqrt(n[ok])
    out[ok, 1] = roots[1] / np.sqrt(n[ok])
    return out


def dz_interval(dz: float, n: int, level: float = 0.95) -> tuple[float, float] | None:
    """The exact interval of one d_z (see ``dz_intervals``); ``None`` when there is none."""
    low, high = dz_intervals(np.array([dz]), np.array([n]), level)[0]
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return float(low), float(high)


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


def welch_pairs(samples: list[np.ndarray]) -> list[Difference | None]:
    """``welch_difference(samples[i], samples[j])`` for every i < j (in that order), worked
    out together so that scipy's t-distribution is called once, not once per pair."""
    k = len(samples)
    idx_a, idx_b = np.triu_indices(k, 1)
    if idx_a.size == 0:
        return []
    size = np.array([x.size for x in samples], dtype=np.float64)
    mean = np.array([float(np.mean(x)) if x.size else np.nan for x in samples])
    var_n = np.array(
        [float(np.var(x, ddof=1)) / x.size if x.size >= 2 else np.nan for x in samples]
    )
    va, vb = var_n[idx_a], var_n[idx_b]
    diff = mean[idx_a] - mean[idx_b]
    se = np.sqrt(va + vb)
    usable = (size[idx_a] >= 2) & (size[idx_b] >= 2)
    usable &= se > 1e-12 * np.maximum(1.0, np.abs(np.nan_to_num(diff)))
    with np.errstate(invalid="ignore", divide="ignore"):
        df = (va + vb) ** 2 / (va**2 / (size[idx_a] - 1) + vb**2 / (size[idx_b] - 1))
        df = np.where(usable, df, 1.0)
        half = np.asarray(stats.t.ppf(0.975, df) * se, dtype=np.float64)
        p = np.asarray(2 * stats.t.sf(np.abs(diff) / np.where(usable, se, 1.0), df))
    out: list[Difference | None] = []
    for i, (a, b) in enumerate(zip(idx_a.tolist(), idx_b.tolist(), strict=True)):
        if size[a] == 0 or size[b] == 0:
            out.append(None)
        elif not usable[i]:
            out.append(Difference(float(diff[i]), None, None, int(size[a]), int(size[b])))
        else:
            ci = (float(diff[i] - half[i]), float(diff[i] + half[i]))
            out.append(Difference(float(diff[i]), ci, float(p[i]), int(size[a]), int(size[b])))
    return out


def wilson_interval(count: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's score interval for the share ``count / n`` (``n`` > 0)."""
    p = count / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
