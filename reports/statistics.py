"""The statistics core of Groundswell's change summaries.

Everything here is pure: plain numpy arrays and Python values go in, frozen dataclasses
(with a JSON-ready ``to_dict``) come out. Nothing reads the database, so the same code
serves the web reports, the exports and the tests, and the figures a funder sees can be
recomputed from the raw answers by anyone.

For one measure (a number tracked across check-ins, see "Measures" in the flow format),
each participant's *baseline* is their first answer in the reporting period and their
*latest* is their last. Only participants who answered at two or more different times
are *paired*; every paired figure (means, change, tests, reliable change) uses those same
participants, so baseline and latest means describe the same people.

The work is vectorised (one sort, then ``reduceat`` over blocks) because a report may
cover a million answers; there is no Python loop over rows or participants.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import stats

from reports.intervals import dz_intervals
from reports.sorting import lexsort_order, unique_codes
from reports.verdict import Verdict, change_verdict

__all__ = [
    "DEFAULT_THRESHOLD",
    "FollowUp",
    "MeasureSummary",
    "Participation",
    "ReliableChange",
    "cohort_baseline_sd",
    "first_answers",
    "participation",
    "summarise_by_group",
    "summarise_measure",
    "ticks_per_day",
]

#: Smallest number of paired participants whose figures are shown (see disclosure.py).
DEFAULT_THRESHOLD = 5

#: Two-sided 95% critical value of the standard normal, as Jacobson and Truax use it.
_Z95 = 1.96

_NO_METHOD_REASON = "the flow gives neither reliability nor meaningful_change for this measure"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ReliableChange:
    """How many paired participants changed by more than measurement noise.

    ``reference_sd`` is the one SD Jacobson-Truax uses for the measure in every view, and
    ``sd_source`` says where it came from (``"flow"``: the flow's ``reference_sd``;
    ``"cohort"``: the whole cohort's baseline SD for the period).

    ``method`` is ``"jacobson-truax"`` (the measure gives a reliability), ``"meaningful-change"``
    (it gives the smallest change that matters) or ``"none"``. ``threshold`` is the size of
    change, in the measure's units, that counts as reliable. When people cannot be classified
    the three counts are ``None`` and ``reason`` says why, so a report never shows a zero that
    really means "not worked out".
    """

    method: str
    improved: int | None
    no_change: int | None
    deteriorated: int | None
    threshold: float | None
    reason: str | None = None
    reference_sd: float | None = None
    sd_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's ``reliable_change`` object."""
        return {
            "method": self.method,
            "improved": self.improved,
            "no_change": self.no_change,
            "deteriorated": self.deteriorated,
        }


@dataclass(frozen=True)
class MeasureSummary:
    """Change in one measure over a reporting period, for one group of participants.

    Figures that cannot be computed are ``None`` (never NaN), with the reason in ``notes``.
    ``changes`` holds each paired participant's change (latest minus baseline), ordered by
    participant id, for charts, and ``baselines`` their baselines in the same order (for
    bands); ``baseline_only`` holds the baselines of people with no later answer (or none
    in the follow-up window), for the attrition check. None of these is in ``to_dict``.

    ``suppressed`` means the figures must not be published (too few people, or hidden so a
    small group cannot be worked out by subtraction); ``to_dict`` then gives ``None`` for
    every figure, including ``n_paired``. ``notes`` never contain counts, but they are meant
    for staff, not for publication.
    """

    n_paired: int
    baseline_mean: float | None
    latest_mean: float | None
    mean_change: float | None
    ci95: tuple[float, float] | None
    median_change: float | None
    wilcoxon_p: float | None
    effect_size_dz: float | None
    reliable_change: ReliableChange
    suppressed: bool
    notes: list[str] = field(default_factory=list)
    changes: np.ndarray = field(
        default_factory=lambda: np.empty(0, dtype=np.float64), repr=False, compare=False
    )
    baselines: np.ndarray = field(
        default_factory=lambda: np.empty(0, dtype=np.float64), repr=False, compare=False
    )
    baseline_only: np.ndarray = field(
        default_factory=lambda: np.empty(0, dtype=np.float64), repr=False, compare=False
    )
    effect_size_dz_ci95: tuple[float, float] | None = None
    effect_size_dav: float | None = None
    effect_size_dav_ci95: tuple[float, float] | None = None
    follow_up_days: dict[str, float] | None = None
    higher_is_better: bool = True
    p_adjusted: float | None = None
    comparisons: int = 1
    verdict: Verdict | None = None

    def adjusted(self, p_adjusted: float | None, comparisons: int) -> MeasureSummary:
        """This summary with its p-value adjusted for ``comparisons`` tests, and the verdict
        that follows from it."""
        done = replace(self, p_adjusted=p_adjusted, comparisons=comparisons)
        return replace(done, verdict=_verdict_of(done))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values with the report's keys; full-precision floats, ``None`` for null.

        A suppressed summary keeps only ``suppressed`` and the reliable-change method.
        """
        if self.suppressed:
            return {
                "n_paired": None,
                "baseline_mean": None,
                "latest_mean": None,
                "mean_change": None,
                "ci95": None,
                "median_change": None,
                "wilcoxon_p": None,
                "p_adjusted": None,
                "verdict": None,
                "verdict_better": None,
                "verdict_reason": None,
                "effect_size_dz": None,
                "effect_size_dz_ci95": None,
                "effect_size_dav": None,
                "effect_size_dav_ci95": None,
                "follow_up_days": None,
                "reliable_change": {
                    "method": self.reliable_change.method,
                    "improved": None,
                    "no_change": None,
                    "deteriorated": None,
                },
                "notes": [],
                "suppressed": True,
            }
        verdict = self.verdict or _verdict_of(self)
        return {
            "n_paired": int(self.n_paired),
            "baseline_mean": _json_float(self.baseline_mean),
            "latest_mean": _json_float(self.latest_mean),
            "mean_change": _json_float(self.mean_change),
            "ci95": None
            if self.ci95 is None
            else [_json_float(self.ci95[0]), _json_float(self.ci95[1])],
            "median_change": _json_float(self.median_change),
            "wilcoxon_p": _json_float(self.wilcoxon_p),
            "p_adjusted": _json_float(self.p_adjusted),
            **verdict.to_dict(),
            "effect_size_dz": _json_float(self.effect_size_dz),
            "effect_size_dz_ci95": _json_pair(self.effect_size_dz_ci95),
            "effect_size_dav": _json_float(self.effect_size_dav),
            "effect_size_dav_ci95": _json_pair(self.effect_size_dav_ci95),
            "follow_up_days": None
            if self.follow_up_days is None
            else {k: _json_float(x) for k, x in self.follow_up_days.items()},
            "reliable_change": self.reliable_change.to_dict(),
            "notes": list(self.notes),
            "suppressed": False,
        }


def _json_pair(pair: tuple[float, float] | None) -> list[float | None] | None:
    """An interval as a JSON list, or ``None``."""
    return None if pair is None else [_json_float(pair[0]), _json_float(pair[1])]


def _verdict_of(summary: MeasureSummary) -> Verdict:
    """The verdict that ``summary``'s figures (with its adjusted p) support."""
    changes = summary.changes
    n = summary.n_paired
    return change_verdict(
        n=n,
        ci95=summary.ci95,
        spread_zero=n >= 1 and _all_equal(changes),
        all_zero=n >= 1 and bool(np.all(changes == 0)),
        p_raw=summary.wilcoxon_p,
        p_adjusted=summary.p_adjusted,
        comparisons=summary.comparisons,
        higher_is_better=summary.higher_is_better,
    )


@dataclass(frozen=True)
class Participation:
    """Who was asked and who answered: the context every change figure needs.

    ``flow`` is the attrition flow, stage by stage, for a funnel chart or table.
    ``response_rate`` is completed check-ins divided by check-ins sent (``None`` when none
    were sent), so it describes check-ins, not people.
    """

    enrolled: int
    prompted: int
    responded: int
    paired: int
    checkins_sent: int
    checkins_completed: int
    response_rate: float | None
    flow: list[tuple[str, int]]
    withdrawn: int = 0
    forgotten: int = 0
    lost_to_follow_up: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; the flow becomes a list of ``{"stage", "count"}`` objects."""
        return {
            "enrolled": self.enrolled,
            "prompted": self.prompted,
            "responded": self.responded,
            "paired": self.paired,
            "checkins_sent": self.checkins_sent,
            "checkins_completed": self.checkins_completed,
            "response_rate": self.response_rate,
            "withdrawn": self.withdrawn,
            "forgotten": self.forgotten,
            "lost_to_follow_up": self.lost_to_follow_up,
            "flow": [{"stage": stage, "count": count} for stage, count in self.flow],
        }


def _json_float(x: float | None) -> float | None:
    """A plain Python float, or ``None`` for missing / non-finite values."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


# --------------------------------------------------------------------------- input handling


def ticks_per_day(times: Any) -> float:
    """How many of ``times``' sortable ticks make a day: from a datetime64 unit, else 1
    (plain numbers are taken to be days)."""
    t = np.asarray(times)
    if t.dtype == object:
        t = t.astype("datetime64[us]")
    if np.issubdtype(t.dtype, np.datetime64):
        unit, count = np.datetime_data(t.dtype)
        one_day = np.array(1, dtype="timedelta64[D]")
        return float(one_day / np.array(count, dtype=f"timedelta64[{unit}]"))
    return 1.0


def _as_time_keys(times: Any) -> tuple[np.ndarray, np.ndarray]:
    """Times as sortable numbers plus a mask of usable rows (not NaT / NaN).

    datetime64 arrays are compared as their integer ticks (one unit within an array), so no
    precision is lost; Python datetimes in an object array are read as datetime64[us].
    """
    t = np.asarray(times)
    if t.dtype == object:
        try:
            t = t.astype("datetime64[us]")
        except (TypeError, ValueError) as exc:
            raise TypeError(
                "times must be datetime64, numbers, or naive datetimes; convert aware "
                "datetimes to UTC first"
            ) from exc
    if np.issubdtype(t.dtype, np.datetime64):
        return t.view(np.int64), ~np.isnat(t)
    if np.issubdtype(t.dtype, np.integer) or np.issubdtype(t.dtype, np.bool_):
        return t.astype(np.int64), np.ones(t.shape, dtype=bool)
    if np.issubdtype(t.dtype, np.floating):
        t = t.astype(np.float64)
        return t, ~np.isnan(t)
    raise TypeError(f"times must be datetime64 or numeric, not {t.dtype}")


def _prepare(
    participant_ids: Any, times: Any, values: Any, extra: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, list[str]]:
    """Check lengths, drop rows without a value or time, and return (ids, t, v, extra, notes)."""
    ids = np.asarray(participant_ids)
    t, t_ok = _as_time_keys(times)
    v = np.asarray(values, dtype=np.float64)
    arrays = [ids, t, v] + ([] if extra is None else [np.asarray(extra)])
    if any(a.ndim != 1 for a in arrays):
        raise ValueError("participant_ids, times and values must be one-dimensional")
    if len({len(a) for a in arrays}) != 1:
        raise ValueError("participant_ids, times and values must have the same length")
    notes: list[str] = []
    keep = t_ok & np.isfinite(v)
    ex = None if extra is None else np.asarray(extra)
    if not keep.all():
        notes.append("Answers without a value or a time were left out.")
        ids, t, v = ids[keep], t[keep], v[keep]
        if ex is not None:
            ex = ex[keep]
    return ids, t, v, ex, notes


def _small_codes(count: int) -> type[np.signedinteger[Any]]:
    """The narrowest integer type holding ``count`` codes (numpy sorts 16-bit ones by radix)."""
    return np.int16 if count < 2**15 else np.int64


def _codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique labels and each row's integer code into them."""
    return unique_codes(labels)


@dataclass(frozen=True)
class FollowUp:
    """Take each person's answer nearest ``target`` after their baseline, within
    ``window`` either side, instead of their latest (both in days)."""

    target: float
    window: float

    @classmethod
    def weeks(cls, weeks: float) -> FollowUp:
        """The follow-up ``weeks`` after baseline, window a quarter of it (at least a week)."""
        if not weeks > 0:
            raise ValueError(f"the follow-up must be a positive number of weeks, got {weeks}")
        return cls(target=7.0 * weeks, window=max(7.0, 7.0 * weeks / 4))


@dataclass(frozen=True)
class _Pairs:
    """The result of pairing: paired keys (ascending) with baseline and follow-up values
    and times, the keys that answered at one time only, the keys whose answers at one time
    were averaged, and (with a follow-up) the keys with no answer in its window."""

    key: np.ndarray
    baseline: np.ndarray
    latest: np.ndarray
    t_baseline: np.ndarray
    t_latest: np.ndarray
    single: np.ndarray
    same_time: np.ndarray
    missed: np.ndarray
    first_key: np.ndarray
    first_value: np.ndarray
    first_paired: np.ndarray  # per first_key: whether it is among the paired keys


def _pair_up(
    keys: np.ndarray,
    t: np.ndarray,
    v: np.ndarray,
    follow_up: tuple[float, float] | None = None,
) -> _Pairs:
    """Baseline and latest value for each key (participant) that answered at two times.

    Rows are sorted by key, then time (then value, so the result does not depend on row
    order at all). Answers a participant gave at the very same time are averaged, since
    neither is "first". ``follow_up`` is (target, window) in time ticks: the second answer
    is then the one nearest baseline + target within the window (the earlier on a tie).
    """
    n = keys.shape[0]
    if n == 0:
        empty = np.empty(0, dtype=np.float64)
        no_keys = np.empty(0, dtype=np.int64)
        return _Pairs(
            no_keys,
            empty,
            empty,
            empty,
            empty,
            no_keys,
            no_keys,
            no_keys,
            no_keys,
            empty,
            np.empty(0, dtype=bool),
        )
    order = lexsort_order((v, t, keys))
    k, tt, vv = (keys, t, v) if order is None else (keys[order], t[order], v[order])

    new_block = np.empty(n, dtype=bool)
    new_block[0] = True
    np.not_equal(k[1:], k[:-1], out=new_block[1:])
    new_block[1:] |= tt[1:] != tt[:-1]
    starts = np.flatnonzero(new_block)
    sizes = np.diff(np.append(starts, n))
    means = np.add.reduceat(vv, starts) / sizes
    block_key = k[starts]
    block_t = tt[starts]

    n_blocks = starts.shape[0]
    new_key = np.empty(n_blocks, dtype=bool)
    new_key[0] = True
    np.not_equal(block_key[1:], block_key[:-1], out=new_key[1:])
    first = np.flatnonzero(new_key)
    last = np.append(first[1:] - 1, n_blocks - 1)
    several = last > first
    missed = np.empty(0, dtype=np.int64)
    if follow_up is None:
        chosen, paired = last, several
    else:
        target, window = follow_up
        owner = np.cumsum(new_key) - 1
        base_t = block_t[first][owner].astype(np.float64)
        dist = np.abs(block_t.astype(np.float64) - (base_t + target))
        ok = ~new_key & (dist <= window)
        cand = np.flatnonzero(ok)
        by = np.lexsort((block_t[cand], dist[cand], owner[cand]))
        cand = cand[by]
        lead = np.ones(cand.size, dtype=bool)
        lead[1:] = owner[cand][1:] != owner[cand][:-1]
        chosen = last.copy()
        paired = np.zeros(first.size, dtype=bool)
        chosen[owner[cand[lead]]] = cand[lead]
        paired[owner[cand[lead]]] = True
        missed = block_key[first[several & ~paired]]
    return _Pairs(
        key=block_key[first[paired]],
        baseline=means[first[paired]],
        latest=means[chosen[paired]],
        t_baseline=block_t[first[paired]].astype(np.float64),
        t_latest=block_t[chosen[paired]].astype(np.float64),
        single=block_key[first[~several]],
        same_time=block_key[sizes > 1],
        missed=missed,
        first_key=block_key[first],
        first_value=means[first],
        first_paired=paired,
    )


def first_answers(participant_ids: Any, times: Any, values: Any) -> np.ndarray:
    """Each participant's baseline (first answer; answers at one time averaged), by id."""
    ids, t, v, _, _ = _prepare(participant_ids, times, values)
    _, codes = _codes(ids)
    n = codes.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.float64)
    order = lexsort_order((v, t, codes))
    k, tt, vv = (codes, t, v) if order is None else (codes[order], t[order], v[order])
    new_block = np.ones(n, dtype=bool)
    new_block[1:] = (k[1:] != k[:-1]) | (tt[1:] != tt[:-1])
    starts = np.flatnonzero(new_block)
    means = np.add.reduceat(vv, starts) / np.diff(np.append(starts, n))
    block_key = k[starts]
    lead = np.ones(starts.size, dtype=bool)
    lead[1:] = block_key[1:] != block_key[:-1]
    return means[lead]


