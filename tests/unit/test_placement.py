"""pool_engine.placement: kube-scheduler's LeastAllocated / MostAllocated scoring."""

from __future__ import annotations

import numpy as np
import pytest

from pool_engine.events import START, STOP
from pool_engine.placement import UNPLACED, NodeShapes, Placement, place
from pool_engine.scoring import score
from pool_engine.workload import WorkloadSpec, generate

S, T = START, STOP


def run(rows: list[tuple[int, int, int, int]], cpu: list[int], slots: list[int],
        placement: Placement) -> list[int]:  # fmt: skip
    """rows: (kind, pod, millicores, pinned node or -1)."""
    kinds, pods, requests, pinned = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    shapes = NodeShapes(np.array(cpu), np.array(slots))
    return place(kinds, pods, requests, pinned, shapes, placement).tolist()


def test_scores_are_kube_schedulers() -> None:
    assert score(250, 1000, False) == 75  # LeastAllocated: (1000 - 250) * 100 // 1000
    assert score(250, 1000, True) == 25  # MostAllocated: 250 * 100 // 1000
    assert score(1, 3, True) == 33 and score(1, 3, False) == 66
    assert score(5, 0, True) == 0


def test_spread_goes_to_the_emptiest_node_binpack_to_the_fullest() -> None:
    rows = [(S, p, 500, -1) for p in range(4)]
    assert run(rows, [4000, 4000], [10, 10], Placement.SPREAD) == [0, 1, 0, 1]
    assert run(rows, [4000, 4000], [10, 10], Placement.BINPACK) == [0, 0, 0, 0]


def test_a_full_node_is_filtered_out_by_cpu_or_by_slots() -> None:
    rows = [(S, p, 1000, -1) for p in range(3)]
    assert run(rows, [2000, 8000], [10, 10], Placement.BINPACK) == [0, 0, 1]  # 0 is full
    by_slots = [(S, p, 100, -1) for p in range(3)]
    assert run(by_slots, [8000, 8000], [2, 10], Placement.BINPACK) == [0, 0, 1]
    nowhere = [(S, 0, 9000, -1), (T, 0, 9000, -1)]
    assert run(nowhere, [8000], [10], Placement.SPREAD) == [UNPLACED, UNPLACED]


def test_stops_free_the_pods_resources_and_get_its_node() -> None:
    rows = [(S, 7, 1000, -1), (S, 8, 1000, -1), (T, 7, 1000, -1), (S, 9, 1000, -1)]
    assert run(rows, [2000, 2000], [10, 10], Placement.BINPACK) == [0, 0, 0, 0]
    assert run(rows, [2000, 2000], [10, 10], Placement.SPREAD) == [0, 1, 0, 0]


def test_pinned_pods_only_go_to_their_node() -> None:
    rows = [(S, 0, 500, 1), (S, 1, 500, 1), (S, 2, 500, -1)]
    assert run(rows, [8000, 1000], [10, 10], Placement.BINPACK) == [1, 1, 0]
    assert run([(S, 0, 5000, 1)], [8000, 1000], [10, 10], Placement.SPREAD) == [UNPLACED]


def test_nodes_closed_to_all_take_only_their_pinned_pods() -> None:
    rows = [(S, 0, 500, -1), (S, 1, 500, 0), (S, 2, 500, -1)]
    shapes = NodeShapes(np.array([8000, 8000]), np.array([10, 10]), np.array([False, True]))
    kinds, pods, requests, pinned = (np.array(c) for c in zip(*rows, strict=True))
    got = place(kinds, pods, requests, pinned, shapes, Placement.BINPACK).tolist()
    assert got == [1, 0, 1]


def test_mismatched_arrays_are_refused() -> None:
    with pytest.raises(ValueError):
        place(np.zeros(2), np.zeros(1), np.zeros(2), np.zeros(2),
              NodeShapes(np.ones(1), np.ones(1)), Placement.SPREAD)  # fmt: skip


def test_binpack_concentrates_the_workloads_bursts() -> None:
    spec = WorkloadSpec(nodes=8, days=1.0, seed=3, quiet=0.25)
    churn = generate(spec)
    assert sum(c.quiet for c in churn) >= 1
    assert all(c.requests is not None and c.requests.shape == c.times.shape for c in churn)
    kinds = np.concatenate([c.kinds for c in churn])
    times = np.concatenate([c.times for c in churn])
    order = np.lexsort((kinds, times))
    pods = np.concatenate([c.pods for c in churn])[order]
    requests = np.concatenate([c.requests for c in churn if c.requests is not None])[order]
    none = np.full(order.shape[0], -1)
    shapes = NodeShapes(np.full(8, 8000), np.full(8, 95))
    spread = place(kinds[order], pods, requests, none, shapes, Placement.SPREAD)
    packed = place(kinds[order], pods, requests, none, shapes, Placement.BINPACK)
    per_node = [np.bincount(w[(w >= 0) & (kinds[order] == S)], minlength=8) for w in
                (spread, packed)]  # fmt: skip
    assert per_node[1].max() > per_node[0].max()  # the first nodes take the bursts
    assert per_node[0].min() > 0
