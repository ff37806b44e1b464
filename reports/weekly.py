"""The mean of a measure week by week, with its 95% interval and small-number suppression.

This is the trend line beside the paired figures: it uses everyone who answered in a week,
not only paired participants. Weeks run Monday to Sunday (UTC). A person who answered more
than once in a week counts once, with the mean of their answers, so each week's interval
is over independent people: mean +/- t(0.975, n - 1) x SD / sqrt(n), SD the sample SD.

Weekly figures are published for the whole report and, in a one-group report, for that
group. Which weeks are shown, and how each figure is rounded and perturbed, is decided by
``reports.disclosure`` (``series`` takes the policy and the period's hidden groups), so
every week passes through the same design as the paired figures.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from reports.disclosure import (
    DisclosurePolicy,
    no_spread,
    publish_count,
    publish_float,
    publish_mean,
    weekly_visibility,
)
from reports.sorting import lexsort_order, unique_codes

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
    """Week-by-week figures for the whole report and for each group.

    ``values`` / ``value_week`` / ``value_group`` are the person-week values (one per person
    and week), sorted by group then week, so a cell's values are a slice (``cell``).
    """

    week_start: np.ndarray  # datetime64[D], the Monday of each week
    total: _Stats
    groups: dict[int, _Stats]
    values: np.ndarray
    value_week: np.ndarray
    value_group: np.ndarray

    def cell(self, group: int | None, week: int) -> np.ndarray:
        """The person-week values of one group (None: everyone) in one week."""
        if group is None:
            found: np.ndarray = self.values[self.value_week == week]
            return found
        lo = np.searchsorted(self.value_group, group, side="left")
        hi = np.searchsorted(self.value_group, group, side="right")
        weeks = self.value_week[lo:hi]
        a, b = np.searchsorted(weeks, week, side="left"), np.searchsorted(weeks, week, "right")
        return self.values[lo + a : lo + b]

    def decisions(
        self, policy: DisclosurePolicy, period_hidden: set[int]
    ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Hidden flags per week for the total and each group (``weekly_visibility``)."""
        n_weeks = self.week_start.size
        total_hidden = np.zeros(n_weeks, dtype=bool)
        group_hidden = {g: np.zeros(n_weeks, dtype=bool) for g in self.groups}
        for w in range(n_weeks):
            counts: dict[Hashable, int] = {
                g: int(s.n[w]) for g, s in self.groups.items() if s.n[w] > 0
            }
            spread = policy.hide_no_spread
            flat = [
                g
                for g, s in self.groups.items()
                if s.n[w] > 0 and spread and no_spread(self.cell(g, w))
            ]
            decision = weekly_visibility(
                counts,
                int(self.total.n[w]),
                threshold=policy.threshold,
                primary=flat,
                total_primary=spread and no_spread(self.cell(None, w)),
                period_hidden=period_hidden,
            )
            total_hidden[w] = decision.total_hidden
            for g in decision.hidden_groups:
                if g in group_hidden:
                    group_hidden[g][w] = True
        return total_hidden, group_hidden

    def series(
        self,
        group: int | None,
        policy: DisclosurePolicy,
        hidden: np.ndarray,
        cell_name: str,
    ) -> list[dict[str, Any]]:
        """JSON-ready weeks for the whole report (``group`` None) or one group.

        Weeks in which nobody in the scope answered are left out; suppressed weeks keep
        their date, with null figures and ``suppressed: true``. Counts are rounded and
        means perturbed by ``reports.disclosure``; intervals are centred on the published
        mean.
        """
        if group is None:
            figures = self.total
        elif group in self.groups:
            figures = self.groups[group]
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
            mean = publish_mean(policy, cell_name, self.cell(group, int(w)))
            half = _finite(figures.high[w] - figures.mean[w])
            ci = None
            if mean is not None and half is not None:
                ci = [publish_float(policy, mean - half), publish_float(policy, mean + half)]
            out.append(
                {
                    "week_start": week,
                    "n": publish_count(policy, int(figures.n[w])),
                    "mean": mean,
                    "ci95": ci,
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
    order = lexsort_order((v, week_code, pid))
    if order is not None:
        g, pid, v, week_code = g[order], pid[order], v[order], week_code[order]
    new_block = np.ones(pid.size, dtype=bool)
    new_block[1:] = (pid[1:] != pid[:-1]) | (week_code[1:] != week_code[:-1])
    starts = np.flatnonzero(new_block)
    sizes = np.diff(np.append(starts, pid.size))
    pw_value = np.add.reduceat(v, starts) / sizes if starts.size else v[:0]
    pw_week = week_code[starts]
    pw_group = g[starts]

    total = _stats(pw_week, pw_value, n_weeks)
    group_labels, group_code = unique_codes(pw_group)
    per_group: dict[int, _Stats] = {}
    for gi, label in enumerate(group_labels.tolist()):
        if label == no_group:
            continue
        mask = group_code == gi
        per_group[int(label)] = _stats(pw_week[mask], pw_value[mask], n_weeks)

    # Rows by (group, week), each cell's rows in person order: a stable sort on one small
    # code per cell orders them exactly as np.lexsort((pw_week, pw_group)) does, faster.
    cells = group_code * max(n_weeks, 1) + pw_week
    narrow = np.int16 if cells.size == 0 or cells.max() < 2**15 else np.int64
    by_cell = np.argsort(cells.astype(narrow), kind="stable")
    return WeeklyMeans(
        week_start,
        total,
        per_group,
        pw_value[by_cell],
        pw_week[by_cell],
        pw_group[by_cell],
    )
