"""Per-node warm targets from churn history: pure analysis, data in, recommendations out.

1. What each node's history proves (:mod:`tuner.evidence`): its own span of hours,
   and whether it is long enough, busy enough, or long enough to prove the node quiet
   (an upper confidence bound on its arrival rate).
2. Every node with evidence of its own is replayed through pool_engine (the same
   policy code, in the cluster's release mode) under its current targets and a grid
   of pairs, never above its max-attach nor below the agent's floor
   (:mod:`tuner.search`), counting cold starts per fold of the history.
3. Rolling-origin validation chooses how far to trust each node against its group,
   and what to aim at, so that choices hold on history they did not see; the final
   choice is fitted on the whole history; do-no-harm holds back changes whose
   validated cold-start rate is worse than max(objective, today's)
   (:mod:`tuner.validation`).
4. Nodes without evidence of their own keep their targets, or borrow from nodes with
   a similar churn profile (:mod:`tuner.peers`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pool_engine.config import DEFAULT_ROUTE_ENI_TARGETS, Targets
from pool_engine.policy import UNLIMITED
from pool_engine.replay import NodeTargets, SimulationSettings
from tuner import peers
from tuner.evidence import Evidence, evidence, fold_seconds, groups
from tuner.history import History
from tuner.objective import AnalysisSettings, Objective
from tuner.profile import lead_time_demand, peak_hours
from tuner.recommendation import (
    Expected,
    Recommendation,
    RecommendationStatus,
    borrowed_reason,
    capped_reason,
    confidence,
    explain,
    held_reason,
    insufficient_reason,
    same_targets,
)
from tuner.search import Candidates, replay_candidates
from tuner.validation import Validated, Validation

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
    hours = history.node_hours()
    targets_now = [_with_cap(current.get(n, default), settings) for n in nodes]
    caps = np.array([_cap(t) for t in targets_now], dtype=np.int64)
    kinds = evidence(arrivals, hours, settings.min_arrivals, settings.min_history_hours)
    searched = np.array([kind is Evidence.OWN for kind in kinds], dtype=bool)
    sim = SimulationSettings(
        NodeTargets(Targets(0, 0)),
        settings.quick_release,
        settings.bind_latency,
        settings.release_interval,
    )
    if not nodes:
        return []
    fold = fold_seconds(trace.end)
    cands = replay_candidates(
        history, settings, sim, targets_now, caps, list(np.nonzero(searched)[0]), fold
    )
    validated = None
    if searched.any():
        node_groups = groups(arrivals, hours, caps)
        validated = Validation(cands, node_groups, searched, settings, fold, trace.end).run()
    chosen: dict[int, tuple[int, int]] = {}
    if validated is not None:
        for j in np.nonzero(searched & (validated.choice >= 0))[0]:
            chosen[int(j)] = cands.pair_of(int(j), int(validated.choice[j]), int(caps[j]))
    demand = lead_time_demand(trace, settings.bind_latency)
    peaks, shares = peak_hours(trace)
    few = [k for k in range(len(nodes)) if not searched[k] and arrivals[k] >= 3]
    borrowed = peers.borrow(
        peers.features(arrivals, hours, demand, shares), list(chosen), few, chosen
    )
    out = []
    for k, node in enumerate(nodes):
        now = targets_now[k]
        before = _expected(cands, k, None, float(hours[k]))
        after: Expected | None = None
        best: NodeTargets | None = None
        best_after: Expected | None = None
        if k in chosen:
            assert validated is not None
            m, big_m = chosen[k]
            rec = best = NodeTargets(Targets(m, big_m), now.max_slots)
            after = best_after = _expected(cands, k, int(validated.choice[k]), float(hours[k]))
            status, rec, why = _judge(k, now, rec, before, after, demand[k], settings,
                                      int(caps[k]), validated)  # fmt: skip
            if status is RecommendationStatus.UNCHANGED:  # the pair turned down is not "after"
                after = before
        elif k in borrowed:
            (m, big_m), size = borrowed[k]
            m = min(max(m, settings.min_warm_floor), int(caps[k]))
            big_m = min(max(big_m, m), int(caps[k]))
            rec = NodeTargets(Targets(m, big_m), now.max_slots)
            status = RecommendationStatus.BORROWED
            why = borrowed_reason(int(arrivals[k]), size)
        elif searched[k]:
            rec, status = now, RecommendationStatus.UNCHANGED
            why = capped_reason(int(caps[k]), settings.min_warm_floor)
        else:
            rec, status = now, RecommendationStatus.INSUFFICIENT_HISTORY
            why = insufficient_reason(int(arrivals[k]), float(hours[k]), settings)
        changed = not same_targets(rec, now)
        out.append(
            Recommendation(
                node,
                status.settled(changed),
                now,
                rec,
                before,
                after,
                float(hours[k]),
                int(arrivals[k]),
                confidence(float(hours[k]), int(arrivals[k])),
                why,
                demand[k],
                peaks[k],
                best=best,
                best_expected=best_after,
            )
        )
    return out


def _judge(
    k: int,
    now: NodeTargets,
    rec: NodeTargets,
    before: Expected,
    after: Expected,
    demand: float,
    settings: AnalysisSettings,
    cap: int,
    validated: Validated,
) -> tuple[RecommendationStatus, NodeTargets, str]:
    """A searched node's status, pair and reason: max-attach and do-no-harm guards."""
    why = explain(before, after, demand, settings, rec, cap, validated.checked_folds,
                  float(validated.rate[k]))  # fmt: skip
    if same_targets(rec, now):
        return RecommendationStatus.RECOMMENDED, rec, why
    effective = (min(rec.min_warm, cap), min(rec.max_warm, cap))
    # a schedule in force is never the pair of its hour 0: only its replay says whether
    # a pair does better
    same = now.schedule is None and effective == (min(now.min_warm, cap), min(now.max_warm, cap))
    # A change that saves nothing on this history is not worth a write: typically a
    # node held at max-attach, where no pair changes what its pods wait for.
    no_better = (after.cold_starts >= before.cold_starts
                 and after.idle_slots >= before.idle_slots - 0.05)  # fmt: skip
    if same or no_better or (now.schedule is not None and schedule_holds(before, after, settings)):
        return RecommendationStatus.UNCHANGED, now, no_change_reason(rec, now, cap)
    lowers = now.schedule is not None or rec.min_warm < now.min_warm or rec.max_warm < now.max_warm
    if lowers and validated.held[k]:
        reason = held_reason(rec, float(validated.rate[k]), float(validated.current_rate[k]),
                             settings)  # fmt: skip
        return RecommendationStatus.UNCHANGED, now, reason
    return RecommendationStatus.RECOMMENDED, rec, why


