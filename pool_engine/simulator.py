"""Replay a churn trace through the pool policy and summarise it
(docs/contracts/simulation.md).

:func:`simulate` is what ``eni-tuner simulate`` prints: every node replayed once under
its targets (its override, else the default) by :func:`pool_engine.replay.replay`, the
batch form the tuner uses to score many candidate targets per node, then statistics per
node and in total and, when asked, the timeline. The kernel (numba) is imported by the
first replay and pyarrow by the first timeline, not with this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pool_engine.replay import (
    STAT_FIELDS,
    NodeTargets,
    ReplayStats,
    Run,
    SimulationSettings,
    replay,
)
from pool_engine.trace import Trace

if TYPE_CHECKING:  # pyarrow loads where a table is read or written, not on import
    import pyarrow as pa


@dataclass
class SimulationResult:
    """What ``eni-tuner simulate`` reports: per node and in total."""

    end: float
    nodes: dict[str, dict[str, Any]]
    total: dict[str, Any]
    timeline: pa.Table | None = None
    """time,node,bound,in_use,waiting,idle at every change, sorted by time then node."""
    count_from: float = 0.0
    """The statistics count from this time on (0: the whole replay)."""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"end": self.end, "nodes": self.nodes, "total": self.total}
        if self.count_from > 0:
            document["count_from"] = self.count_from
        return document


def simulate(
    trace: Trace,
    settings: SimulationSettings = SimulationSettings(),
    overrides: Mapping[str, NodeTargets] | None = None,
    *,
    timeline: bool = False,
) -> SimulationResult:
    """Replay every node of ``trace`` under its targets and summarise."""
    runs = [
        Run(k, _targets_of(name, settings.defaults, overrides or {}))
        for k, name in enumerate(trace.nodes)
    ]
    if not runs:
        return SimulationResult(trace.end, {}, _total_of(None, 0), count_from=settings.count_from)
    stats = replay(trace, runs, settings, timeline=timeline)
    nodes: dict[str, dict[str, Any]] = {}
    for r, run in enumerate(runs):
        per_node: dict[str, Any] = stats.run_stats(r)
        per_node["min_warm"] = run.targets.min_warm
        per_node["max_warm"] = run.targets.max_warm
        nodes[trace.nodes[run.node]] = per_node
    result = SimulationResult(trace.end, dict(sorted(nodes.items())), _total_of(stats, len(runs)),
                              count_from=settings.count_from)  # fmt: skip
    if timeline:
        result.timeline = _timeline_table(stats, runs, trace)
    return result


def _total_of(stats: ReplayStats | None, n_runs: int) -> dict[str, Any]:
    if stats is None:
        return {name: 0 if name not in _FLOAT_FIELDS else 0.0 for name in STAT_FIELDS}
    from pool_engine import kernel  # loaded already by the replay

    per_run = stats.per_run
    served = np.concatenate([stats.served_waits(r) for r in range(n_runs)])
    served.sort()
    hits = int(per_run.warm_hits.sum())
    return {
        "pod_starts": int(per_run.pod_starts.sum()),
        "warm_hits": hits,
        "cold_starts": int(per_run.cold_starts.sum()),
        "wait_seconds_sum": float(per_run.wait_seconds_sum.sum()),
        "wait_seconds_max": float(per_run.wait_seconds_max.max()),
        "wait_seconds_p99": float(kernel.percentile_with_zeros(served, hits, 99.0)),
        "idle_slot_seconds": float(per_run.idle_slot_seconds.sum()),
        "bound_slot_seconds": float(per_run.bound_slot_seconds.sum()),
        "bind_ops": int(per_run.bind_ops.sum()),
        "release_ops": int(per_run.release_ops.sum()),
        "peak_bound": int(per_run.peak_bound.max()),
        "ignored_events": int(per_run.ignored_events.sum()),
    }


_FLOAT_FIELDS = {
    "wait_seconds_sum",
    "wait_seconds_max",
    "wait_seconds_p99",
    "idle_slot_seconds",
    "bound_slot_seconds",
}


def _timeline_table(stats: ReplayStats, runs: Sequence[Run], trace: Trace) -> pa.Table:
    import pyarrow as pa

    t, i = stats.timeline_t, stats.timeline_i
    order = np.lexsort((i[:, 0], t))
    names = pa.array([trace.nodes[run.node] for run in runs])
    bound, in_use = i[order, 1], i[order, 2]
    return pa.table(
        {
            "time": t[order],
            "node": pa.DictionaryArray.from_arrays(pa.array(i[order, 0].astype(np.int32)), names),
            "bound": bound,
            "in_use": in_use,
            "waiting": i[order, 3],
            "idle": bound - in_use,
        }
    )


def _targets_of(
    node: str, defaults: NodeTargets, overrides: Mapping[str, NodeTargets]
) -> NodeTargets:
    """A node's override, with the default max slots where the override sets none."""
    override = overrides.get(node)
    if override is None:
        return defaults
    if override.max_slots is None:
        return override.with_max_slots(defaults.max_slots)
    return override
