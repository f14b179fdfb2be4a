"""tuner.analysis, its evidence, search and validation, on small histories built in memory."""

from __future__ import annotations

import numpy as np

from pool_engine.config import Targets
from pool_engine.replay import NodeTargets, SimulationSettings
from support.histories import Rows, history_of
from support.traces import bursty, quiet
from tuner.analysis import AnalysisSettings, Objective, recommend
from tuner.evidence import Evidence, evidence, rate_upper_bound
from tuner.recommendation import RecommendationStatus
from tuner.search import replay_candidates


def test_steady_churn_gets_a_pair_meeting_the_objective() -> None:
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
    assert rec.changed and f"m={pair.min_warm} keeps cold starts at" in rec.reason
    assert "unseen fold(s)" in rec.reason


def test_a_quiet_node_goes_down_to_the_floor_of_its_agent() -> None:
    history = history_of(quiet("calm"))
    (tke,) = recommend(history, AnalysisSettings(min_warm_floor=1))
    assert (tke.recommended.min_warm, tke.recommended.max_warm) == (1, 1)
    costs = Objective(idle_slot_hour_cost=10.0, cold_start_cost=0.001)
    (engine,) = recommend(history, AnalysisSettings(objective=costs, min_warm_floor=0))
    assert engine.recommended.min_warm == 0
    assert engine.reason.endswith(")") and "cheapest idle-hours" in engine.reason


def test_a_few_starts_over_a_long_history_is_a_quiet_node_not_too_little_history() -> None:
    # 12 pod starts in two weeks, each living an hour: evidence of a quiet node
    rows: Rows = [(0.0, "quiet", "start")]
    for j in range(12):
        t = 100_000.0 * j + 500.0
        rows += [(t, "quiet", "start"), (t + 3600.0, "quiet", "stop")]
    rows += [(14 * 86400.0, "quiet", "stop")]
    (rec,) = recommend(history_of(rows), AnalysisSettings())
    assert rec.arrivals == 12 < AnalysisSettings().min_arrivals
    assert rec.status is RecommendationStatus.RECOMMENDED
    assert (rec.recommended.min_warm, rec.recommended.max_warm) == (1, 1)
    assert rec.history_hours == 14 * 24.0
    # the same starts within two hours prove nothing yet
    hours = np.array([2.0, 336.0])
    kinds = evidence(np.array([12, 12]), hours, 30, 1.0)
    assert kinds == [Evidence.FEW, Evidence.OWN]
    bound = rate_upper_bound(np.array([0]), np.array([10.0]))[0]
    assert abs(bound - np.log(20) / 10) < 1e-12  # no start in 10 h: below -ln(0.05) / 10 h


def test_a_node_without_a_pod_start_in_ten_days_goes_down_to_the_floor() -> None:
    """One pod running all along and no pod start in ten days. Session 11 (an adversarial
    review): no pair was tried (the grid stopped at the largest burst, 0, below the
    floor), so the node kept 5/5 with "max-attach 1152921504606846976 is below the floor
    1"; a node with one start got 1/1."""
    rows: Rows = [(0.0, "idle", "start"), (10 * 86400.0, "idle", "stop")]
    (rec,) = recommend(history_of(rows), AnalysisSettings(min_warm_floor=1))
    assert rec.arrivals == 0
    assert rec.status is RecommendationStatus.RECOMMENDED, rec.reason
    assert (rec.recommended.min_warm, rec.recommended.max_warm) == (1, 1)
    assert "max-attach" not in rec.reason


def test_insufficient_history_is_a_short_history_and_keeps_the_targets() -> None:
    rows: Rows = [*quiet("calm"), (172_000.0, "new", "start"), (172_004.0, "new", "stop")]
    history = history_of(rows)
    current = {"new": NodeTargets(Targets(3, 4))}
    recs = {r.node: r for r in recommend(history, AnalysisSettings(), current)}
    new = recs["new"]
    assert new.status is RecommendationStatus.INSUFFICIENT_HISTORY
    assert new.recommended == new.current == NodeTargets(Targets(3, 4))
    assert new.after is None and not new.changed
    assert new.history_hours < 1.0 < recs["calm"].history_hours
    assert new.reason == f"not enough history: {new.history_hours:.1f} h of its own (need 1 h)"
    assert recs["calm"].status is RecommendationStatus.RECOMMENDED


