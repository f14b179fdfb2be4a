"""The candidates of every node: a grid of (min, max) warm pairs replayed in one batch.

Every node is replayed under its current targets and under each pair of a grid (min
warm from :data:`M_GRID`, max warm min + each of ``AnalysisSettings.bands``), within
[floor, min(C, search cap)] and no higher than the node needs: a min warm above the
most pod starts the node ever saw within one bind latency cannot help. The replays
count pod starts and cold starts per fold of the history (:mod:`tuner.evidence`), so
rolling-origin validation is arithmetic on one table (a replay is causal: its first
folds are exactly what a replay of those folds alone gives). Cells the node was not
replayed for (above what it needs, or above C) copy the nearest replayed min warm
below, so group sums see every node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pool_engine.config import Targets
from pool_engine.replay import NodeTargets, Run, SimulationSettings, idle_while_empty, replay
from tuner.history import History
from tuner.objective import AnalysisSettings

M_GRID = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 64, 80, 96)
"""Min warm values tried (the search cap and C bound them further)."""

Pair = tuple[int, int]
"""(min warm, max warm)."""


@dataclass(frozen=True)
class Candidates:
    """Replays of every node under the grid (cells indexed node x candidate)."""

    pairs: list[Pair]
    """The grid's (min warm, band) of each candidate column."""
    allowed: np.ndarray
    """bool (nodes, candidates): replayed and choosable for the node."""
    starts: np.ndarray
    """(nodes, folds) pod starts per fold (the same under every pair)."""
    cold: np.ndarray
    """(nodes, candidates, folds) cold starts per fold."""
    idle: np.ndarray
    """(nodes, candidates) idle slot-seconds over the whole history."""
    current_cold: np.ndarray
    """(nodes, folds) cold starts under the targets in force."""
    runs: np.ndarray
    """(runs, 3) pod starts, cold starts and idle slot-seconds of every replay over the
    whole history: current runs first (one per node), then candidates."""
    run_of: np.ndarray
    """(nodes, candidates) index of the cell's run in ``runs`` (-1: copied)."""
    bursts: np.ndarray
    """Per node, the most pod starts within one bind latency."""

    def pair_of(self, node: int, c: int, cap: int) -> Pair:
        """The (min, max) warm of candidate ``c`` on a node with max-attach ``cap``."""
        m, band = self.pairs[c]
        return m, int(min(m + band, cap))

    def run_stats(self, node: int, c: int | None) -> tuple[int, int, float]:
        """(pod starts, cold starts, idle slot-seconds) of the current run (``c`` None)
        or of candidate ``c`` over the whole history."""
        r = node if c is None else int(self.run_of[node, c])
        return int(self.runs[r, 0]), int(self.runs[r, 1]), float(self.runs[r, 2])


def demand_bound(history: History, latency: float) -> np.ndarray:
    """Per node: the most pod starts within one bind latency (itself included)."""
    trace = history.trace
    out = np.zeros(len(trace.nodes), dtype=np.int64)
    for k in range(len(trace.nodes)):
        times, kinds = trace.node_rows(k)
        starts = times[kinds == 0]
        if starts.size:
            within = np.searchsorted(starts, starts + latency, side="right")
            out[k] = int((within - np.arange(starts.size)).max())
    return out


