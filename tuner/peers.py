"""Nodes with little history borrow targets from nodes with a similar churn profile.

Profiles are a few per-node features (arrival rate, lead-time demand, how peaky the
day is); k-means groups the nodes with enough history, and a node with too little of
its own gets its group's median targets. This is where scikit-learn earns its place:
scaling and clustering a handful of features robustly, nothing hand-rolled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

WEIGHTS = np.array([0.2, 1.0, 0.5])
"""Weights of the scaled features in the distance: rate, lead-time demand, peakiness."""
MIN_SCALE = np.array([0.25, 1.0, 0.05])
"""Smallest spread assumed per feature (log rate, pods, share of the day)."""


def features(
    arrivals: np.ndarray,
    hours: float | np.ndarray,
    demand: Sequence[float],
    peak_share: Sequence[float],
) -> np.ndarray:
    """One row per node: log arrivals per hour (``hours``: each node's, or one for
    all), lead-time demand p99, peak-hour share."""
    rate = np.log1p(arrivals / np.maximum(hours, 1e-9))
    return np.column_stack(
        [rate, np.asarray(demand, dtype=float), np.asarray(peak_share, dtype=float)]
    )


def borrow(
    table: np.ndarray,
    known: Sequence[int],
    unknown: Sequence[int],
    targets: dict[int, tuple[int, int]],
) -> dict[int, tuple[tuple[int, int], int]]:
    """For each unknown node: the median (min, max) of its group, and the group's size.

    ``known`` nodes have their own ``targets``; groups are fitted on them only.
    """
    if not unknown or len(known) < 4:
        return {}
    # scikit-learn (with scipy and pandas) loads here, not with the command line.
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(table[list(known)])
    scaler.scale_ = np.maximum(scaler.scale_, MIN_SCALE)  # near-constant features stay tame

    def place(rows: Sequence[int]) -> np.ndarray:
        # Burstiness decides min warm; the rate, poorly known for a sparse node, less so.
        scaled: np.ndarray = scaler.transform(table[list(rows)]) * WEIGHTS
        return scaled

    fitted = place(known)
    distinct = len(np.unique(fitted, axis=0))  # identical profiles make one group, not two
    groups = min(8, max(2, len(known) // 5), distinct)
    model = KMeans(n_clusters=groups, n_init=4, random_state=0).fit(fitted)
    labels = dict(zip(known, model.labels_, strict=True))
    picks = model.predict(place(unknown))
    out: dict[int, tuple[tuple[int, int], int]] = {}
    for k, group in zip(unknown, picks, strict=True):
        peers = [targets[j] for j in known if labels[j] == group]
        low = int(np.median([p[0] for p in peers]))
        high = max(low, int(np.median([p[1] for p in peers])))
        out[k] = ((low, high), len(peers))
    return out
