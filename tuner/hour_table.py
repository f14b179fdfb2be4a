"""Each node's history by UTC hour of day: a ladder of all-day pairs replayed once,
counted per (day, hour) cell (docs/contracts/schedules.md).

The schedule search (:mod:`tuner.schedule_search`) reads what every pair of the ladder
did in each hour of each day: pod starts, cold starts and idle slot-seconds. The
replays are the compiled ones of :func:`pool_engine.replay.replay`, with buckets
aligned to UTC hours (bucket ``b`` is hour of day ``b % 24`` of UTC day ``b // 24``).
Only cells (at least half) inside the node's own history count, and only its last
:data:`MAX_DAYS` days. Nodes are replayed a chunk at a time (fewer runs the longer the
history: every run counts all its hours), so memory stays bounded however many nodes
the history has and however long it is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from pool_engine.config import Targets
from pool_engine.replay import NodeTargets, Run, SimulationSettings, replay
from pool_engine.warm_schedule import HOUR, HOURS
from tuner.history import History
from tuner.search import M_GRID, Pair

MAX_DAYS = 14
"""Days of history a schedule is fitted on, at most (the latest ones)."""
CHUNK_CELLS = 3000 * MAX_DAYS * HOURS
"""Hour buckets replayed per batch, runs times the history's hours (3,000 runs of 14
days: about 100 MB); a longer history replays fewer runs at a time."""


@dataclass(frozen=True)
class HourTable:
    """One node's ladder of all-day pairs, replayed and counted per (day, hour)."""

    node: int
    """The node's index in the history."""
    pairs: list[Pair]
    """(min warm, max warm) of each candidate (capped by max-attach)."""
    fallback: int
    """The candidate that is the node's all-day pair."""
    starts: np.ndarray
    """(days, 24) pod starts."""
    cold: np.ndarray
    """(candidates, days, 24) cold starts."""
    idle: np.ndarray
    """(candidates, days, 24) idle slot-seconds."""
    seen: np.ndarray
    """(days, 24) bool: the cell lies (at least half) inside the node's history."""
    first_day: int
    """UTC day (counted from the day of the trace's time 0) of row 0."""

    def days(self) -> int:
        return int(self.seen.any(axis=1).sum())

    def pair(self, c: int) -> Targets:
        m, big_m = self.pairs[c]
        return Targets(m, big_m)


def ladder(fallback: Pair, needs: int, floor: int, cap: int, bands: Sequence[int],
           search_cap: int) -> list[Pair]:  # fmt: skip
    """The pairs to replay: min warm from the grid up to what the node's biggest burst
    needs (bounded by max-attach), each with every band, and the all-day pair."""
    top = int(min(cap, search_cap))
    covering = min([m for m in M_GRID if m >= min(needs, top)] + [top])
    pairs = {fallback}
    for m in M_GRID:
        if floor <= m <= covering and m <= top:
            pairs.update((m, int(min(m + band, cap))) for band in bands)
    return sorted(pairs)


def build(
    history: History,
    nodes: Sequence[int],
    ladders: Sequence[list[Pair]],
    fallbacks: Sequence[Pair],
    caps: np.ndarray,
    sim: SimulationSettings,
) -> Iterator[HourTable]:
    """The hour tables of ``nodes`` (each with its ladder), a chunk of runs at a time."""
    hours = int((history.trace.end + history.trace.day_offset()) // HOUR) + 1  # as replay
    chunk_runs = max(1, CHUNK_CELLS // hours)
    lo = 0
    while lo < len(nodes):
        hi, size = lo, 0
        while hi < len(nodes) and (hi == lo or size + len(ladders[hi]) <= chunk_runs):
            size += len(ladders[hi])
            hi += 1
        yield from _chunk(history, nodes[lo:hi], ladders[lo:hi], fallbacks[lo:hi], caps, sim)
        lo = hi


def _chunk(history: History, nodes: Sequence[int], ladders: Sequence[list[Pair]],
           fallbacks: Sequence[Pair], caps: np.ndarray,
           sim: SimulationSettings) -> Iterator[HourTable]:  # fmt: skip
    trace = history.trace
    runs = [Run(k, NodeTargets(Targets(m, big_m), int(caps[k])), int(history.existing[k]))
            for k, pairs in zip(nodes, ladders, strict=True) for m, big_m in pairs]  # fmt: skip
    offset = trace.day_offset()
    stats = replay(trace, runs, sim, bucket_seconds=HOUR, bucket_offset=offset)
    n_days = -(-stats.buckets.shape[1] // HOURS)
    cells = np.zeros((len(runs), n_days * HOURS, 3))
    cells[:, : stats.buckets.shape[1]] = stats.buckets[:, :, :3]
    cells = cells.reshape(len(runs), n_days, HOURS, 3)
    del stats
    r = 0
    for k, pairs, fallback in zip(nodes, ladders, fallbacks, strict=True):
        seen = seen_cells(history, k, n_days, offset)
        days = np.nonzero(seen.any(axis=1))[0][-MAX_DAYS:]
        first = int(days[0]) if days.size else 0
        rows = slice(first, first + (int(days[-1]) - first + 1 if days.size else 0))
        mine = cells[r : r + len(pairs), rows]
        yield HourTable(k, pairs, pairs.index(fallback), mine[0, :, :, 0].copy(),
                        mine[:, :, :, 1].copy(), mine[:, :, :, 2].copy(), seen[rows].copy(),
                        first)  # fmt: skip
        r += len(pairs)


def seen_cells(history: History, k: int, n_days: int, offset: float) -> np.ndarray:
    """(days, 24) bool: which hour cells lie at least half inside node ``k``'s history
    (its first event rarely falls on the hour)."""
    first = 0.0 if history.first is None else float(history.first[k])
    last = history.trace.end if history.last is None else float(history.last[k])
    starts = np.arange(n_days * HOURS) * HOUR - offset
    inside = np.minimum(starts + HOUR, last) - np.maximum(starts, first)
    seen: np.ndarray = inside >= HOUR / 2
    return seen.reshape(n_days, HOURS)
