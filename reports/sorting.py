"""Sorting that costs nothing when the rows already come sorted.

A report sorts each measure's answers by participant and time several times (pairing,
baselines, weekly means, who is paired). ``reports.data`` reads them from the database in
that order, so each of those sorts only needs to check it: one linear pass instead of an
``n log n`` sort, which is what keeps a ten-million-answer report within its time. The
results are exactly those of ``np.lexsort`` and ``np.unique`` (rows that tie on every key
are equal, so their order cannot change a figure), and unsorted input is sorted as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["lexsort_order", "unique_codes"]


def lexsort_order(keys: Sequence[np.ndarray]) -> np.ndarray | None:
    """``np.lexsort(keys)`` (the last key sorts first), or None when the rows are in that
    order already. Keys must hold no NaN (the callers drop rows without a value).

    Rows that arrive in order of the later keys (answers in the order they were given, say)
    need only a stable sort on the first key, which is tried before the full sort.
    """
    if _is_sorted(keys):
        return None
    primary = keys[-1]
    order = np.argsort(primary, kind="stable")
    if _is_sorted([key[order] for key in keys]):
        return order
    return np.lexsort(tuple(keys))


def _is_sorted(keys: Sequence[np.ndarray]) -> bool:
    """Whether the rows are in ``np.lexsort(keys)`` order (one pass per key at most)."""
    n = keys[0].shape[0] if len(keys) else 0
    if n < 2:
        return True
    tied = np.ones(n - 1, dtype=bool)  # rows still equal on every key checked so far
    for key in reversed(keys):
        before, after = key[:-1], key[1:]
        if np.any(tied & (before > after)):
            return False
        tied &= before == after
        if not tied.any():
            break
    return True


def unique_codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique labels and each row's integer code into them, as
    ``np.unique(labels, return_inverse=True)`` gives them; linear for sorted integers."""
    if (
        labels.dtype.kind in "iu"
        and labels.ndim == 1
        and labels.size > 1
        and not np.any(labels[1:] < labels[:-1])
    ):
        new = np.empty(labels.size, dtype=bool)
        new[0] = True
        np.not_equal(labels[1:], labels[:-1], out=new[1:])
        return labels[new], np.cumsum(new, dtype=np.int64) - 1
    uniq, inverse = np.unique(labels, return_inverse=True)
    return uniq, inverse.reshape(-1).astype(np.int64)
