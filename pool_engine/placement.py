"""Where pods land: kube-scheduler's node scoring, for the simulated cluster and benches.

kube-scheduler's ``NodeResourcesFit`` plugin filters the nodes a pod fits on and
scores the rest, resource by resource, with the pod's own request counted in:

- ``LeastAllocated`` (:attr:`Placement.SPREAD`, the default scoring strategy):
  ``(allocatable - requested) * 100 // allocatable``, so the emptiest node wins and
  load spreads evenly;
- ``MostAllocated`` (:attr:`Placement.BINPACK`): ``requested * 100 // allocatable``, so
  the fullest node that still fits wins and bursts pile onto whichever node has room.

Two resources count, with equal weights: CPU (millicores requested) and the pool's
slots (on TKE each pod requests one ``tke.cloud.tencent.com/eni-ip``, and a node
offers as many as its max-attach). A node's score is the weighted mean of the two.
Ties go to the lowest node index (kube-scheduler picks at random among the best; a
fixed choice keeps runs reproducible). A pod pinned to a node (a node selector, a
dedicated node) is only considered there. A pod that fits nowhere stays unplaced
(-1), and its stop is dropped.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import assert_never

import numpy as np

UNPLACED = -1
"""The node of a pod that fits on no node."""


class Placement(enum.StrEnum):
    """How the scheduler scores nodes (``eni-exporter simulate --placement``)."""

    SPREAD = "spread"
    """LeastAllocated: the emptiest node that fits."""
    BINPACK = "binpack"
    """MostAllocated: the fullest node that fits."""

    def most_allocated(self) -> bool:
        match self:
            case Placement.SPREAD:
                return False
            case Placement.BINPACK:
                return True
            case _:
                assert_never(self)


@dataclass(frozen=True)
class NodeShapes:
    """What each node offers the scheduler (index = node number)."""

    cpu_millis: np.ndarray
    """Allocatable CPU, millicores (int64)."""
    slots: np.ndarray
    """Allocatable pool slots: the node's max-attach (int64)."""
    open_to_all: np.ndarray | None = None
    """bool per node: takes pods not pinned to it (None: every node). A node only
    pinned pods may use is tainted, or dedicated to another pool's pods."""


def place(
    kinds: np.ndarray,
    pods: np.ndarray,
    requests: np.ndarray,
    pinned: np.ndarray,
    shapes: NodeShapes,
    placement: Placement,
) -> np.ndarray:
    """The node of every row of a time-ordered pod stream (-1: unplaced).

    Rows are ``kinds`` (START/STOP) of ``pods`` (any integer ids; a pod starts before
    it stops), each start asking for ``requests`` millicores, ``pinned`` to a node
    or -1. A stop frees its pod's CPU and slot and gets the pod's node."""
    if not (kinds.shape == pods.shape == requests.shape == pinned.shape):
        raise ValueError("kinds, pods, requests and pinned must have one element per row")
    if shapes.cpu_millis.shape != shapes.slots.shape:
        raise ValueError("cpu_millis and slots must have one element per node")
    _, dense = np.unique(pods, return_inverse=True)
    open_to_all = shapes.open_to_all
    if open_to_all is None:
        open_to_all = np.ones(shapes.cpu_millis.shape[0], dtype=bool)
    from pool_engine.scoring import place_rows  # numba: loaded on the first placement

    return place_rows(
        kinds.astype(np.int8),
        dense.astype(np.int64).reshape(-1),
        requests.astype(np.int64),
        pinned.astype(np.int64),
        shapes.cpu_millis.astype(np.int64),
        shapes.slots.astype(np.int64),
        open_to_all.astype(np.bool_),
        placement.most_allocated(),
    )