def cohort_baseline_sd(participant_ids: Any, times: Any, values: Any) -> float | None:
    """The SD (n - 1) of every participant's baseline: the Jacobson-Truax reference SD when
    the flow gives none. ``None`` with fewer than two people or no spread."""
    baselines = first_answers(participant_ids, times, values)
    if baselines.size < 2 or _all_equal(baselines):
        return None
    return float(np.std(baselines, ddof=1))


def _check_options(reliability: float | None, meaningful_change: float | None) -> None:
    """Reject option values that would give meaningless reliable-change thresholds."""
    if reliability is not None and not (0.0 < float(reliability) < 1.0):
        raise ValueError(f"reliability must be between 0 and 1 (exclusive), got {reliability}")
    if meaningful_change is not None and not (float(meaningful_change) > 0.0):
        raise ValueError(f"meaningful_change must be positive, got {meaningful_change}")


# --------------------------------------------------------------------------- the figures


def _all_equal(x: np.ndarray) -> bool:
    """Whether all values are equal, allowing for floating-point rounding.

    Without this, changes such as (0.7 + 0.1) - 0.7 and (0.2 + 0.1) - 0.2, which are both
    0.1 up to rounding, give a standard deviation of about 1e-17 and an absurd d_z.
    """
    spread = float(np.max(x) - np.min(x))
    return spread <= 1e-12 * float(np.max(np.abs(x)))


