"""`eni-tuner apply` planning (pure): what is refused, capped, stepped or left alone."""

from __future__ import annotations

import dataclasses

import pytest

from pool_engine.config import Mode, Targets
from pool_engine.errors import KubernetesError
from pool_engine.replay import NodeTargets
from pool_engine.warm_schedule import WarmSchedule
from tuner import stored_schedules
from tuner.analysis import Expected, Recommendation
from tuner.apply import OPT_OUT, Guardrails, plan, raise_for_failures
from tuner.changes import Change, Result
from tuner.recommendation import RecommendationStatus
from tuner.schedule_advice import ScheduleAdvice, ScheduleStatus

P = "tke.cloud.tencent.com/"


def rec(node: str, m: int, big_m: int, hours: float = 48.0, cold_fixed: int = 0) -> Recommendation:
    before = Expected(100, 10 + cold_fixed, 1000.0, hours)
    after = Expected(100, 10, 500.0, hours)
    return Recommendation(node, "recommended", NodeTargets(Targets(5, 5)), NodeTargets(Targets(m, big_m)),
                          before, after, hours, 100, 0.9, "")  # fmt: skip


def nec(m: str = "5", big_m: str = "5", **extra: str) -> dict[str, str]:
    return {
        P + "route-eni-ip-min-warm-target": m,
        P + "route-eni-ip-max-warm-target": big_m,
        **extra,
    }


def outcome(r: Recommendation, annotations: dict[str, str] | None, **guard: object) -> str:
    (change,) = plan([r], {r.node: annotations} if annotations is not None else {},
                     Guardrails(**guard), Mode.ROUTE_ENI)  # type: ignore[arg-type]  # fmt: skip
    return change.outcome


def test_what_the_engine_would_refuse_is_never_written() -> None:
    assert outcome(rec("a", 3, 2), nec()).startswith("skipped: ") and "> " in outcome(
        rec("a", 3, 2), nec()
    )


def test_never_above_max_attach_from_the_nec() -> None:
    limits = {P + "route-eni-max-attach": "1", P + "max-ip-per-route-eni": "4"}
    (change,) = plan([rec("a", 9, 12)], {"a": nec(**limits)}, Guardrails(), Mode.ROUTE_ENI)
    assert change.after == Targets(4, 4)


def test_invalid_current_annotations_count_as_the_defaults() -> None:
    (change,) = plan([rec("a", 2, 3)], {"a": nec("x", "3")}, Guardrails(), Mode.ROUTE_ENI)
    assert change.before == Targets(5, 5) and change.outcome == "changed"


def test_skips() -> None:
    assert outcome(rec("a", 1, 1), None) == "skipped: no NEC object"
    assert outcome(rec("a", 1, 1), nec(**{OPT_OUT: "True"})).startswith("skipped: opted out")
    assert outcome(rec("a", 1, 1), nec(), selected=frozenset({"b"})) == "skipped: not selected"
    assert outcome(rec("a", 5, 5), nec()) == "unchanged"


def test_cap_keeps_the_most_useful_changes() -> None:
    recs = [rec("idle-only", 1, 1), rec("fixes-cold", 8, 8, cold_fixed=5)]
    changes = plan(
        recs, {"idle-only": nec(), "fixes-cold": nec()}, Guardrails(max_changes=1), Mode.ROUTE_ENI
    )
    assert [c.outcome for c in changes] == ["skipped: change cap reached", "changed"]


def test_step_limit_moves_both_targets_and_keeps_min_below_max() -> None:
    (change,) = plan(
        [rec("a", 12, 12)], {"a": nec("5", "5")}, Guardrails(max_step=3), Mode.ROUTE_ENI
    )
    assert change.after == Targets(8, 8)
    (change,) = plan([rec("a", 1, 9)], {"a": nec("5", "5")}, Guardrails(max_step=2), Mode.ROUTE_ENI)
    assert change.after == Targets(3, 7)


def test_short_of_the_analysis_floor_does_not_quote_a_lower_flag() -> None:
    """It said '0.2 h of history (need 0.01 h)' under --min-history 0.01 (adversarial
    review, session 5): the analysis' own floor kept the node."""
    short = dataclasses.replace(rec("n", 2, 2, hours=0.2),
                                status=RecommendationStatus.INSUFFICIENT_HISTORY)  # fmt: skip
    assert outcome(short, nec(), min_history_hours=0.01) == (
        "skipped: 0.2 h of history: too little for a pair of its own"
    )
    assert outcome(short, nec(), min_history_hours=24.0) == "skipped: 0.2 h of history (need 24 h)"


def test_a_refused_pair_is_never_in_force_for_a_constant_schedule() -> None:
    """apply --schedule: a node whose schedule collapsed to 5/5 and whose NEC holds the
    refused pair 9/3 was 'unchanged' (the defaults taken as in force); it is written
    (code review, session 5)."""
    refused = nec("9", "3")
    wanted = WarmSchedule.constant(Targets(5, 5))
    before = stored_schedules.held(refused, Mode.ROUTE_ENI)
    change = stored_schedules.fitted("n", before, wanted, refused, Mode.ROUTE_ENI)
    assert change.result is Result.CHANGED
    valid = stored_schedules.fitted("n", before, wanted, nec("5", "5"), Mode.ROUTE_ENI)
    assert valid.result is Result.UNCHANGED


def test_a_failed_run_names_each_node_once() -> None:
    """switch writes per mode: a NEC failing in both was named twice (code review,
    session 5); the others are counted as pools (apply writes every pool: session 12)."""

    def change(node: str, result: Result) -> Change:
        return Change(node, Targets(5, 5), Targets(2, 2), result, "boom")

    done = [change("n1", Result.FAILED), change("n1", Result.FAILED),
            change("n2", Result.CHANGED), change("n2", Result.CHANGED)]  # fmt: skip
    with pytest.raises(KubernetesError) as caught:
        raise_for_failures(done)
    assert str(caught.value) == "1 NEC write(s) failed (n1); 2 other pool(s) changed"


