"""tuner.peers: nodes with little history borrow the targets of nodes like them."""

from __future__ import annotations

import numpy as np

from support.histories import history_of
from support.traces import bursty, quiet
from tuner import peers
from tuner.analysis import AnalysisSettings, recommend
from tuner.recommendation import RecommendationStatus


def profiles() -> tuple[np.ndarray, dict[int, tuple[int, int]]]:
    """Nodes 0-4 calm (1 start per bind, flat day) at 1/1; 5-9 bursty (8 per bind,
    peaky) at 8/9; 10 sparse but bursty, 11 sparse but calm."""
    arrivals = np.array([300] * 5 + [400] * 5 + [16, 4], dtype=float)
    demand = [1.0] * 5 + [8.0] * 5 + [8.0, 1.0]
    share = [0.05] * 5 + [0.4] * 5 + [0.5, 0.1]
    table = peers.features(arrivals, 48.0, demand, share)
    targets = {k: (1, 1) for k in range(5)} | {k: (8, 9) for k in range(5, 10)}
    return table, targets


def test_features_are_log_rate_demand_and_peak_share() -> None:
    table = peers.features(np.array([48.0, 0.0]), 48.0, [3.0, 0.0], [0.25, 0.0])
    assert table.shape == (2, 3)
    assert table[0].tolist() == [np.log1p(1.0), 3.0, 0.25]
    assert table[1].tolist() == [0.0, 0.0, 0.0]


def test_a_sparse_node_borrows_the_median_of_its_own_kind() -> None:
    table, targets = profiles()
    got = peers.borrow(table, list(range(10)), [10, 11], targets)
    assert got[10] == ((8, 9), 5)  # bursty like 5-9, though it has few starts
    assert got[11] == ((1, 1), 5)


def test_no_borrowing_without_enough_known_nodes_or_anyone_to_borrow() -> None:
    table, targets = profiles()
    assert peers.borrow(table, [0, 1, 5], [10], targets) == {}
    assert peers.borrow(table, list(range(10)), [], targets) == {}


def test_median_keeps_min_below_max() -> None:
    table, _ = profiles()
    odd = {k: (k, 0) for k in range(10)}  # a max below min must not come back
    for (low, high), _ in peers.borrow(table, list(range(10)), [10, 11], odd).values():
        assert low <= high


def test_recommend_marks_borrowed_nodes_and_clamps_them_to_the_floor() -> None:
    rows = []
    for k in range(4):
        rows += quiet(f"calm-{k}") + bursty(f"busy-{k}", 8)
    # two bursts of 8 in the last two hours: too short a history of its own
    rows += [(3600.0 * (46 + h) + 50.0 + 0.1 * j, "sparse", "start")
             for h in range(2) for j in range(8)]  # fmt: skip
    recs = {r.node: r for r in recommend(history_of(rows), AnalysisSettings())}
    sparse = recs["sparse"]
    assert sparse.status is RecommendationStatus.BORROWED
    assert sparse.after is None  # nothing replayed for it: its pair is borrowed
    busy = recs["busy-0"].recommended
    assert (sparse.recommended.min_warm, sparse.recommended.max_warm) == (
        busy.min_warm, busy.max_warm)  # fmt: skip
    assert sparse.reason.startswith("little history (16 pod starts): borrowed the median of ")


def test_nodes_with_identical_profiles_form_one_group_without_warnings() -> None:
    """Four quiet nodes of one shape used to make k-means look for two groups among
    identical points (a ConvergenceWarning, an error under this suite's settings)."""
    table = np.array([[0.5, 1.0, 0.1]] * 4 + [[0.1, 1.0, 0.1]])
    got = peers.borrow(table, [0, 1, 2, 3], [4], {k: (1, 2) for k in range(4)})
    assert got == {4: ((1, 2), 4)}
