"""tuner.analysis and its search, on small histories built in memory."""

from __future__ import annotations

import numpy as np

from pool_engine.config import Targets
from pool_engine.simulator import NodeTargets, Run, SimulationSettings, replay
from support.histories import Rows, history_of
from support.traces import bursty, quiet
from tuner.analysis import AnalysisSettings, Objective, recommend
from tuner.history import History
from tuner.recommendation import RecommendationStatus
from tuner.search import TargetSearch


def weighted_cold_rate(history: History, node: int, targets: NodeTargets) -> float:
    """The search's measure of one pair on one node: cold starts per pod start, each
    hour weighted 0.5 ** (its age / 168 h)."""
    runs = [Run(node, targets, int(history.existing[node]))]
    stats = replay(history.trace, runs, SimulationSettings(), bucket_seconds=3600.0)
    starts, cold = stats.buckets[0, :, 0], stats.buckets[0, :, 1]
    age_hours = np.maximum(0.0, history.trace.end - (np.arange(starts.size) + 0.5) * 3600.0) / 3600
    weights = 0.5 ** (age_hours / 168.0)
    return float(weights @ cold) / float(weights @ starts)


def test_steady_churn_gets_the_smallest_pair_meeting_the_objective() -> None:
    history = history_of(bursty("busy", 6))  # 6 starts within a second, every hour, 48 h
    settings = AnalysisSettings()
    (rec,) = recommend(history, settings)
    assert rec.status is RecommendationStatus.RECOMMENDED
    assert rec.after is not None and rec.before is not None
    assert rec.after.cold_rate <= settings.objective.max_cold_start_rate
    assert rec.before.cold_rate > settings.objective.max_cold_start_rate  # 5/5 was short
    pair = rec.recommended
    assert settings.min_warm_floor <= pair.min_warm <= pair.max_warm
    assert pair.max_warm - pair.min_warm in settings.bands
    # the search stops at the smallest min warm of its band that meets the aim
    assert weighted_cold_rate(history, 0, pair) <= settings.aim()
    smaller = NodeTargets(Targets(pair.min_warm - 1, pair.max_warm - 1))
    assert weighted_cold_rate(history, 0, smaller) > settings.aim()
    assert rec.changed and f"m={pair.min_warm} keeps cold starts at" in rec.reason


def test_a_quiet_node_goes_down_to_the_floor_of_its_agent() -> None:
    history = history_of(quiet("calm"))
    (tke,) = recommend(history, AnalysisSettings(min_warm_floor=1))
    assert (tke.recommended.min_warm, tke.recommended.max_warm) == (1, 1)
    costs = Objective(idle_slot_hour_cost=10.0, cold_start_cost=0.001)
    (engine,) = recommend(history, AnalysisSettings(objective=costs, min_warm_floor=0))
    assert engine.recommended.min_warm == 0
    assert engine.reason.endswith(")") and "cheapest idle-hours" in engine.reason


def test_insufficient_history_is_a_status_and_keeps_the_targets() -> None:
    rows: Rows = [*quiet("calm"), (605.0, "new", "start"), (609.0, "new", "stop")]
    history = history_of(rows)
    current = {"new": NodeTargets(Targets(3, 4))}
    recs = {r.node: r for r in recommend(history, AnalysisSettings(), current)}
    new = recs["new"]
    assert new.status is RecommendationStatus.INSUFFICIENT_HISTORY
    assert new.recommended == new.current == NodeTargets(Targets(3, 4))
    assert new.after is None and not new.changed
    hours = f"{history.hours:.1f}"
    assert new.reason == f"not enough history: 1 pod starts in {hours} h (need 30 in 1 h)"
    assert recs["calm"].status is RecommendationStatus.RECOMMENDED


def test_too_short_a_history_leaves_every_node_alone() -> None:
    history = history_of(bursty("busy", 6, hours=3))  # plenty of starts, 3 h only
    (rec,) = recommend(history, AnalysisSettings(min_history_hours=4.0))
    assert rec.status is RecommendationStatus.INSUFFICIENT_HISTORY


def test_never_above_max_attach() -> None:
    history = history_of(bursty("busy", 12))
    (rec,) = recommend(history, AnalysisSettings(default_max_slots=6))
    assert rec.recommended.max_slots == 6
    assert rec.recommended.min_warm == rec.recommended.max_warm == 6
    assert "capped by max-attach" in rec.reason
    # a max-attach from the node's own targets wins over the default
    (own,) = recommend(
        history, AnalysisSettings(default_max_slots=6), {"busy": NodeTargets(Targets(5, 5), 4)}
    )
    assert own.recommended.max_warm <= 4 and own.recommended.max_slots == 4


def test_the_search_stays_between_floor_and_cap() -> None:
    history = history_of(bursty("a", 12) + bursty("b", 12))
    settings = AnalysisSettings(min_warm_floor=2, search_cap=8)
    sim = SimulationSettings(NodeTargets(Targets(0, 0)))
    caps = np.array([3, 100], dtype=np.int64)
    chosen = TargetSearch(history, settings, sim, caps).best([0, 1])
    assert chosen[0] == (3, 3)  # 12 at once never fit: as many as C = 3 allows
    assert 2 <= chosen[1][0] <= 8  # min warm capped by search_cap, not by C = 100


def test_a_found_pair_equal_to_the_current_one_is_unchanged() -> None:
    history = history_of(quiet("calm"))
    (rec,) = recommend(history, AnalysisSettings(), {"calm": NodeTargets(Targets(1, 1))})
    assert rec.status is RecommendationStatus.UNCHANGED and not rec.changed
    statuses = [s.settled(changed=False) for s in RecommendationStatus]
    assert statuses == [
        RecommendationStatus.UNCHANGED,
        RecommendationStatus.UNCHANGED,
        RecommendationStatus.UNCHANGED,
        RecommendationStatus.INSUFFICIENT_HISTORY,
    ]
    assert [str(s) for s in RecommendationStatus] == [
        "recommended", "unchanged", "borrowed", "insufficient_history"]  # fmt: skip