def schedule_holds(kept: Expected, other: Expected, settings: AnalysisSettings) -> bool:
    """A schedule in force (``kept``) is no worse than ``other`` targets over the same
    history: with explicit costs, no dearer; else within the objective with no more idle,
    or, both beyond the objective, with no more cold starts."""
    objective = settings.objective
    if objective.explicit_costs:
        return objective.cost(kept.idle_slot_seconds / 3600.0, float(kept.cold_starts)) <= (
            objective.cost(other.idle_slot_seconds / 3600.0, float(other.cold_starts))
        )
    limit = objective.max_cold_start_rate
    if kept.cold_rate <= limit:
        return other.cold_rate > limit or kept.idle_slot_seconds <= other.idle_slot_seconds
    return other.cold_rate > limit and kept.cold_starts <= other.cold_starts


def no_change_reason(rec: NodeTargets, now: NodeTargets, cap: int) -> str:
    """Why a searched pair that saves nothing is not written (max-attach named only
    when the node has one)."""
    under = f"under max-attach {cap}" if cap < UNLIMITED else "on this history"
    current = ("schedule" if now.schedule is not None
               else f"{now.min_warm}/{now.max_warm}")  # fmt: skip
    return (f"{rec.min_warm}/{rec.max_warm} would do no better than the current {current} "
            f"{under}: no change")  # fmt: skip


def _expected(cands: Candidates, k: int, c: int | None, hours: float) -> Expected:
    starts, cold, idle = cands.run_stats(k, c)
    return Expected(starts, cold, idle, hours)


def _with_cap(targets: NodeTargets, settings: AnalysisSettings) -> NodeTargets:
    """The node's targets, with the default max-attach where they set none."""
    if targets.max_slots is None and settings.default_max_slots is not None:
        return targets.with_max_slots(settings.default_max_slots)
    return targets


def _cap(targets: NodeTargets) -> int:
    return UNLIMITED if targets.max_slots is None else targets.max_slots
