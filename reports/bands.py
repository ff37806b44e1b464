"""Shares of people in each band of a measure (e.g. ONS "low" to "very high"), at baseline
and latest, with Wilson 95% intervals.

A band's share times the number of paired people is a count, so the shares go through the
same small-number rule as every other figure: a band with 1 to threshold - 1 people is
hidden, and more bands are hidden where needed so that none can be worked out by taking
the shown bands away from the whole (``reports.disclosure.suppress``, bands standing for
groups). Shown shares are published like every count (``reports.disclosure``): the band's
count and the number of people are rounded first, and the share and its Wilson interval
are worked out from the rounded counts, so they never give an exact count back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reports.disclosure import DisclosurePolicy, publish_count, suppress
from reports.intervals import wilson_interval
from survey_flows.model import Band

__all__ = ["band_counts", "band_shares"]


def band_counts(values: np.ndarray, bands: tuple[Band, ...]) -> list[int]:
    """How many of ``values`` fall in each band. Bands are ordered; a band runs from its
    ``min`` up to the next band's ``min`` (the last up to its ``max``), so an average such as
    4.5 between "0 to 4" and "5 to 6" counts in the lower band."""
    counts = []
    for i, b in enumerate(bands):
        upper = values <= b.max if i == len(bands) - 1 else values < bands[i + 1].min
        counts.append(int(np.count_nonzero((values >= b.min) & upper)))
    return counts


def _at_one_time(
    values: np.ndarray, bands: tuple[Band, ...], policy: DisclosurePolicy
) -> list[Any]:
    """Each band's ``{share, ci95}`` at one time, hidden (``None``) where the rule says."""
    counts = band_counts(values, bands)
    n = int(values.size)
    decision = suppress(dict(enumerate(counts)), n, threshold=policy.threshold)
    out: list[Any] = []
    for i, count in enumerate(counts):
        if decision.total_suppressed or decision.is_suppressed(i) or n == 0:
            out.append({"share": None, "ci95": None, "suppressed": True})
        else:
            shown, of = publish_count(policy, count) or 0, publish_count(policy, n) or 0
            if of == 0:
                out.append({"share": None, "ci95": None, "suppressed": True})
                continue
            shown = min(shown, of)
            low, high = wilson_interval(shown, of)
            out.append({"share": shown / of, "ci95": [low, high], "suppressed": False})
    return out


def band_shares(
    baselines: np.ndarray,
    latests: np.ndarray,
    bands: tuple[Band, ...],
    policy: DisclosurePolicy,
) -> list[dict[str, Any]]:
    """The JSON ``bands`` list: per band its label and range, then baseline and latest."""
    at_start = _at_one_time(baselines, bands, policy)
    at_end = _at_one_time(latests, bands, policy)
    return [
        {"label": b.label, "min": b.min, "max": b.max, "baseline": s, "latest": e}
        for b, s, e in zip(bands, at_start, at_end, strict=True)
    ]
