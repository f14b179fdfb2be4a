"""The search for a node's targets: candidate pairs replayed in batches through pool_engine.

For each band M - m in ``AnalysisSettings.bands``, a vectorised binary search over m
finds the smallest min warm whose replay of the node's history keeps the
recency-weighted cold-start rate under the aim (cold starts fall as m grows); the
cheapest band's pair wins. With explicit costs, a grid of pairs is replayed instead
and the least total cost wins. Every candidate stays within [floor, min(C, cap)].
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pool_engine.config import Targets
from pool_engine.simulator import NodeTargets, ReplayStats, Run, SimulationSettings, replay
from tuner.history import History
from tuner.objective import BUCKET_SECONDS, AnalysisSettings, recency_weights, weighted_rate

COST_GRID = (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64)
"""Min warm values tried with explicit costs."""

Pair = tuple[int, int]
"""(min warm, max warm)."""


class TargetSearch:
    """Finds the best (min, max) warm pair of each node, in batched replays."""

    def __init__(
        self,
        history: History,
        settings: AnalysisSettings,
        sim: SimulationSettings,
        caps: np.ndarray,
    ) -> None:
        self.history = history
        self.settings = settings
        self.sim = sim
        self.caps = caps
        """Max-attach C per node (index as ``history.nodes``)."""
        self.weights = recency_weights(history.trace.end, settings.half_life_hours)
        self.aim = settings.aim()

    def best(self, nodes: Sequence[int]) -> dict[int, Pair]:
        """The chosen pair of each of ``nodes``."""
        if self.settings.objective.explicit_costs:
            return self._cheapest_by_cost(nodes)
        bands = self.settings.bands
        pairs = [(k, d) for k in nodes for d in bands]
        floor = self.settings.min_warm_floor
        lo = np.array([min(floor, self.caps[k]) for k, _ in pairs], dtype=np.int64)
        hi = np.array([min(self.caps[k], self.settings.search_cap) for k, _ in pairs])
        hi = np.maximum(hi, lo)
        # Binary search for the smallest m meeting the aim (cold starts fall as m grows).
        while True:
            open_ = np.nonzero(lo < hi)[0]
            if open_.size == 0:
                break
            mid = (lo[open_] + hi[open_]) // 2
            ok = self._meets([pairs[j] for j in open_], mid)
            hi[open_[ok]] = mid[ok]
            lo[open_[~ok]] = mid[~ok] + 1
        # Replay every band's answer once more and keep the cheapest per node.
        stats = self._replay([pairs[j] for j in range(len(pairs))], lo)
        best: dict[int, tuple[float, Pair]] = {}
        for j, (k, d) in enumerate(pairs):
            m = int(lo[j])
            big_m = int(min(m + d, self.caps[k]))
            meets = self._rate(stats, j) <= self.aim
            idle = float(stats.per_run.idle_slot_seconds[j])
            score = idle if meets else math.inf
            if k not in best or score < best[k][0]:
                best[k] = (score, (m, big_m))
        return {k: pair for k, (_, pair) in best.items()}

    def _cheapest_by_cost(self, nodes: Sequence[int]) -> dict[int, Pair]:
        objective = self.settings.objective
        assert objective.idle_slot_hour_cost is not None and objective.cold_start_cost is not None
        floor = self.settings.min_warm_floor
        pairs, ms = [], []
        for k in nodes:
            for m in COST_GRID:
                if floor <= m <= min(self.caps[k], self.settings.search_cap):
                    for d in self.settings.bands:
                        pairs.append((k, d))
                        ms.append(m)
        stats = self._replay(pairs, np.array(ms, dtype=np.int64))
        best: dict[int, tuple[float, Pair]] = {}
        for j, (k, d) in enumerate(pairs):
            cost = (
                stats.per_run.idle_slot_seconds[j] / 3600.0 * objective.idle_slot_hour_cost
                + stats.per_run.cold_starts[j] * objective.cold_start_cost
            )
            pair = (ms[j], int(min(ms[j] + d, self.caps[k])))
            if k not in best or cost < best[k][0]:
                best[k] = (float(cost), pair)
        return {k: pair for k, (_, pair) in best.items()}

    def _meets(self, pairs: list[tuple[int, int]], ms: np.ndarray) -> np.ndarray:
        stats = self._replay(pairs, ms)
        return np.array([self._rate(stats, j) <= self.aim for j in range(len(pairs))])

    def _rate(self, stats: ReplayStats, j: int) -> float:
        return weighted_rate(self.weights, stats.buckets[j])

    def _replay(self, pairs: list[tuple[int, int]], ms: np.ndarray) -> ReplayStats:
        """One run per (node, band) pair, with min warm from ``ms``."""
        runs = [
            Run(
                k,
                NodeTargets(Targets(int(m), int(min(m + d, self.caps[k]))), int(self.caps[k])),
                int(self.history.existing[k]),
            )
            for (k, d), m in zip(pairs, ms, strict=True)
        ]
        return replay(self.history.trace, runs, self.sim, bucket_seconds=BUCKET_SECONDS)