def test_each_node_has_its_own_history_hours() -> None:
    late = [(86400.0 + 600.0 * j, "late", e) for j in range(200) for e in ("start", "stop")]
    recs = {r.node: r for r in recommend(history_of(quiet("calm") + late), AnalysisSettings())}
    end = max(t for t, _, _ in quiet("calm") + late)
    assert recs["late"].history_hours == (end - 86400.0) / 3600.0
    assert recs["calm"].history_hours == (end - 17.0) / 3600.0
    assert recs["late"].confidence < recs["calm"].confidence


def test_too_short_a_history_leaves_every_node_alone() -> None:
    history = history_of(bursty("busy", 6, hours=3))  # plenty of starts, 3 h only
    (rec,) = recommend(history, AnalysisSettings(min_history_hours=4.0))
    assert rec.status is RecommendationStatus.INSUFFICIENT_HISTORY


def test_never_above_max_attach() -> None:
    history = history_of(bursty("busy", 12))
    (rec,) = recommend(history, AnalysisSettings(default_max_slots=6))
    assert rec.recommended.max_slots == 6
    assert rec.recommended.min_warm <= rec.recommended.max_warm == 6
    assert "capped by max-attach" in rec.reason
    # a max-attach from the node's own targets wins over the default
    (own,) = recommend(
        history, AnalysisSettings(default_max_slots=6), {"busy": NodeTargets(Targets(5, 5), 4)}
    )
    assert own.status is RecommendationStatus.UNCHANGED and own.recommended.max_slots == 4
    assert "under max-attach 4: no change" in own.reason  # 5/5 runs as 4/4 already


def test_a_change_the_cap_makes_pointless_is_unchanged_with_the_reason() -> None:
    history = history_of(bursty("busy", 6))  # 6 at once: no pair under C = 3 does better
    current = {"busy": NodeTargets(Targets(5, 5), 3)}  # runs as 3/3 under C = 3
    (rec,) = recommend(history, AnalysisSettings(), current)
    assert rec.status is RecommendationStatus.UNCHANGED and not rec.changed
    assert "than the current 5/5 under max-attach 3: no change" in rec.reason


def test_the_search_stays_between_floor_and_cap() -> None:
    history = history_of(bursty("a", 12) + bursty("b", 12))
    settings = AnalysisSettings(min_warm_floor=2, search_cap=8)
    sim = SimulationSettings(NodeTargets(Targets(0, 0)))
    caps = np.array([3, 100], dtype=np.int64)
    now = [NodeTargets(Targets(5, 5), 3), NodeTargets(Targets(5, 5), 100)]
    cands = replay_candidates(history, settings, sim, now, caps, [0, 1], 43200.0)
    for k, cap in enumerate(caps):
        pairs = [cands.pair_of(k, c, int(cap)) for c in np.nonzero(cands.allowed[k])[0]]
        assert pairs and all(2 <= m <= min(cap, 8) and big <= cap for m, big in pairs)
    assert cands.bursts.tolist() == [12, 12]


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


def test_a_change_that_saves_nothing_under_max_attach_is_held_back() -> None:
    """A node held at max-attach 3 by three pods that never stop: every arrival waits
    whatever the pair, and no slot is ever idle. Before, it came back `recommended` 1/1 (below the
    cap, so the cap guard never looked) with identical before and after."""
    history = history_of([(0.0, "full", "start")] * 3 + quiet("full"))  # 3 pods never stop
    (rec,) = recommend(history, AnalysisSettings(), {"full": NodeTargets(Targets(5, 5), 3)})
    assert rec.status is RecommendationStatus.UNCHANGED, rec.reason
    assert rec.recommended == rec.current
    assert "would do no better" in rec.reason


