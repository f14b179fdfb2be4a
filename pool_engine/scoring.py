"""The compiled loop of :func:`pool_engine.placement.place`: kube-scheduler's
``NodeResourcesFit`` score, resource by resource, and the first-best node of every
pod start (the rules in words are in :mod:`pool_engine.placement`).

Kept apart from :mod:`pool_engine.placement` so that importing the placement types
(the exporter's command line does) does not load numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pool_engine.events import START


@njit(cache=True)
def score(requested: int, allocatable: int, most_allocated: bool) -> int:
    """One resource's score, 0..100, with the pod's own request in ``requested``."""
    if allocatable <= 0:
        return 0
    if most_allocated:
        return requested * 100 // allocatable
    return (allocatable - requested) * 100 // allocatable


@njit(cache=True)
def place_rows(kinds: np.ndarray, pods: np.ndarray, requests: np.ndarray, pinned: np.ndarray,
               cpu: np.ndarray, slots: np.ndarray, open_to_all: np.ndarray,
               most: bool) -> np.ndarray:  # fmt: skip
    """The node of every row (-1: unplaced), from what
    :func:`pool_engine.placement.place` prepares."""
    n_nodes = cpu.shape[0]
    used_cpu = np.zeros(n_nodes, dtype=np.int64)
    used_slots = np.zeros(n_nodes, dtype=np.int64)
    pod_node = np.full(pods.max() + 1 if pods.shape[0] else 0, -1, dtype=np.int64)
    pod_cpu = np.zeros(pod_node.shape[0], dtype=np.int64)
    out = np.full(kinds.shape[0], -1, dtype=np.int64)
    for i in range(kinds.shape[0]):
        pod = pods[i]
        if kinds[i] != START:
            k = pod_node[pod]
            if k >= 0:
                used_cpu[k] -= pod_cpu[pod]
                used_slots[k] -= 1
                pod_node[pod] = -1
                out[i] = k
            continue
        if pod_node[pod] >= 0:
            continue  # started twice: the first placement stands
        want = requests[i]
        best, best_score = -1, -1
        lo, hi = (pinned[i], pinned[i] + 1) if pinned[i] >= 0 else (0, n_nodes)
        for k in range(lo, hi):
            if pinned[i] < 0 and not open_to_all[k]:
                continue
            if used_cpu[k] + want > cpu[k] or used_slots[k] + 1 > slots[k]:
                continue
            s = score(used_cpu[k] + want, cpu[k], most)
            s += score(used_slots[k] + 1, slots[k], most)
            if s > best_score:
                best, best_score = k, s
        if best >= 0:
            used_cpu[best] += want
            used_slots[best] += 1
            pod_node[pod] = best
            pod_cpu[pod] = want
            out[i] = best
    return out