def _reliable_change(
    changes: np.ndarray,
    *,
    higher_is_better: bool,
    reliability: float | None,
    meaningful_change: float | None,
    reference_sd: float | None,
    sd_source: str | None,
) -> ReliableChange:
    """Classify each paired participant as improved / no reliable change / deteriorated.

    Jacobson-Truax when a reliability r is given: SE_diff = reference SD * sqrt(2) *
    sqrt(1 - r), and a change is reliable when |change| > 1.96 * SE_diff. The reference SD
    is fixed per measure (the flow's, or the whole cohort's baseline SD), never the view's
    own, so a person is classified the same way in every report. Otherwise a change is
    reliable when |change| >= meaningful_change. With neither, nobody is classified.
    """
    n = changes.shape[0]
    if reliability is not None:
        method = "jacobson-truax"
        if reference_sd is None or not reference_sd > 0:
            return ReliableChange(
                method,
                None,
                None,
                None,
                None,
                "the flow gives no reference_sd and the cohort's baselines do not vary (or "
                "fewer than two people answered), so Jacobson-Truax cannot set a threshold",
            )
        se_diff = float(reference_sd) * math.sqrt(2.0) * math.sqrt(1.0 - float(reliability))
        threshold = _Z95 * se_diff
        reliable = np.abs(changes) > threshold
    elif meaningful_change is not None:
        method = "meaningful-change"
        threshold = float(meaningful_change)
        reference_sd, sd_source = None, None
        # A hair of tolerance so that a change of exactly m computed in floating point
        # (e.g. 0.1 + 0.2 - 0.3) is not missed; it cannot move any real answer across m.
        reliable = np.abs(changes) >= threshold * (1.0 - 1e-12)
    else:
        return ReliableChange("none", None, None, None, None, _NO_METHOD_REASON)

    better, worse = (changes > 0, changes < 0) if higher_is_better else (changes < 0, changes > 0)
    improved = int(np.count_nonzero(reliable & better))
    deteriorated = int(np.count_nonzero(reliable & worse))
    return ReliableChange(
        method,
        improved,
        n - improved - deteriorated,
        deteriorated,
        float(threshold),
        None,
        reference_sd,
        sd_source,
    )


