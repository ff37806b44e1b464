"""The mean of a measure week by week, with its 95% interval and small-number suppression.

This is the trend line beside the paired figures: it uses everyone who answered in a week,
not only paired participants. Weeks run Monday to Sunday (UTC). A person who answered more
than once in a week counts once, with the mean of their answers, so each week's interval
is over independent people: mean +/- t(0.975, n - 1) x SD / sqrt(n), SD the sample SD.

Weekly figures are published for the whole report and, in a one-group report, for that
group, so each week is suppressed like the paired figures: ``reports.suppression.suppress``
over that week's group counts, so no group's week can be recovered by subtraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from reports.suppression import suppress

__all__ = ["WeeklyMeans", "weekly_means"]

#: 1970-01-01 was a Thursday; shifting by 3 days makes week numbers start on Mondays.
_MONDAY_SHIFT = 3


@dataclass(frozen=True)
class _Stats:
    """Per-week count, mean and 95% interval for one scope (arrays indexed by week)."""

    n: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class WeeklyMeans:
    """Week-by-week figures for the whole report and for each group, with suppression."""

    week_start: np.ndarray  # datetime64[D], the Monday of each week
    total: _Stats
    total_hidden: np.ndarray  # bool per week
    groups: dict[int, _Stats]
    group_hidden: dict[int, np.ndarray]  # bool per week

    def series(self, group: int | None = None) -> list[dict[str, Any]]:
        """JSON-ready weeks for the whole report (``group`` None) or one group.

        Weeks in which nobody in the scope answered are left out; suppressed weeks keep
        their date, with null figures and ``suppressed: true``.
        """
        if group is None:
            figures, hidden = self.total, self.total_hidden
        elif group in self.groups:
            figures, hidden = self.groups[group], self.group_hidden[group]
        else:
            return []
        out: list[dict[str, Any]] = []
        for w in np.flatnonzero(figures.n > 0):
            week = str(self.week_start[w])
            if hidden[w]:
                out.append(
                    {"week_start": week, "n": None, "mean": None, "ci95": None, "suppressed": True}
                )
                continue
            low, high = _finite(figures.low[w]), _finite(figures.high[w])
            out.append(
                {
                    "week_start": week,
                    "n": int(figures.n[w]),
                    "mean": _finite(figures.mean[w]),
                    "ci95": None if low is None or high is None else [low, high],
                    "suppressed": False,
                }
            )
        return out


def _finite(x: float) -> float | None:
    """A plain float, or None for NaN / infinity."""
    x = float(x)
    return x if math.isfinite(x) else None


def _stats(codes: np.ndarray, x: np.ndarray, size: int) -> _Stats:
    """Count, mean and t-interval of ``x`` for each code in ``range(size)``."""
    n = np.bincount(codes, minlength=size).astype(np.int64)
    sums = np.bincount(codes, weights=x, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / n
        dev = x - mean[codes]
        ss = np.bincount(codes, weights=dev * dev, minlength=size)
        sd = np.sqrt(ss / (n - 1))
        half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return _Stats(n=n, mean=mean, low=mean - half, high=mean + half)


def weekly_means(
    group_ids: np.ndarray,
    participant_ids: np.ndarray,
    times: np.ndarray,
    values: np.ndarray,
    *,
    threshold: int,
    no_group: int = -1,
) -> WeeklyMeans:
    """Weekly means of one measure from its answers (parallel arrays, one row per answer).

    ``times`` are ``datetime64``; ``group_ids`` are integers with ``no_group`` for people in
    no group (they count in the total only). Rows without a finite value are ignored.
    """
    keep = np.isfinite(values) & ~np.isnat(times)
    g, pid, t, v = group_ids[keep], participant_ids[keep], times[keep], values[keep]
    days = t.astype("datetime64[D]").astype(np.int64)
    week_numbers = (days + _MONDAY_SHIFT) // 7
    first_week = int(week_numbers.min()) if week_numbers.size else 0
    n_weeks = int(week_numbers.max()) - first_week + 1 if week_numbers.size else 0
    week_code = week_numbers - first_week
    week_start = ((np.arange(n_weeks) + first_week) * 7 - _MONDAY_SHIFT).astype("datetime64[D]")

    # One value per person and week: the mean of their answers that week. Rows are sorted
    # (person, week, value) so the sums, and so the figures, do not depend on row order.
    order = np.lexsort((v, week_code, pid))
    g, pid, v, week_code = g[order], pid[order], v[order], week_code[order]
    new_block = np.ones(pid.size, dtype=bool)
    new_block[1:] = (pid[1:] != pid[:-1]) | (week_code[1:] != week_code[:-1])
    starts = np.flatnonzero(new_block)
    sizes = np.diff(np.append(starts, pid.size))
    pw_value = np.add.reduceat(v, starts) / sizes if starts.size else v[:0]
    pw_week = week_code[starts]
    pw_group = g[starts]

    total = _stats(pw_week, pw_value, n_weeks)
    group_labels, group_code = np.unique(pw_group, return_inverse=True)
    group_code = group_code.reshape(-1)
    per_group: dict[int, _Stats] = {}
    for gi, label in enumerate(group_labels.tolist()):
        if label == no_group:
            continue
        mask = group_code == gi
        per_group[int(label)] = _stats(pw_week[mask], pw_value[mask], n_weeks)

    total_hidden = np.zeros(n_weeks, dtype=bool)
    group_hidden = {label: np.zeros(n_weeks, dtype=bool) for label in per_group}
    for w in range(n_weeks):
        counts = {label: int(s.n[w]) for label, s in per_group.items() if s.n[w] > 0}
        decision = suppress(counts, int(total.n[w]), threshold=threshold)
        total_hidden[w] = decision.total_suppressed
        for label in decision.suppressed_groups:
            group_hidden[label][w] = True
    return WeeklyMeans(week_start, total, total_hidden, per_group, group_hidden)