def test_a_node_that_joined_late_is_not_charged_idle_for_the_hours_before_it() -> None:
    """A node whose history is its last 2 h of 48: its 5/5 pool idles at most 5 slots
    over those 2 h. Before, the replay charged it from time 0 (5 slots x 48 h)."""
    late = [(3600.0 * 46 + 600.0 * j + 30.0, "late", e) for j in range(12) for e in ("start",)]
    late += [(t + 300.0, "late", "stop") for t, _, _ in late]
    recs = {r.node: r for r in recommend(history_of(quiet("calm") + late), AnalysisSettings())}
    rec = recs["late"]
    assert rec.history_hours < 2.5
    assert rec.before is not None
    assert rec.before.idle_slot_seconds <= 6 * rec.history_hours * 3600.0  # 5, 6 while a bind
    assert 4.0 <= rec.before.idle_slots <= 6.0  # per hour of its own history


def test_a_change_that_saves_nothing_names_max_attach_only_when_there_is_one() -> None:
    """It said 'under max-attach 1152921504606846976' (the replay's 'unlimited') for a
    node without a limit (adversarial review, session 5)."""
    from pool_engine.config import Targets
    from pool_engine.policy import UNLIMITED
    from pool_engine.replay import NodeTargets
    from tuner.analysis import no_change_reason

    rec, now = NodeTargets(Targets(7, 7)), NodeTargets(Targets(2, 2))
    assert no_change_reason(rec, now, UNLIMITED) == (
        "7/7 would do no better than the current 2/2 on this history: no change"
    )
    assert no_change_reason(rec, now, 9).endswith("2/2 under max-attach 9: no change")


def test_an_unchanged_node_expects_after_what_it_had_before() -> None:
    """`expected_after` is the recommended pair's replay; a node left unchanged keeps its
    current pair, so the two are one. Session 11 (an adversarial review): the sample's
    node-1 was `unchanged` at 5/5 with the figures of the 5/6 it had turned down."""
    from pathlib import Path

    from tuner.history import load_history

    sample = Path(__file__).parents[2] / "docs" / "examples" / "churn-sample.csv"
    recs = {r.node: r for r in recommend(load_history(sample), AnalysisSettings())}
    unchanged = [r for r in recs.values() if r.status is RecommendationStatus.UNCHANGED]
    assert unchanged
    for rec in unchanged:
        assert rec.after == rec.before, rec.node


def test_a_schedule_in_force_holds_by_the_objective_first_then_idle_or_cost() -> None:
    """tuner.analysis.schedule_holds, the rule a schedule in force is kept by (session 11)."""
    from tuner.analysis import schedule_holds
    from tuner.recommendation import Expected

    def e(cold: int, idle_hours: float) -> Expected:
        return Expected(1000, cold, idle_hours * 3600.0, 100.0)

    rate = AnalysisSettings()  # 1 %
    assert schedule_holds(e(5, 100.0), e(0, 500.0), rate)  # within it: less idle holds
    assert not schedule_holds(e(5, 500.0), e(0, 100.0), rate)
    assert schedule_holds(e(5, 500.0), e(20, 100.0), rate)  # the other beyond it
    assert not schedule_holds(e(20, 100.0), e(5, 500.0), rate)  # beyond it: gives way
    assert not schedule_holds(e(30, 100.0), e(20, 500.0), rate)  # both beyond: fewer cold
    costs = AnalysisSettings(objective=Objective(idle_slot_hour_cost=1.0, cold_start_cost=10.0))
    assert not schedule_holds(e(20, 100.0), e(0, 250.0), costs)  # 300 against 250
    assert schedule_holds(e(20, 100.0), e(0, 350.0), costs)  # 300 against 350


def test_the_reason_gives_a_measured_bind_latency_to_three_digits() -> None:
    """From Prometheus the latency is a histogram's median: a review read "within a
    1.95628 s bind" (session 11)."""
    from tuner.recommendation import Expected, explain

    e = Expected(100, 0, 3600.0, 1.0)
    why = explain(e, e, 4.0, AnalysisSettings(bind_latency=1.95628), NodeTargets(Targets(2, 2)), 9)
    assert "within a 1.96 s bind" in why, why