def _empty_if_none(x: np.ndarray | None) -> np.ndarray:
    return np.empty(0, dtype=np.float64) if x is None else x


def _quartiles(days: np.ndarray) -> dict[str, float] | None:
    """Median, quartiles (numpy's linear method) and range of follow-up lengths in days."""
    if days.size == 0:
        return None
    p25, median, p75 = np.percentile(days, [25, 50, 75])
    return {
        "median": float(median),
        "p25": float(p25),
        "p75": float(p75),
        "min": float(days.min()),
        "max": float(days.max()),
    }


def _summarise_pairs(
    baseline: np.ndarray,
    latest: np.ndarray,
    *,
    higher_is_better: bool,
    reliability: float | None,
    meaningful_change: float | None,
    reference_sd: float | None,
    sd_source: str | None,
    threshold: int,
    notes: list[str],
    follow_up_days: np.ndarray | None = None,
    baseline_only: np.ndarray | None = None,
) -> MeasureSummary:
    """All paired figures from matched baseline / latest arrays."""
    notes = list(notes)
    changes = latest - baseline
    changes.setflags(write=False)
    n = int(changes.shape[0])
    rc = _reliable_change(
        changes,
        higher_is_better=higher_is_better,
        reliability=reliability,
        meaningful_change=meaningful_change,
        reference_sd=reference_sd,
        sd_source=sd_source,
    )
    if rc.reason is not None and rc.method != "none":
        notes.append(f"Reliable change not worked out: {rc.reason}.")

    if n == 0:
        notes.append("No participant answered both a baseline and a later check-in.")
        return MeasureSummary(
            0,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            rc,
            threshold > 0,
            notes,
            changes,
            baseline,
            higher_is_better=higher_is_better,
            baseline_only=_empty_if_none(baseline_only),
        )

    mean_change = float(np.mean(changes))
    ci95: tuple[float, float] | None = None
    wilcoxon_p: float | None = None
    dz: float | None = None
    dav: float | None = None
    if n < 2:
        notes.append("Only one paired participant: no confidence interval, test or effect size.")
    else:
        sd = 0.0 if _all_equal(changes) else float(np.std(changes, ddof=1))
        half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
        ci95 = (mean_change - half, mean_change + half)
        if sd > 0:
            dz = mean_change / sd  # its interval: _with_effect_intervals, for all at once
            sd_av = (float(np.std(baseline, ddof=1)) + float(np.std(latest, ddof=1))) / 2
            if sd_av > 0:
                dav = mean_change / sd_av
        else:
            notes.append(
                "Every participant changed by the same amount, so the interval has no width "
                "and d_z is undefined."
            )
        if np.all(changes == 0):
            notes.append(
                "Every paired participant's change was zero, so the Wilcoxon test "
                "has nothing to test."
            )
        else:
            p = wilcoxon_zsplit_p(changes)
            wilcoxon_p = p if math.isfinite(p) else None

    summary = MeasureSummary(
        n_paired=n,
        baseline_mean=float(np.mean(baseline)),
        latest_mean=float(np.mean(latest)),
        mean_change=mean_change,
        ci95=ci95,
        median_change=float(np.median(changes)),
        wilcoxon_p=wilcoxon_p,
        effect_size_dz=dz,
        reliable_change=rc,
        suppressed=n < threshold,
        notes=notes,
        changes=changes,
        baselines=baseline,
        baseline_only=_empty_if_none(baseline_only),
        effect_size_dav=dav,
        follow_up_days=None if follow_up_days is None else _quartiles(follow_up_days),
        higher_is_better=higher_is_better,
    )
    return summary.adjusted(wilcoxon_p, 1)


