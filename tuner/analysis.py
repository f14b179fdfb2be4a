"""Per-node warm targets from churn history: pure analysis, data in, recommendations out.

For every node with enough history:

1. the demand the pool must absorb is summarised (:mod:`tuner.profile`): arrivals per
   bind latency (the base-stock view: min warm covers lead-time demand), the peak
   hour, churn rate;
2. :class:`tuner.search.TargetSearch` replays the node's history through pool_engine
   (the same policy code, in the cluster's release mode) under candidate targets and
   keeps the cheapest pair meeting the objective (:mod:`tuner.objective`); never above
   the node's max-attach, never 0 for TKE;
3. current and chosen targets are replayed once more, unweighted, to say what each
   does (:class:`tuner.recommendation.Expected`).

Nodes with little history are not guessed at: they get "not enough history" and keep
their targets, or borrow from nodes with a similar churn profile (:mod:`tuner.peers`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pool_engine.config import DEFAULT_ROUTE_ENI_TARGETS, Targets
from pool_engine.policy import UNLIMITED
from pool_engine.simulator import NodeTargets, Run, SimulationSettings, replay
from tuner import peers
from tuner.history import History
from tuner.objective import AnalysisSettings, Objective
from tuner.profile import lead_time_demand, peak_hours
from tuner.recommendation import (
    Expected,
    Recommendation,
    RecommendationStatus,
    borrowed_reason,
    confidence,
    explain,
    insufficient_reason,
)
from tuner.search import Pair, TargetSearch

__all__ = [
    "AnalysisSettings",
    "Expected",
    "Objective",
    "Recommendation",
    "RecommendationStatus",
    "recommend",
]


def recommend(
    history: History,
    settings: AnalysisSettings,
    current: Mapping[str, NodeTargets] | None = None,
    default: NodeTargets | None = None,
) -> list[Recommendation]:
    """One recommendation per node of ``history``; ``current`` targets per node, else
    ``default`` (TKE's 5/5)."""
    trace = history.trace
    current = current or {}
    default = default or NodeTargets(DEFAULT_ROUTE_ENI_TARGETS)
    nodes = trace.nodes
    arrivals = history.arrivals()
    targets_now = [_with_cap(current.get(n, default), settings) for n in nodes]
    caps = np.array([_cap(t) for t in targets_now], dtype=np.int64)
    eligible = [
        k
        for k in range(len(nodes))
        if arrivals[k] >= settings.min_arrivals and history.hours >= settings.min_history_hours
    ]
    sim = SimulationSettings(
        NodeTargets(Targets(0, 0)),
        settings.quick_release,
        settings.bind_latency,
        settings.release_interval,
    )
    chosen: dict[int, Pair] = {}
    if eligible:
        chosen = TargetSearch(history, settings, sim, caps).best(eligible)
    before_after = _evaluate(history, sim, targets_now, chosen)
    demand = lead_time_demand(trace, settings.bind_latency)
    peaks, shares = peak_hours(trace)
    few = [k for k in range(len(nodes)) if k not in chosen and arrivals[k] >= 3]
    borrowed = peers.borrow(
        peers.features(arrivals, history.hours, demand, shares), list(chosen), few, chosen
    )
    out = []
    for k, node in enumerate(nodes):
        now = targets_now[k]
        before, after = before_after[k]
        if k in chosen:
            m, big_m = chosen[k]
            rec = NodeTargets(Targets(m, big_m), now.max_slots)
            status = RecommendationStatus.RECOMMENDED
            why = explain(before, after, demand[k], settings, rec, caps[k])
        elif k in borrowed:
            (m, big_m), size = borrowed[k]
            m = min(max(m, settings.min_warm_floor), int(caps[k]))
            big_m = min(max(big_m, m), int(caps[k]))
            rec = NodeTargets(Targets(m, big_m), now.max_slots)
            status = RecommendationStatus.BORROWED
            why = borrowed_reason(int(arrivals[k]), size)
        else:
            rec, status = now, RecommendationStatus.INSUFFICIENT_HISTORY
            why = insufficient_reason(int(arrivals[k]), history.hours, settings)
        changed = (rec.min_warm, rec.max_warm) != (now.min_warm, now.max_warm)
        out.append(
            Recommendation(
                node,
                status.settled(changed),
                now,
                rec,
                before,
                after,
                history.hours,
                int(arrivals[k]),
                confidence(history.hours, int(arrivals[k])),
                why,
                demand[k],
                peaks[k],
            )
        )
    return out


def _evaluate(
    history: History,
    sim: SimulationSettings,
    targets_now: list[NodeTargets],
    chosen: Mapping[int, Pair],
) -> list[tuple[Expected | None, Expected | None]]:
    """Replay current and recommended targets over the history (unweighted)."""
    runs: list[Run] = []
    index: list[tuple[int, str]] = []
    for k, now in enumerate(targets_now):
        runs.append(Run(k, now, int(history.existing[k])))
        index.append((k, "before"))
        if k in chosen:
            m, big_m = chosen[k]
            runs.append(
                Run(k, NodeTargets(Targets(m, big_m), now.max_slots), int(history.existing[k]))
            )
            index.append((k, "after"))
    out: list[list[Expected | None]] = [[None, None] for _ in targets_now]
    if not runs:
        return [(None, None)]
    stats = replay(history.trace, runs, sim)
    for j, (k, which) in enumerate(index):
        expected = Expected(
            int(stats.per_run.pod_starts[j]),
            int(stats.per_run.cold_starts[j]),
            float(stats.per_run.idle_slot_seconds[j]),
            history.hours,
        )
        out[k][0 if which == "before" else 1] = expected
    return [(b, a) for b, a in out]


def _with_cap(targets: NodeTargets, settings: AnalysisSettings) -> NodeTargets:
    """The node's targets, with the default max-attach where they set none."""
    if targets.max_slots is None and settings.default_max_slots is not None:
        return NodeTargets(Targets(targets.min_warm, targets.max_warm), settings.default_max_slots)
    return targets


def _cap(targets: NodeTargets) -> int:
    return UNLIMITED if targets.max_slots is None else targets.max_slots