def replay_candidates(
    history: History,
    settings: AnalysisSettings,
    sim: SimulationSettings,
    current: Sequence[NodeTargets],
    caps: np.ndarray,
    searched: Sequence[int],
    fold: float,
) -> Candidates:
    """Replay every node under ``current`` and the ``searched`` nodes under the grid."""
    n = len(history.nodes)
    pairs = [(m, d) for m in M_GRID for d in settings.bands if m >= settings.min_warm_floor]
    runs = [Run(k, current[k], int(history.existing[k])) for k in range(n)]
    run_of = np.full((n, len(pairs)), -1, dtype=np.int64)
    allowed = np.zeros((n, len(pairs)), dtype=bool)
    needs = demand_bound(history, settings.bind_latency)
    floor = settings.min_warm_floor
    for k in searched:
        top = int(min(caps[k], settings.search_cap))
        # the smallest grid value covering the node's largest burst and the floor (a
        # node without a pod start still gets its floor), or the top
        covering = min([m for m in M_GRID if m >= min(max(needs[k], floor), top)] + [top])
        seen: dict[Pair, int] = {}
        for c, (m, band) in enumerate(pairs):
            if m > covering or m > top or m < floor:
                continue
            pair = (m, int(min(m + band, caps[k])))
            if pair not in seen:
                seen[pair] = len(runs)
                allowed[k, c] = True
                runs.append(Run(k, NodeTargets(Targets(*pair), int(caps[k])),
                                int(history.existing[k])))  # fmt: skip
            run_of[k, c] = seen[pair]
    totals, buckets = _replay_in_batches(history, runs, sim, fold)
    starts = buckets[:n, :, 0]
    cold = np.zeros((n, len(pairs), buckets.shape[1]))
    idle = np.zeros((n, len(pairs)))
    idle_runs = totals[:, 2]
    for band in sorted({d for _, d in pairs}):
        columns = sorted((m, c) for c, (m, d) in enumerate(pairs) if d == band)
        for k in range(n):
            last = k  # below the first replayed pair: as the current targets
            for _, c in columns:
                r = int(run_of[k, c])
                last = r if r >= 0 else last
                cold[k, c] = buckets[last, :, 1]
                idle[k, c] = idle_runs[last]
    return Candidates(pairs, allowed, starts, cold, idle, buckets[:n, :, 1], totals, run_of, needs)


BATCH_STARTS = 20_000_000
"""Pod starts replayed per batch: the replay keeps every served wait, so batches keep
memory bounded on big histories."""


def _replay_in_batches(history: History, runs: list[Run], sim: SimulationSettings,
                       fold: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(runs, 3) totals and (runs, folds, 2) per-fold starts and cold starts."""
    arrivals = history.arrivals()
    totals: list[np.ndarray] = []
    buckets: list[np.ndarray] = []
    lo = 0
    while lo < len(runs):
        hi, size = lo, 0
        while hi < len(runs) and (hi == lo or size + arrivals[runs[hi].node] <= BATCH_STARTS):
            size += int(arrivals[runs[hi].node])
            hi += 1
        stats = replay(history.trace, runs[lo:hi], sim, bucket_seconds=fold)
        per_run = stats.per_run
        idle = per_run.idle_slot_seconds - idle_before_first(history, runs[lo:hi], sim)
        totals.append(np.column_stack([per_run.pod_starts, per_run.cold_starts,
                                       idle]).astype(np.float64))  # fmt: skip
        buckets.append(stats.buckets[:, :, :2].copy())  # starts and cold starts
        del stats
        lo = hi
    return np.concatenate(totals), np.concatenate(buckets)


def idle_before_first(
    history: History, runs: list[Run], sim: SimulationSettings | None = None
) -> np.ndarray:
    """Idle slot-seconds each run counts before its node's history begins. A replay
    starts every pool at time 0 with min(C, P + m) bound, P its pods already there at
    the history's first instant, and nothing happens to it until the node's first event
    or sample, so that is exactly (min(C, P + m) - min(C, P)) x first: a node that
    joined late, or a numeric trace whose first row comes after 0, is not charged for
    the hours before its history. A scheduled run's pool still follows its schedule
    meanwhile: that is replayed (``sim`` needed)."""
    out = np.zeros(len(runs))
    if history.first is None:
        return out
    scheduled = []
    for j, run in enumerate(runs):
        first = float(history.first[run.node])
        if first > 0 and run.targets.schedule is not None:
            scheduled.append(j)
        elif first > 0:
            cap, held = run.targets.capacity(), run.holding
            out[j] = (min(cap, held + run.targets.min_warm) - min(cap, held)) * first
    if scheduled:
        assert sim is not None, "a scheduled run's idle before its first row needs sim"
        until = np.array([history.first[runs[j].node] for j in scheduled], dtype=np.float64)
        out[scheduled] = idle_while_empty(
            [runs[j] for j in scheduled], sim, until, history.trace.day_offset()
        )
    return out