def _with_effect_intervals(summaries: list[MeasureSummary]) -> list[MeasureSummary]:
    """The summaries with the 95% intervals of d_z (exact, noncentral t) and d_av (the d_z
    interval times SD(changes) / average SD), worked out in one vectorised pass."""
    todo = [i for i, s in enumerate(summaries) if s.effect_size_dz is not None]
    if not todo:
        return summaries
    dz = np.array([summaries[i].effect_size_dz for i in todo], dtype=np.float64)
    n = np.array([summaries[i].n_paired for i in todo], dtype=np.float64)
    bounds = dz_intervals(dz, n)
    out = list(summaries)
    for row, i in enumerate(todo):
        s = summaries[i]
        low, high = bounds[row]
        if not (math.isfinite(low) and math.isfinite(high)):
            continue
        dav_ci = None
        if s.effect_size_dav is not None:
            latest = s.baselines + s.changes
            sd = float(np.std(s.changes, ddof=1))
            sd_av = (float(np.std(s.baselines, ddof=1)) + float(np.std(latest, ddof=1))) / 2
            dav_ci = (float(low) * sd / sd_av, float(high) * sd / sd_av)
        out[i] = replace(
            s, effect_size_dz_ci95=(float(low), float(high)), effect_size_dav_ci95=dav_ci
        )
    return out


