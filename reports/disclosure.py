"""Disclosure control: the one place that decides what a published figure may say.

Every figure that leaves Groundswell in a report, on the Reports page, in a chart or in a
coordinator's weekly summary passes through this module; exports (raw data for staff) do
not. The design follows what statistics offices do for tables built on demand (the ONS,
the ABS TableBuilder's cell key method), so that no hidden figure and no single resident's
answer can be worked out by adding and subtracting published figures:

1. **Fixed periods** (``snap_period``). Published periods are whole ISO weeks, Monday to
   Sunday (UTC): ``since`` moves back to its Monday, ``until`` back to the last Sunday that
   has ended (an open ``until`` means the last week that has ended). Reports requested on
   any day of a week are identical, so a reader cannot slice one day's newcomer out, and
   a weekly row is always a whole week, the same cell in every report.
2. **Cells decided once** (``decide_cells``). The cell is a group in a period. A group is
   hidden everywhere (every measure, its who-answered counts, its weekly rows, its name on
   stories) when any of its counts (people who responded, people paired, each measure's
   paired people) is between 1 and threshold - 1, or a measure has no spread (everyone gave
   the same answer). Secondary suppression is decided over the whole set of groups against
   the overall figure, for every count at once, and a one-group report is cut from that
   decision, so it is never more open than the all-groups report.
3. **Weekly rows** (``weekly_visibility``). Each week is decided from that week's cells
   alone (``suppress``), the same in every report; a report then hides, on top, the weekly
   rows of the groups it hides for the period, and the week's overall row whenever the
   remainder would isolate one group or fewer than threshold people.
4. **Rounded counts** (``publish_count``). Every published count of people or check-ins is
   rounded to the nearest multiple of 5 (``rounding_base``); rates are whole percentages.
5. **Consistent perturbation of means** (``publish_mean``, ``cell_noise``). Each mean gets
   a small noise, at most ``noise_points`` / n on the score scale (n the cell's people),
   drawn from a keyed hash (HMAC-SHA256, key ``GROUNDSWELL_REPORT_KEY``) of the cell's name
   and the answers in it. The same cell always gets the same noise, so asking again gives
   nothing new; two cells that differ by one person get unrelated noise, so subtracting one
   report from another leaves that person's answer buried in noise of up to about
   ``noise_points`` points either way. Intervals are centred on the published mean.

How a new figure passes through it (for anyone adding one to ``reports.build``):

- a count of people or check-ins: ``publish_count(policy, n)``;
- a mean of a cell's answers: ``publish_mean(policy, cell_name, values)``; a difference of
  two means: publish both and subtract the published ones;
- a share: ``publish_share(policy, count, total)``; a rate of check-ins: ``publish_rate``;
- any other summary (an SD, a quantile, a test statistic): round it with ``publish_float``
  after checking it does not reveal one person (a range or a minimum does: do not publish
  those); figures of a group the cell decision hides are never published at all;
- a figure for a new kind of cell (a new breakdown): add its counts to the vectors given
  to ``decide_cells`` so the group's hidden/shown decision covers it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import struct
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

__all__ = [
    "EXACT",
    "CellDecision",
    "DisclosurePolicy",
    "PublishedPeriod",
    "SuppressionResult",
    "cell_noise",
    "decide_cells",
    "describe",
    "no_spread",
    "publish_count",
    "publish_float",
    "publish_mean",
    "publish_rate",
    "publish_share",
    "snap_period",
    "suppress",
    "weekly_visibility",
]

#: The key used when a deployment sets none. The noise is then still consistent, but
#: someone with the source code could compute it: production sets GROUNDSWELL_REPORT_KEY.
DEFAULT_KEY = "groundswell-default-report-key"


@dataclass(frozen=True)
class DisclosurePolicy:
    """The settings of disclosure control for one report.

        ``threshold`` is the smallest number of people a published figure may describe
        (``GROUNDSWELL_MIN_GROUP_SIZE``); ``key`` seeds the cell noise
        (``GROUNDSWELL_REPORT_KEY``); ``rounding_base`` rounds counts; ``noise_points`` is the
        largest noise added to a cell's total, in score points; ``decimals`` rounds magnitudes;
        ``snap`` turns on fixed weekly periods; ``hide_no_spread`` hides groups whose answers
    are all the same. Only ``EXACT`` (for tests of the arithmetic)
        turns the protections off.
    """

    threshold: int = 5
    key: str = DEFAULT_KEY
    rounding_base: int = 5
    noise_points: float = 2.5
    decimals: int | None = 2
    snap: bool = True
    hide_no_spread: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int):
            raise ValueError(f"threshold must be a positive integer, got {self.threshold!r}")
        if self.threshold < 1:
            raise ValueError(f"threshold must be a positive integer, got {self.threshold!r}")
        if self.rounding_base < 1:
            raise ValueError("rounding_base must be at least 1")

    @property
    def protected(self) -> bool:
        """Whether counts are rounded and means perturbed (false only for ``EXACT``)."""
        return self.rounding_base > 1 or self.noise_points > 0


#: No rounding, noise, snapping or spread rule: suppression by counts only. For tests of
#: the arithmetic; never for a published report.
EXACT = DisclosurePolicy(
    rounding_base=1, noise_points=0.0, decimals=None, snap=False, hide_no_spread=False
)


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class PublishedPeriod:
    """The period a report really covers, after snapping to whole ISO weeks.

    ``first_day`` / ``last_day`` are the days included (None: open); ``snapped`` says
    whether they differ from what was asked; ``words`` says it for a reader.
    """

    first_day: date | None
    last_day: date | None
    snapped: bool
    words: str


def _as_day(value: date | datetime | None) -> date | None:
    if value is None or not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime or a date")
    return value.astimezone(UTC).date()


def snap_period(
    since: date | datetime | None,
    until: date | datetime | None,
    *,
    today: date,
    policy: DisclosurePolicy,
) -> PublishedPeriod:
    """Whole ISO weeks: ``since`` back to its Monday, ``until`` back to the last ended Sunday.

    An ``until`` datetime counts up to that instant, so a week counts only when it has
    ended by then; an open ``until`` is the end of the last week ended before ``today``.
    Without snapping (``EXACT``) the dates are kept as given (datetimes as their day).
    """
    asked_first, asked_until = _as_day(since), _as_day(until)
    if asked_first is not None and asked_until is not None and asked_until < asked_first:
        raise ValueError("the period ends before it starts: `until` must not be before `since`")
    if not policy.snap:
        first, last = _as_day(since), _as_day(until)
        return PublishedPeriod(first, last, False, _words(first, last))
    first = _as_day(since)
    if first is not None:
        first = first - timedelta(days=first.weekday())
    if until is None:
        end_day = today  # the week containing today has not ended
    elif isinstance(until, datetime):
        instant = _as_day(until)  # the day of the (excluded) end instant is not whole
        assert instant is not None
        end_day = instant
    else:
        end_day = until + timedelta(days=1)
    # end_day is the first day not included; the last included day is the Sunday before.
    last = end_day - timedelta(days=end_day.weekday() + 1)
    if first is not None and last < first:
        raise ValueError(
            "the period is shorter than one whole week (Monday to Sunday) that has ended; "
            "published reports cover whole weeks: choose a longer period"
        )
    asked_last = None if until is None else end_day - timedelta(days=1)
    snapped = (first, last) != (_as_day(since), asked_last)
    return PublishedPeriod(first, last, snapped, _words(first, last))


def _words(first: date | None, last: date | None) -> str:
    if first and last:
        return f"{first.isoformat()} to {last.isoformat()}"
    if first:
        return f"from {first.isoformat()}"
    if last:
        return f"up to {last.isoformat()}"
    return "all answers so far"


# --------------------------------------------------------------------------- suppression


@dataclass(frozen=True)
class SuppressionResult:
    """Which figures to hide: the groups in ``suppressed_groups``, and the total if flagged."""

    suppressed_groups: set[Hashable]
    total_suppressed: bool

    def is_suppressed(self, group: Hashable) -> bool:
        """Whether the figures for ``group`` must be hidden."""
        return group in self.suppressed_groups


def suppress(
    group_counts: Mapping[Hashable, int],
    total: int,
    *,
    threshold: int = 5,
    primary: Iterable[Hashable] = (),
) -> SuppressionResult:
    """Primary and secondary suppression of one table of counts (groups and their total).

    ``decide_cells`` with one vector; ``primary`` names groups hidden whatever their count.
    See ``decide_cells`` for the rule.
    """
    decision = decide_cells(
        {"count": group_counts}, {"count": total}, threshold=threshold, primary=primary
    )
    return SuppressionResult(set(decision.hidden_groups), decision.total_hidden)


@dataclass(frozen=True)
class CellDecision:
    """The one decision for a period: groups hidden everywhere, and whether the total is."""

    hidden_groups: frozenset[Hashable]
    total_hidden: bool
    reasons: dict[Hashable, str] = field(default_factory=dict, compare=False)

    def hides(self, group: Hashable | None) -> bool:
        """Whether ``group`` (None: the overall figures) is hidden."""
        return self.total_hidden if group is None else group in self.hidden_groups


def decide_cells(
    vectors: Mapping[str, Mapping[Hashable, int]],
    totals: Mapping[str, int],
    *,
    threshold: int,
    primary: Iterable[Hashable] = (),
    total_primary: bool = False,
) -> CellDecision:
    """Which groups (and whether the total) to hide, once, for every figure of a period.

    ``vectors`` holds, for each kind of count (people who responded, people paired, each
    measure's paired people ...), each group's count; ``totals`` the overall count of each
    kind, which may include people in no group. Groups must not overlap.

    1. Primary: a group with a count between 1 and threshold - 1 in any vector is hidden,
       and so is every group in ``primary`` (e.g. no spread) and every group with nobody
       in it (that a group is empty discloses nothing; it never counts as the one
       hidden group the secondary rule looks for). The total is hidden when any
       total is between 1 and threshold - 1, when every total is 0, or ``total_primary``.
    2. Secondary, for each vector while the total is shown: the remainder (total minus the
       shown groups) is what subtraction recovers; it must be 0 or at least ``threshold``,
       and must not be one hidden group alone. While either fails, hide the smallest shown
       group with anyone in it (ties by name); with none left, hide the total.

    A hidden group is hidden in every vector: one decision per group and period.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ValueError(f"threshold must be a positive integer, got {threshold!r}")
    clean = {
        kind: {g: _count(n, f"count for group {g!r}") for g, n in counts.items()}
        for kind, counts in vectors.items()
    }
    tot = {kind: _count(totals.get(kind, 0), "total") for kind in clean}
    for kind, counts in clean.items():
        if sum(counts.values()) > tot[kind]:
            raise ValueError(
                "the groups add up to more than the total; suppression needs groups that do "
                "not overlap (each person in at most one group)"
            )
    groups: set[Hashable] = set().union(*(c.keys() for c in clean.values())) if clean else set()
    reasons: dict[Hashable, str] = {}
    hidden: set[Hashable] = set()
    for g in primary:
        hidden.add(g)
        reasons[g] = "primary"
    for g in groups:  # nobody in it: nothing to show (and nothing disclosed by hiding it)
        if all(counts.get(g, 0) == 0 for counts in clean.values()):
            hidden.add(g)
            reasons[g] = "empty"
    for counts in clean.values():
        for g, n in counts.items():
            if 0 < n < threshold and g not in hidden:
                hidden.add(g)
                reasons[g] = "primary"
    total_hidden = (
        total_primary
        or any(0 < t < threshold for t in tot.values())
        or all(t == 0 for t in tot.values())
    )
    changed = True
    while changed and not total_hidden:
        changed = False
        for kind, counts in clean.items():
            while not total_hidden:
                shown = [g for g in groups if g not in hidden]
                remainder = tot[kind] - sum(counts.get(g, 0) for g in shown)
                hidden_with_people = [g for g in hidden if counts.get(g, 0) > 0]
                lone = len(hidden_with_people) == 1
                if not (0 < remainder < threshold or lone):
                    break
                candidates = [g for g in shown if counts.get(g, 0) > 0]
                if candidates:
                    pick = min(candidates, key=lambda g: (counts.get(g, 0), str(g)))
                    hidden.add(pick)
                    reasons[pick] = "secondary"
                    changed = True
                else:
                    total_hidden = True
    return CellDecision(frozenset(hidden), total_hidden, reasons)


def weekly_visibility(
    counts: Mapping[Hashable, int],
    total: int,
    *,
    threshold: int,
    primary: Iterable[Hashable] = (),
    total_primary: bool = False,
    period_hidden: Iterable[Hashable] = (),
) -> CellDecision:
    """One week's decision: from that week's counts alone, then the period's hidden groups.

    The week's own decision (``decide_cells`` over its counts) is the same in every report;
    on top, a report hides the weekly rows of the groups it hides for the whole period,
    and the week's overall row when the remainder would then be one group alone or fewer
    than ``threshold`` people. Groups are never shown that the week's own decision hides.
    """
    base = decide_cells(
        {"week": counts},
        {"week": total},
        threshold=threshold,
        primary=primary,
        total_primary=total_primary,
    )
    hidden = set(base.hidden_groups) | {g for g in period_hidden if counts.get(g, 0) > 0}
    total_hidden = base.total_hidden
    if not total_hidden and hidden != set(base.hidden_groups):
        shown = sum(n for g, n in counts.items() if g not in hidden)
        remainder = total - shown
        lone = len([g for g in hidden if counts.get(g, 0) > 0]) == 1
        total_hidden = 0 < remainder < threshold or lone
    return CellDecision(frozenset(hidden), total_hidden)


def _count(n: object, what: str) -> int:
    """``n`` as a non-negative int, or a clear error."""
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise ValueError(f"{what} must be a whole number, got {n!r}")
    value = int(n.__index__())
    if value < 0:
        raise ValueError(f"{what} cannot be negative, got {value}")
    return value


def no_spread(values: np.ndarray) -> bool:
    """Whether two or more values are all the same: a mean would then tell each one."""
    x = np.asarray(values, dtype=np.float64)
    return bool(x.size >= 2 and np.all(x == x[0]))


# --------------------------------------------------------------------------- publishing


def publish_count(policy: DisclosurePolicy, n: int | None) -> int | None:
    """A count of people or check-ins as published: rounded to the nearest ``rounding_base``.

    Halves round up (7.5 -> 10), as the ONS does; 0 stays 0.
    """
    if n is None:
        return None
    base = policy.rounding_base
    return int(n) if base <= 1 else int(math.floor(int(n) / base + 0.5) * base)


def publish_rate(policy: DisclosurePolicy, done: int, of: int) -> float | None:
    """A rate (e.g. check-ins completed of sent) as a whole percentage, as a fraction."""
    if of <= 0:
        return None
    rate = done / of
    return rate if not policy.protected else round(rate * 100) / 100


def publish_share(policy: DisclosurePolicy, count: int, total: int) -> float | None:
    """A share of people, from the rounded counts, as a whole percentage (a fraction)."""
    return publish_rate(
        policy, publish_count(policy, count) or 0, publish_count(policy, total) or 0
    )


def publish_float(policy: DisclosurePolicy, x: float | None, decimals: int | None = None) -> Any:
    """A magnitude rounded to the policy's decimals (or ``decimals``); None stays None."""
    if x is None or not math.isfinite(float(x)):
        return None
    places = policy.decimals if decimals is None else decimals
    return float(x) if places is None or not policy.protected else round(float(x), places)


def cell_noise(policy: DisclosurePolicy, cell: str, values: np.ndarray) -> float:
    """The cell's noise in [-1, 1]: a keyed hash of its name and its sorted answers.

    The same cell with the same answers always gets the same number; any change of who is
    in it gives an unrelated one. The key keeps the noise unknown to readers.
    """
    # Rounded first, so a mean worked out in another order (last bit) gets the same noise.
    x = np.sort(np.round(np.asarray(values, dtype=np.float64).ravel(), 9)) + 0.0
    digest = hmac.new(
        policy.key.encode(), cell.encode() + b"\x00" + x.tobytes(), hashlib.sha256
    ).digest()
    word: int = struct.unpack(">Q", digest[:8])[0]
    return float(word / 2**63 - 1.0)


def publish_mean(policy: DisclosurePolicy, cell: str, values: np.ndarray) -> Any:
    """The mean of a cell's values with its consistent noise (at most noise_points / n),
    rounded; None for an empty cell."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return None
    mean = float(np.mean(x))
    if policy.noise_points <= 0:
        return publish_float(policy, mean)
    noisy = mean + policy.noise_points * cell_noise(policy, cell, x) / x.size
    return publish_float(policy, noisy)


def describe(policy: DisclosurePolicy) -> dict[str, Any]:
    """The policy as the report's ``method.disclosure`` object."""
    return {
        "threshold": policy.threshold,
        "period": "whole ISO weeks" if policy.snap else "as requested",
        "counts_rounded_to": policy.rounding_base,
        "mean_noise_points": policy.noise_points,
        "decimals": policy.decimals,
    }
