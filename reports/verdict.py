"""The one-line verdict on a change: claimed only when the adjusted evidence supports it.

A reader remembers the verdict, not the interval, so the rules are strict. A direction
("increase" / "decrease") needs all of: enough people for an exact test to decide, changes
that vary (a zero-width interval measures nothing), a 95% t-interval that leaves out zero,
a Wilcoxon signed-rank test that agrees (raw p < 0.05), and the p-value adjusted for the
report's number of comparisons below 0.05. Anything less is "no clear change" (with the
reason) or "not enough data".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALPHA",
    "MIN_DECIDABLE_N",
    "NOT_ENOUGH_DATA",
    "NO_CLEAR_CHANGE",
    "Verdict",
    "change_verdict",
    "difference_verdict",
]

#: The significance level every verdict uses, after adjustment.
ALPHA = 0.05

#: The fewest paired people for which an exact two-sided signed-rank test can reach p < 0.05:
#: with n people the smallest possible p is 2 / 2**n (0.0625 for 5, 0.03125 for 6).
MIN_DECIDABLE_N = 6

NO_CLEAR_CHANGE = "no clear change"
NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class Verdict:
    """``verdict`` is "increase", "decrease", "no clear change" or "not enough data";
    ``better`` says whether a direction is an improvement (``None`` without a direction);
    ``reason`` says in plain words why."""

    verdict: str
    better: bool | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON keys ``verdict``, ``verdict_better`` and ``verdict_reason``."""
        return {
            "verdict": self.verdict,
            "verdict_better": self.better,
            "verdict_reason": self.reason,
        }

    @property
    def directional(self) -> bool:
        """Whether the verdict claims a direction."""
        return self.verdict in ("increase", "decrease")


def _tests(m: int) -> str:
    return f"{m} test" if m == 1 else f"{m} tests"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def change_verdict(
    *,
    n: int,
    ci95: tuple[float, float] | None,
    spread_zero: bool,
    all_zero: bool,
    p_raw: float | None,
    p_adjusted: float | None,
    comparisons: int,
    higher_is_better: bool,
) -> Verdict:
    """The verdict on one measure's change in one scope, from its published figures."""
    if n < 2 or ci95 is None:
        return Verdict(
            NOT_ENOUGH_DATA, None, "fewer than two people answered at the start and again later"
        )
    if n < MIN_DECIDABLE_N:
        return Verdict(
            NOT_ENOUGH_DATA,
            None,
            f"with fewer than {MIN_DECIDABLE_N} people no test can show a change at the 5% "
            f"level (the smallest exact p-value for {n} people is {2 / 2**n:.3g})",
        )
    if all_zero:
        return Verdict(NO_CLEAR_CHANGE, None, "nobody's answer changed")
    if spread_zero:
        return Verdict(
            NO_CLEAR_CHANGE,
            None,
            "everyone changed by exactly the same amount, so the interval has no width and "
            "says nothing about uncertainty",
        )
    if p_raw is None or p_adjusted is None:
        return Verdict(NO_CLEAR_CHANGE, None, "no test could be made")
    low, high = ci95
    interval_says = low > 0 or high < 0
    test_says = p_raw < ALPHA
    if interval_says != test_says:
        if interval_says:
            why = (
                "the 95% interval leaves out zero but the Wilcoxon test does not find a "
                f"change ({_p(p_raw)}), so the evidence is borderline"
            )
        else:
            why = (
                f"the Wilcoxon test finds a change ({_p(p_raw)}) but the 95% interval "
                "includes zero, so the evidence is borderline"
            )
        return Verdict(NO_CLEAR_CHANGE, None, why)
    if not interval_says:
        return Verdict(NO_CLEAR_CHANGE, None, "the 95% interval includes zero")
    if p_adjusted >= ALPHA:
        return Verdict(
            NO_CLEAR_CHANGE,
            None,
            f"the change does not hold after allowing for the report's {_tests(comparisons)} "
            f"(adjusted {_p(p_adjusted)})",
        )
    up = low > 0
    return Verdict(
        "increase" if up else "decrease",
        up == higher_is_better,
        f"the 95% interval leaves out zero and the Wilcoxon test agrees (adjusted "
        f"{_p(p_adjusted)}, allowing for {_tests(comparisons)})",
    )


def difference_verdict(
    *, ci95: tuple[float, float] | None, p_adjusted: float | None, comparisons: int
) -> Verdict:
    """The verdict on a difference in change between two places (Welch): "increase" means
    the first place's change was larger."""
    if ci95 is None or p_adjusted is None:
        return Verdict(NOT_ENOUGH_DATA, None, "too few people, or no spread, to compare")
    low, high = ci95
    if not (low > 0 or high < 0):
        return Verdict(NO_CLEAR_CHANGE, None, "the 95% interval of the difference includes zero")
    if p_adjusted >= ALPHA:
        return Verdict(
            NO_CLEAR_CHANGE,
            None,
            f"the difference does not hold after allowing for the report's "
            f"{_tests(comparisons)} (adjusted {_p(p_adjusted)})",
        )
    return Verdict(
        "increase" if low > 0 else "decrease",
        None,
        f"the 95% interval of the difference leaves out zero (adjusted {_p(p_adjusted)})",
    )
