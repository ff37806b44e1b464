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

    Otherwise a stable sort on the first key, after which only the runs of rows sharing a
    first key that are still out of order are sorted in full: rows that arrive in order of
    the later keys (answers in the order they were given, or a table scan that started
    part-way) cost one stable sort and a few small ones, not a full sort on every key.
    """
    if not _out_of_order(keys).any():
        return None
    order = np.argsort(keys[-1], kind="stable")
    ranked = [key[order] for key in keys]
    wrong = _out_of_order(ranked)
    if not wrong.any():
        return order
    # Each row's run of equal first keys; a wrong step lies inside a run (the first key is
    # sorted now), and sorting those runs' rows in place finishes the job exactly.
    primary = ranked[-1]
    new_run = np.empty(primary.size, dtype=bool)
    new_run[0] = True
    np.not_equal(primary[1:], primary[:-1], out=new_run[1:])
    run = np.cumsum(new_run) - 1
    bad = np.zeros(int(run[-1]) + 1, dtype=bool)
    bad[run[1:][wrong]] = True
    rows = np.flatnonzero(bad[run])
    order[rows] = order[rows][np.lexsort(tuple(key[rows] for key in ranked))]
    return order


def _out_of_order(keys: Sequence[np.ndarray]) -> np.ndarray:
    """Per pair of neighbouring rows, whether the second sorts before the first (by
    ``np.lexsort(keys)``'s order)."""
    n = keys[0].shape[0] if len(keys) else 0
    wrong = np.zeros(max(n - 1, 0), dtype=bool)
    tied = np.ones(max(n - 1, 0), dtype=bool)  # rows equal on every key checked so far
    for key in reversed(keys):
        before, after = key[:-1], key[1:]
        wrong |= tied & (before > after)
        tied &= before == after
        if not tied.any():
            break
    return wrong


def unique_codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique labels and each row's integer code into them, as
    ``np.unique(labels, return_inverse=True)`` gives them; linear for sorted integers and
    for integers in a small range (group ids, participant ids), which need no sort."""
    if labels.dtype.kind in "iu" and labels.ndim == 1 and labels.size > 1:
        if not np.any(labels[1:] < labels[:-1]):
            new = np.empty(labels.size, dtype=bool)
            new[0] = True
            np.not_equal(labels[1:], labels[:-1], out=new[1:])
            return labels[new], np.cumsum(new, dtype=np.int64) - 1
        low, high = int(labels.min()), int(labels.max())
        if high - low <= 4 * labels.size + 1_000_000:
            offset = labels.astype(np.int64) - low
            present = np.zeros(high - low + 1, dtype=bool)
            present[offset] = True
            code_of = np.cumsum(present, dtype=np.int64) - 1
            return np.flatnonzero(present).astype(labels.dtype) + low, code_of[offset]
    uniq, inverse = np.unique(labels, return_inverse=True)
    return uniq, inverse.reshape(-1).astype(np.int64)
