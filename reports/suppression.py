"""Small-number suppression: never publish a figure that describes only a handful of people.

A change summary for three residents of one street is close to a summary of each of them,
so reports hide figures for groups with fewer paired participants than a threshold
(default 5). Hiding a small group is not enough on its own: if the overall total and every
other group are shown, the hidden group's count (and its figures, by weighting the means)
can be worked out by subtraction. ``suppress`` therefore also hides enough other figures
that anything recoverable by subtraction describes either nobody or at least ``threshold``
people.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["SuppressionResult", "suppress"]

Group = TypeVar("Group", bound=Hashable)


@dataclass(frozen=True)
class SuppressionResult(Generic[Group]):
    """Which figures to hide: the groups in ``suppressed_groups``, and the total if flagged."""

    suppressed_groups: set[Group]
    total_suppressed: bool

    def is_suppressed(self, group: Group) -> bool:
        """Whether the figures for ``group`` must be hidden."""
        return group in self.suppressed_groups


def suppress(
    group_counts: Mapping[Group, int], total: int, *, threshold: int = 5
) -> SuppressionResult[Group]:
    """Decide which group figures, and whether the total, must be hidden.

    ``group_counts`` maps each group to its number of paired participants; ``total`` is the
    number behind the overall figure shown with them. Groups must not overlap, so the sum of
    the groups is at most ``total``; the difference is people in no group.

    The rule, applied until nothing changes:

    1. Primary: a group with fewer than ``threshold`` people is hidden, and so is the total
       when it is below ``threshold``.
    2. Secondary (only while the total is shown): the *remainder*, the total minus the shown
       groups, is what a reader can recover by subtraction. It covers the hidden groups
       together, so it must be 0 or at least ``threshold``. And when exactly one group with
       anyone in it is hidden, the remainder would point at that one group, so another must be
       hidden too. While either condition fails, hide the smallest shown group (ties broken by
       name); if no group is left to hide, hide the total.

    A hidden group with 0 people may be left as the only hidden group: working out that a
    group has nobody in it discloses nothing about anyone.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ValueError(f"threshold must be a positive integer, got {threshold!r}")
    counts = {g: _count(n, f"count for group {g!r}") for g, n in group_counts.items()}
    total = _count(total, "total")
    if sum(counts.values()) > total:
        raise ValueError(
            "the groups add up to more than the total; suppression needs groups that do not "
            "overlap (each person in at most one group)"
        )

    hidden = {g for g, n in counts.items() if n < threshold}
    total_hidden = total < threshold
    while not total_hidden:
        shown = [g for g in counts if g not in hidden]
        remainder = total - sum(counts[g] for g in shown)
        lone_group = len(hidden) == 1 and counts[next(iter(hidden))] > 0
        if not (0 < remainder < threshold or lone_group):
            break
        if shown:
            hidden.add(min(shown, key=lambda g: (counts[g], str(g))))
        else:
            total_hidden = True
    return SuppressionResult(suppressed_groups=hidden, total_suppressed=total_hidden)


def _count(n: object, what: str) -> int:
    """``n`` as a non-negative int, or a clear error."""
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise ValueError(f"{what} must be a whole number, got {n!r}")
    value = int(n.__index__())
    if value < 0:
        raise ValueError(f"{what} cannot be negative, got {value}")
    return value
