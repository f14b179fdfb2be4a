"""Rows of a trace grouped by node in one pass: a stable counting sort, compiled.

A trace arrives in file order; the replay wants each node's rows together and in time
order (ties keep file order). Sorting by time first (skipped when the file is sorted
already, the usual case) and then counting-sorting by node gives both in O(n).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _counting_sort(
    codes: np.ndarray, n_groups: int, order: np.ndarray, perm: np.ndarray
) -> np.ndarray:
    """Fill ``perm`` with a stable sort by group of the rows in ``order`` (all rows in
    file order when it is empty); return the group offsets."""
    offsets = np.zeros(n_groups + 1, dtype=np.int64)
    for c in codes:
        offsets[c + 1] += 1
    for k in range(n_groups):
        offsets[k + 1] += offsets[k]
    fill = offsets[:-1].copy()
    for step in range(codes.shape[0]):
        j = order[step] if order.shape[0] else step
        c = codes[j]
        perm[fill[c]] = j
        fill[c] += 1
    return offsets


@njit(cache=True)
def _is_sorted(values: np.ndarray) -> bool:
    for j in range(1, values.shape[0]):
        if values[j] < values[j - 1]:
            return False
    return True


def group_rows(
    codes: np.ndarray, n_groups: int, times: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by node (``codes``), by time within a group, ties in file order:
    the permutation and each group's offsets into it."""
    sorted_already = _is_sorted(times)
    order = np.zeros(0, np.int64) if sorted_already else np.argsort(times, kind="stable")
    perm = np.empty(codes.shape[0], dtype=np.int32 if codes.shape[0] < 2**31 else np.int64)
    offsets = _counting_sort(codes, n_groups, order, perm)
    return perm, offsets