def _pairing_notes(any_single: bool, any_same_time: bool) -> list[str]:
    """Notes (without counts, so they are safe next to small groups) about the pairing."""
    notes = []
    if any_single:
        notes.append(
            "Participants who answered at only one time have no change to measure and are "
            "left out of the paired figures."
        )
    if any_same_time:
        notes.append(
            "Some participants gave two answers at the same time; those answers were averaged."
        )
    return notes


def _follow_up_ticks(follow_up: FollowUp | None, times: Any) -> tuple[float, float] | None:
    """The follow-up's target and window in the ticks of ``times``."""
    if follow_up is None:
        return None
    per_day = ticks_per_day(times)
    return follow_up.target * per_day, follow_up.window * per_day


def _pairing_notes_for(any_single: bool, any_same_time: bool, any_missed: bool) -> list[str]:
    """The pairing notes, plus the follow-up window's when anyone missed it."""
    notes = _pairing_notes(any_single, any_same_time)
    if any_missed:
        notes.append(
            "Participants with no answer within the follow-up window are left out of the "
            "paired figures."
        )
    return notes


def _reference(
    reference_sd: float | None, ids: np.ndarray, t: np.ndarray, v: np.ndarray
) -> tuple[float | None, str | None]:
    """The Jacobson-Truax SD given, else the cohort baseline SD of these answers."""
    if reference_sd is not None:
        if not reference_sd > 0:
            raise ValueError(f"reference_sd must be positive, got {reference_sd}")
        return float(reference_sd), "flow"
    sd = cohort_baseline_sd(ids, t, v)
    return sd, None if sd is None else "cohort"


