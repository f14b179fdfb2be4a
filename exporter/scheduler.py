"""The simulated cluster's kube-scheduler: where each pod of its churn lands.

The churn comes a chunk (a week) at a time, and the pods an earlier chunk placed run on
into the next where they are: each chunk is placed with them on their nodes, taking
the CPU and slots they take (:func:`pool_engine.placement.place`, scored by
``--placement``). Route-eni pods go to any route-eni node; direct-eni pods (they
request a direct ENI only their node type offers) stay where the churn model put them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pool_engine.config import Limits
from pool_engine.events import START
from pool_engine.placement import UNPLACED, NodeShapes, Placement, place

ALLOCATABLE_CPU = 0.92
"""Share of a node's cores that pods may request (the rest is reserved for the system)."""


class Scheduler:
    """Places a cluster's churn chunk by chunk, remembering who runs where."""

    def __init__(self, cores: np.ndarray, limits: Sequence[Limits], route: np.ndarray,
                 placement: Placement) -> None:  # fmt: skip
        self._route = route
        self._shapes = NodeShapes(
            (cores.astype(np.float64) * 1000 * ALLOCATABLE_CPU).astype(np.int64),
            np.array([one.capacity for one in limits], dtype=np.int64),
            route,
        )
        self._placement = placement
        # the pods placed and still running at the last chunk's end: id, node, request
        self._pods = np.empty(0, np.int64)
        self._nodes = np.empty(0, np.int64)
        self._requests = np.empty(0, np.int64)

    def place(self, nodes: np.ndarray, kinds: np.ndarray, pods: np.ndarray,
              requests: np.ndarray) -> np.ndarray:  # fmt: skip
        """The node of every row of a chunk in time order (-1: unplaced; a pod that
        fits nowhere never starts), ``nodes`` being where the churn model put it."""
        pinned = np.where(self._route[nodes], -1, nodes).astype(np.int64)
        held = self._pods.shape[0]  # enter first, as starts pinned where they run
        where = place(np.concatenate((np.full(held, START, np.int8), kinds)),
                      np.concatenate((self._pods, pods)),
                      np.concatenate((self._requests, requests)),
                      np.concatenate((self._nodes, pinned)), self._shapes,
                      self._placement)[held:]  # fmt: skip
        self._remember(kinds, pods, requests, where)
        return where

    def _remember(self, kinds: np.ndarray, pods: np.ndarray, requests: np.ndarray,
                  where: np.ndarray) -> None:  # fmt: skip
        """Keep the pods running at the chunk's end: those running at its start and
        those it started, less those it stopped."""
        placed = where != UNPLACED
        started = placed & (kinds == START)
        stopped = pods[placed & (kinds != START)]
        ids = np.concatenate((self._pods, pods[started]))
        alive = ~np.isin(ids, stopped)
        self._pods = ids[alive]
        self._nodes = np.concatenate((self._nodes, where[started]))[alive]
        self._requests = np.concatenate((self._requests, requests[started]))[alive]
