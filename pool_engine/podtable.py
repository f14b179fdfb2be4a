"""A node's pods as one table, and how a chunk of churn is cut from it.

The churn model (:mod:`pool_engine.workload`) draws a chunk of time at a time (the
simulated cluster: a week). A chunk's pods on a node, with the pods the chunk before
left it, are one :class:`PodTable`. The chunk's rows are the starts and stops up to
its end (:meth:`PodTable.rows`); the pods alive after it are what it leaves the next
chunk (:meth:`PodTable.after`): a running pod keeps its stop, a deployment's replica
runs on until a rollout of the next chunk replaces it, a pod drawn to start after the
end (a late wave of a rollout, the last pods of a burst) starts then. So the rows of
consecutive chunks read as one history, with nothing at their boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from pool_engine.events import START, STOP

Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""time, event (START/STOP), pod id, CPU request and routine flag of each row."""


@dataclass(frozen=True)
class PodTable:
    """One entry per pod; times are seconds from the chunk's start."""

    starts: np.ndarray
    """-inf: started in an earlier chunk."""
    stops: np.ndarray
    """inf: none drawn yet (a deployment's replica that no rollout replaced)."""
    ids: np.ndarray
    """-1: not numbered yet (a pod is numbered by the chunk it starts in)."""
    requests: np.ndarray
    """CPU millicores the pod asks for."""
    routine: np.ndarray
    """bool: the pod belongs to its node's daily routine."""
    slots: np.ndarray
    """The deployment replica slot the pod holds at the chunk's end; -1: none."""

    @staticmethod
    def of(starts: np.ndarray, stops: np.ndarray, request: int, *, routine: bool) -> PodTable:
        """New pods, all asking for ``request`` millicores, none a replica."""
        n = starts.shape[0]
        return PodTable(starts, stops, np.full(n, -1, np.int64), np.full(n, request, np.int64),
                        np.full(n, routine), np.full(n, -1, np.int64))  # fmt: skip

    @staticmethod
    def join(tables: Sequence[PodTable]) -> PodTable:
        return PodTable(*(np.concatenate([getattr(t, c) for t in tables]) for c in _COLUMNS))

    def replicas(self) -> np.ndarray:
        """Indices of the pods holding replica slots, slot by slot."""
        held = np.flatnonzero(self.slots >= 0)
        return held[np.argsort(self.slots[held])]

    def without(self, drop: np.ndarray) -> PodTable:
        keep = np.ones(self.starts.shape[0], dtype=bool)
        keep[drop] = False
        return PodTable(*(getattr(self, c)[keep] for c in _COLUMNS))

    def numbered(self, horizon: float, first: int) -> tuple[PodTable, int]:
        """Ids from ``first`` on, in table order, for the pods that start by
        ``horizon`` without one; and the next free id."""
        due = (self.ids < 0) & (self.starts <= horizon)
        ids = self.ids.copy()
        ids[due] = first + np.arange(int(due.sum()), dtype=np.int64)
        return replace(self, ids=ids), first + int(due.sum())

    def rows(self, horizon: float) -> Rows:
        """Starts and stops in [0, horizon], by time (at a tie, starts first)."""
        starting = (self.starts >= 0.0) & (self.starts <= horizon)
        ending = self.stops <= horizon
        times = np.concatenate((self.starts[starting], self.stops[ending]))
        kinds = np.concatenate((np.full(int(starting.sum()), START, np.int8),
                                np.full(int(ending.sum()), STOP, np.int8)))  # fmt: skip
        order = np.lexsort((kinds, times))

        def column(values: np.ndarray) -> np.ndarray:
            return np.concatenate((values[starting], values[ending]))[order]

        ids, requests, routine = column(self.ids), column(self.requests), column(self.routine)
        return times[order], kinds[order], ids, requests, routine

    def after(self, horizon: float) -> PodTable:
        """The pods alive after ``horizon``, in the time of a chunk starting there."""
        alive = self.stops > horizon
        starts = self.starts[alive]
        return PodTable(np.where(starts > horizon, starts - horizon, -np.inf),
                        self.stops[alive] - horizon, self.ids[alive], self.requests[alive],
                        self.routine[alive], self.slots[alive])  # fmt: skip


_COLUMNS = ("starts", "stops", "ids", "requests", "routine", "slots")