def summarise_measure(
    participant_ids: Any,
    times: Any,
    values: Any,
    *,
    higher_is_better: bool = True,
    reliability: float | None = None,
    meaningful_change: float | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    reference_sd: float | None = None,
    sd_source: str | None = None,
    follow_up: FollowUp | None = None,
) -> MeasureSummary:
    """Summarise change in one measure from a table of answers (one row per answer).

    ``participant_ids`` (int64 or object), ``times`` (datetime64 or numbers) and ``values``
    (float64) are parallel arrays. Rows without a value or time are ignored. ``threshold``
    is the small-number rule: with fewer paired participants the summary is marked
    suppressed (secondary suppression across groups is ``summarise_by_group``'s job).
    ``reference_sd`` is the Jacobson-Truax SD (default: the baseline SD of everyone in these
    answers; ``sd_source`` names where a given one came from). ``follow_up`` pairs each
    baseline with the answer nearest a fixed time after it instead of the latest.
    """
    _check_options(reliability, meaningful_change)
    ids, t, v, _, notes = _prepare(participant_ids, times, values)
    _, codes = _codes(ids)
    pairs = _pair_up(codes, t, v, _follow_up_ticks(follow_up, times))
    if reference_sd is None:
        reference_sd, sd_source = _reference(None, ids, t, v)
    summary = _summarise_pairs(
        pairs.baseline,
        pairs.latest,
        higher_is_better=higher_is_better,
        reliability=reliability,
        meaningful_change=meaningful_change,
        reference_sd=reference_sd,
        sd_source=sd_source or "flow",
        threshold=threshold,
        notes=notes
        + _pairing_notes_for(
            pairs.single.size > 0, pairs.same_time.size > 0, pairs.missed.size > 0
        ),
        follow_up_days=(pairs.t_latest - pairs.t_baseline) / ticks_per_day(times),
        baseline_only=pairs.first_value[~pairs.first_paired],
    )
    return _with_effect_intervals([summary])[0]