def test_a_record_of_each_pool_survives_the_other_pools_write() -> None:
    """apply --mode route-eni, then apply --mode direct-eni on the same NEC: each pool's
    rollback restores its own pair. Session 11: both wrote one record key, so the
    direct-eni write replaced the route-eni record and `--rollback` of route-eni found
    "the record is of direct-eni targets"; the same for stored schedules."""
    from tuner import apply as applying
    from tuner import rollback

    annotations = nec("5", "5")
    annotations[P + "direct-eni-min-warm-target"] = "1"
    annotations[P + "direct-eni-max-warm-target"] = "1"
    writes = [(Mode.ROUTE_ENI, Targets(5, 5), Targets(2, 3)),
              (Mode.DIRECT_ENI, Targets(1, 1), Targets(2, 2))]  # fmt: skip
    for mode, before, after in writes:
        change = Change("n", before, after, Result.CHANGED)
        writing = applying.Writing(lambda n, a, done=change: done, mode, dry_run=False)
        patch = applying._annotations(change, writing)
        annotations.update({k: v for k, v in patch.items() if v is not None})
    for mode, before, _ in writes:
        (restore,) = rollback.plan({"n": annotations}, Guardrails(), mode)
        assert (restore.result, restore.after) == (Result.CHANGED, before), restore.outcome
    schedule = WarmSchedule.constant(Targets(2, 2))
    for mode in Mode:
        change = stored_schedules.ScheduleChange(
            "n", WarmSchedule.constant(Targets(1, 1)), schedule, Result.CHANGED
        )
        patch = stored_schedules.annotations_of(change, mode)
        annotations.update({k: v for k, v in patch.items() if v is not None})
    for mode in Mode:
        assert stored_schedules.recorded(annotations, mode) == WarmSchedule.constant(Targets(1, 1))


def test_a_direct_eni_record_an_earlier_version_wrote_is_still_rolled_back() -> None:
    """Before session 11 both pools' records went to eni-pool.io/previous-warm-targets."""
    import json

    from tuner import rollback

    record = {"min_warm": 1, "max_warm": 1, "mode": "direct-eni", "by": "eni-tuner"}
    annotations = {P + "direct-eni-min-warm-target": "2", P + "direct-eni-max-warm-target": "2",
                   "eni-pool.io/previous-warm-targets": json.dumps(record)}  # fmt: skip
    (restore,) = rollback.plan({"n": annotations}, Guardrails(), Mode.DIRECT_ENI)
    assert (restore.result, restore.after) == (Result.CHANGED, Targets(1, 1)), restore.outcome
    (route,) = rollback.plan({"n": annotations}, Guardrails(), Mode.ROUTE_ENI)
    assert route.result is Result.SKIPPED and "direct-eni" in route.outcome


def test_a_schedule_in_force_is_neither_written_over_nor_left_switching() -> None:
    """Session 11 (a review): plain `apply` wrote a kept schedule's hour-0 pair over the
    block in force (10/10 -> 1/1), and a pair recommended in place of a schedule got a
    kubectl line that left the schedule annotation, which keeps switching the pair."""
    from tuner import kubectl_lines

    schedule = WarmSchedule(tuple(Targets(10, 10) if h == 2 else Targets(1, 1)
                                  for h in range(24)))  # fmt: skip
    in_force = NodeTargets.scheduled(schedule)
    kept = dataclasses.replace(rec("n", 1, 1), current=in_force, recommended=in_force,
                               status=RecommendationStatus.UNCHANGED)  # fmt: skip
    (change,) = plan([kept], {"n": nec("10", "10")}, Guardrails(), Mode.ROUTE_ENI)
    assert change.result is Result.SKIPPED and "schedule" in change.outcome
    over = dataclasses.replace(rec("n", 7, 7), current=in_force,
                               status=RecommendationStatus.RECOMMENDED)  # fmt: skip
    line = kubectl_lines.command(over, Mode.ROUTE_ENI)
    assert line is not None and "eni-pool.io/warm-schedule-" in line


def test_under_the_cap_a_schedule_that_saves_much_comes_before_a_pair_that_saves_little() -> None:
    """`apply --schedule --max-changes 1`: node `sched` keeps its pair but its schedule
    saves half its idle; node `pair` changes its pair for a little less idle. Session 11
    (a review): the order came from the all-day pairs alone, so the schedule was cut."""
    from tuner.steps import with_schedules

    schedule = WarmSchedule(tuple(Targets(10, 10) if h == 2 else Targets(1, 1)
                                  for h in range(24)))  # fmt: skip
    same = dataclasses.replace(rec("sched", 5, 5), status=RecommendationStatus.UNCHANGED)
    same = dataclasses.replace(same, after=same.before)
    small = dataclasses.replace(rec("pair", 4, 4), after=Expected(100, 10, 990.0, 48.0))
    advice = [
        ScheduleAdvice("sched", ScheduleStatus.SCHEDULED, schedule, "", expected=Expected(
            100, 10, 500.0, 48.0)),
        ScheduleAdvice("pair", ScheduleStatus.ALL_DAY, WarmSchedule.constant(Targets(4, 4)), ""),
    ]  # fmt: skip
    planned = stored_schedules.plan(with_schedules([same, small], advice),
                                    {"sched": nec(), "pair": nec()},
                                    Guardrails(max_changes=1), Mode.ROUTE_ENI)  # fmt: skip
    outcomes = {c.node: c.outcome for c in planned}
    assert outcomes == {"sched": "changed", "pair": "skipped: change cap reached"}, outcomes