def summarise_by_group(
    group_ids: Any,
    participant_ids: Any,
    times: Any,
    values: Any,
    *,
    higher_is_better: bool = True,
    reliability: float | None = None,
    meaningful_change: float | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    reference_sd: float | None = None,
    sd_source: str | None = None,
    follow_up: FollowUp | None = None,
) -> dict[Hashable, MeasureSummary]:
    """Summarise one measure separately for each group, with small-number suppression.

    ``group_ids`` gives each answer's group. Pairing is within a group: a participant's
    baseline and latest are their first and last answers *in that group*. All groups are
    paired in one sort, so this costs about the same as ``summarise_measure``.

    Each summary is marked suppressed only below ``threshold`` (primary); what else must be
    hidden across groups and views is decided once by ``reports.disclosure.decide_cells``.
    Every group that has answers appears in the result (possibly with ``n_paired`` 0).
    The Jacobson-Truax ``reference_sd`` (default: the baseline SD of all these answers,
    worked out once) is the same for every group.
    """
    _check_options(reliability, meaningful_change)
    ids, t, v, groups, notes = _prepare(participant_ids, times, values, extra=group_ids)
    assert groups is not None
    if reference_sd is None:
        reference_sd, sd_source = _reference(None, ids, t, v)
    group_labels, group_codes = _codes(groups)
    _, person_codes = _codes(ids)
    n_people = int(person_codes.max()) + 1 if person_codes.size else 1
    keys = group_codes * n_people + person_codes
    # Rows sorted by person (as reports.data reads them) need only a stable sort by group
    # (linear, on small codes) to be sorted by key for _pair_up; others are sorted there.
    by_group = np.argsort(group_codes.astype(_small_codes(group_labels.size)), kind="stable")
    keys, t, v = keys[by_group], t[by_group], v[by_group]
    pairs = _pair_up(keys, t, v, _follow_up_ticks(follow_up, times))
    pair_group = pairs.key // n_people
    n_groups = group_labels.shape[0]
    bounds = np.searchsorted(pair_group, np.arange(n_groups + 1))
    has_single = np.bincount(pairs.single // n_people, minlength=n_groups) > 0
    has_same_time = np.bincount(pairs.same_time // n_people, minlength=n_groups) > 0
    has_missed = np.bincount(pairs.missed // n_people, minlength=n_groups) > 0
    days = (pairs.t_latest - pairs.t_baseline) / ticks_per_day(times)
    unpaired = ~pairs.first_paired
    unpaired_group = pairs.first_key[unpaired] // n_people
    unpaired_value = pairs.first_value[unpaired]

    summaries: dict[Hashable, MeasureSummary] = {}
    for gi, label in enumerate(group_labels.tolist()):
        lo, hi = bounds[gi], bounds[gi + 1]
        summaries[label] = _summarise_pairs(
            pairs.baseline[lo:hi],
            pairs.latest[lo:hi],
            higher_is_better=higher_is_better,
            reliability=reliability,
            meaningful_change=meaningful_change,
            reference_sd=reference_sd,
            sd_source=sd_source or "flow",
            threshold=threshold,
            notes=notes
            + _pairing_notes_for(
                bool(has_single[gi]), bool(has_same_time[gi]), bool(has_missed[gi])
            ),
            follow_up_days=days[lo:hi],
            baseline_only=unpaired_value[unpaired_group == gi],
        )
    summaries = dict(zip(summaries, _with_effect_intervals(list(summaries.values())), strict=True))
    return summaries


# --------------------------------------------------------------------------- participation


def participation(
    sent: Any,
    completed: Any,
    paired: Any,
    withdrawn: Any = None,
    forgotten: Any = None,
) -> Participation:
    """Who was asked and who answered, from one entry per enrolled participant.

    ``sent`` and ``completed`` are the numbers of check-ins sent to and completed by each
    enrolled participant; ``paired`` says whether they answered a baseline and a later
    check-in. Everyone in the arrays is enrolled. A paired participant counts as having
    responded even if neither check-in was finished (they answered the measure).
    ``withdrawn`` (opted out) and ``forgotten`` (erased) flag people by the end of the
    period; they stay in the stages they reached. Lost to follow-up: responded, not paired,
    and neither withdrawn nor forgotten.
    """
    s = np.asarray(sent, dtype=np.int64).reshape(-1)
    c = np.asarray(completed, dtype=np.int64).reshape(-1)
    p = np.asarray(paired, dtype=bool).reshape(-1)
    if not (s.shape == c.shape == p.shape):
        raise ValueError("sent, completed and paired need one entry per enrolled participant")
    if (s < 0).any() or (c < 0).any():
        raise ValueError("check-in counts cannot be negative")
    if (c > s).any():
        raise ValueError("a participant cannot complete more check-ins than were sent")
    if (p & (s < 2)).any():
        raise ValueError("a paired participant must have been sent at least two check-ins")

    w = np.zeros(s.shape, dtype=bool) if withdrawn is None else np.asarray(withdrawn, bool)
    f = np.zeros(s.shape, dtype=bool) if forgotten is None else np.asarray(forgotten, bool)
    if not (w.shape == f.shape == s.shape):
        raise ValueError("withdrawn and forgotten need one entry per enrolled participant")
    enrolled = int(s.shape[0])
    prompted = int(np.count_nonzero(s >= 1))
    answered = (c >= 1) | p
    responded = int(np.count_nonzero(answered))
    n_paired = int(np.count_nonzero(p))
    lost = int(np.count_nonzero(answered & ~p & ~w & ~f))
    total_sent = int(s.sum())
    total_completed = int(c.sum())
    return Participation(
        enrolled=enrolled,
        prompted=prompted,
        responded=responded,
        paired=n_paired,
        checkins_sent=total_sent,
        checkins_completed=total_completed,
        response_rate=total_completed / total_sent if total_sent else None,
        flow=[
            ("enrolled", enrolled),
            ("prompted", prompted),
            ("responded", responded),
            ("answered baseline and a later check-in", n_paired),
            ("withdrawn", int(np.count_nonzero(w))),
            ("forgotten", int(np.count_nonzero(f))),
            ("lost_to_follow_up", lost),
        ],
        withdrawn=int(np.count_nonzero(w)),
        forgotten=int(np.count_nonzero(f)),
        lost_to_follow_up=lost,
    )


PERMUTATION_LIMIT = 13  # scipy's own limit for its permutation version of the test


def wilcoxon_zsplit_p(changes: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value, zero differences split (scipy's zsplit).

    The same p-value scipy gives, quicker where scipy is slow: for up to 13 changes with
    ties or zeros, scipy runs a generic permutation test (seconds per call); here the
    exact null distribution comes from enumerating every sign pattern at once (2^13 at
    most), which gives the identical figure in well under a millisecond. Elsewhere scipy
    computes it (exact without ties or zeros up to 50, else the normal approximation).
    """
    d = np.asarray(changes, dtype=float)
    magnitudes = np.abs(d)
    tied = np.unique(magnitudes).size < d.size
    if d.size > PERMUTATION_LIMIT or not (tied or np.any(d == 0)):
        return float(stats.wilcoxon(d, zero_method="zsplit").pvalue)
    ranks = stats.rankdata(magnitudes)
    zeros = d == 0
    half_zero_ranks = 0.5 * ranks[zeros].sum()  # a zero counts half up, half down
    free = ranks[~zeros]
    patterns = (np.arange(2**free.size)[:, None] >> np.arange(free.size)) & 1
    null = patterns @ free + half_zero_ranks
    observed = ranks[d > 0].sum() + half_zero_ranks
    slack = abs(np.finfo(float).eps * observed) * 10  # as scipy compares, allowing rounding
    below = np.mean(null <= observed + slack)
    above = np.mean(null >= observed - slack)
    return float(min(1.0, 2 * min(below, above)))
