"""`eni-tuner switch` and `apply --schedule` on the real API server: the right pair at
the right time (time injected with --now, a block wrapping past midnight included),
opt-out, the selector, an invalid schedule skipped with an Event while the others go
on, max-attach, and a second run inside one block that changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kube_adapter.client import ClientSettings, connect
from pool_engine.config import Mode, Targets
from pool_engine.replay import NodeTargets
from pool_engine.warm_schedule import Block, WarmSchedule
from support import daily_traces
from tuner import stored_schedules
from tuner.changes import Guardrails
from tuner.recommendation import Recommendation, RecommendationStatus

from .control_plane import ControlPlane
from .objects import create_nec, unique_name
from .switching import (
    DIRECT_SCHEDULE,
    DMAX,
    DMIN,
    MAX,
    MIN,
    OPT_OUT,
    SCHEDULE,
    P,
    Ran,
    events,
    label,
    nec,
    notes,
    pair,
    run,
)

pytestmark = pytest.mark.k8s
NIGHT = WarmSchedule.from_blocks(
    [Block(22, 6, Targets(20, 25)), Block(6, 9, Targets(8, 10)), Block(9, 22, Targets(2, 4))]
)
"""20/25 from 22:00 to 06:00 (past midnight), 8/10 until 09:00, 2/4 in the day."""


@pytest.fixture
def scheduled(control_plane: ControlPlane, nec_crd: object) -> Iterator[tuple[dict[str, str], str]]:
    """NECs at 5/5 under one run label: ``sched`` with NIGHT, ``optout`` with NIGHT and
    the opt-out, ``capped`` with NIGHT and max-attach 2 x 9 = 18 slots, ``bad`` with an
    invalid schedule, ``static`` with none, ``direct`` with a direct-eni schedule too;
    ``other`` has NIGHT but another label."""
    api = control_plane.api_client
    names = {k: unique_name(k) for k in ("sched", "optout", "capped", "bad", "static", "direct",
                                         "other")}  # fmt: skip
    run_label = unique_name("run")
    night = NIGHT.dumps()
    direct = WarmSchedule.from_blocks([Block(22, 6, Targets(1, 2)), Block(6, 22, Targets(3, 3))])
    extra = {
        "sched": {SCHEDULE: night},
        "optout": {SCHEDULE: night, OPT_OUT: "true"},
        "capped": {SCHEDULE: night, P + "route-eni-max-attach": "2",
                   P + "max-ip-per-route-eni": "9"},
        "bad": {SCHEDULE: '[{"from_hour":0,"to_hour":12,"min_warm":3,"max_warm":1}]'},
        "static": {},
        "direct": {SCHEDULE: night, DIRECT_SCHEDULE: direct.dumps(), DMIN: "1", DMAX: "1"},
        "other": {SCHEDULE: night},
    }  # fmt: skip
    for key, name in names.items():
        create_nec(api, name, {MIN: "5", MAX: "5", **extra[key]})
        label(api, name, "elsewhere" if key == "other" else run_label)
    yield names, f"run={run_label}"


def switch(control_plane: ControlPlane, selector: str, now: str, *more: str) -> Ran:
    return run("switch", "--kubeconfig", str(control_plane.kubeconfig), "--selector", selector,
               "--now", now, "-o", "json", *more)  # fmt: skip


def test_the_switch_sets_the_pair_of_the_block_in_force(
    control_plane: ControlPlane, scheduled: tuple[dict[str, str], str]
) -> None:
    api = control_plane.api_client
    names, selector = scheduled
    dry = switch(control_plane, selector, "2025-01-06T23:10:00Z", "--dry-run")
    assert dry.exit_code == 2, dry.error  # the invalid schedule, named at the end
    assert pair(api, names["sched"]) == ("5", "5")  # a dry run writes nothing
    assert not events(api, names["bad"], "WarmScheduleRefused")

    done = switch(control_plane, selector, "2025-01-06T23:10:00Z")  # 22-06 wraps past midnight
    assert done.exit_code == 2
    assert done.error.startswith("error: warm-schedule annotation: invalid on 1 NEC,")
    assert f"{names['bad']} (route-eni)" in done.error and "\n" not in done.error.strip()
    record = {(r["node"], r["mode"]): r for r in json.loads(done.stdout)}
    assert record[(names["sched"], "route-eni")]["outcome"] == "changed: block 22:00-06:00"
    assert pair(api, names["sched"]) == ("20", "25")
    assert pair(api, names["direct"]) == ("20", "25")
    assert pair(api, names["direct"], (DMIN, DMAX)) == ("1", "2")  # its own schedule
    assert pair(api, names["optout"]) == ("5", "5")
    assert record[(names["optout"], "route-eni")]["outcome"].startswith("skipped: opted out")
    assert pair(api, names["capped"]) == ("18", "18")  # max-attach: 2 ENIs x 9 IPs
    assert pair(api, names["other"]) == ("5", "5")  # not selected
    assert names["other"] not in {n for n, _ in record}
    assert names["static"] not in {n for n, _ in record}  # no schedule: not a switch's
    assert pair(api, names["bad"]) == ("5", "5")
    assert record[(names["bad"], "route-eni")]["outcome"].startswith("skipped: invalid schedule")
    assert len(events(api, names["bad"], "WarmScheduleRefused")) == 1
    (event,) = events(api, names["sched"], "WarmScheduleSwitched")
    assert "switched to block 22:00-06:00: min 20 max 25" in event.message
    assert "eni-pool.io/previous-warm-targets" not in notes(api, names["sched"])

    # the same block after midnight: nothing is written at all
    versions = {n: nec(api, n)["metadata"]["resourceVersion"] for n in names.values()}
    again = switch(control_plane, selector, "2025-01-07T05:55:00Z")
    assert {r["outcome"] for r in json.loads(again.stdout) if r["node"] == names["sched"]} == {
        "unchanged: block 22:00-06:00"
    }
    versions.pop(names["bad"])
    assert {n: nec(api, n)["metadata"]["resourceVersion"] for n in versions} == versions

    morning = switch(control_plane, selector, "2025-01-07T06:00:00Z")
    assert morning.exit_code == 2
    assert pair(api, names["sched"]) == ("8", "10")
    assert pair(api, names["capped"]) == ("8", "10")
    day = switch(control_plane, selector, "2025-01-07T13:00:00+01:00")  # 12:00 UTC
    assert day.exit_code == 2
    assert pair(api, names["sched"]) == ("2", "4")
    assert pair(api, names["direct"], (DMIN, DMAX)) == ("3", "3")
    assert len(events(api, names["sched"], "WarmScheduleSwitched")) == 3


def test_a_bad_now_is_one_line_and_exit_2(control_plane: ControlPlane) -> None:
    done = run("switch", "--kubeconfig", str(control_plane.kubeconfig), "--now", "yesterday")
    assert done.exit_code == 2
    assert "'yesterday' is not an RFC 3339 time" in done.error


def rec(node: str, schedule: WarmSchedule | None) -> Recommendation:
    """Recommended 3/6 all day, and ``schedule``."""
    return Recommendation(node, RecommendationStatus.RECOMMENDED, NodeTargets(Targets(5, 5)),
                          NodeTargets(Targets(3, 6)), None, None, 48.0, 500, 0.9, "",
                          schedule=schedule)  # fmt: skip


def test_apply_schedule_stores_within_the_guardrails_and_rolls_back(
    control_plane: ControlPlane, nec_crd: object
) -> None:
    api = control_plane.api_client
    kube = connect(ClientSettings(control_plane.kubeconfig))
    fresh, stale, out, capped = (unique_name(k) for k in ("fresh", "stale", "out", "cap"))
    create_nec(api, fresh, {MIN: "5", MAX: "5"})
    create_nec(api, stale, {MIN: "5", MAX: "5", SCHEDULE: NIGHT.dumps()})
    create_nec(api, out, {MIN: "5", MAX: "5", OPT_OUT: "true"})
    create_nec(api, capped, {MIN: "5", MAX: "5", P + "route-eni-max-attach": "2",
                             P + "max-ip-per-route-eni": "9"})  # fmt: skip
    recs = [rec(fresh, NIGHT), rec(stale, None), rec(out, NIGHT), rec(capped, NIGHT)]
    necs = {n: notes(api, n) for n in (fresh, stale, out, capped)}
    guard = Guardrails()
    mode = Mode.ROUTE_ENI

    def write(dry_run: bool) -> dict[str, stored_schedules.ScheduleChange]:
        planned = stored_schedules.plan(recs, necs, guard, mode)
        how = stored_schedules.writing({r.node: r for r in recs}, guard, mode, dry_run)
        return {c.node: c for c in stored_schedules.write(kube, planned, how)}

    dry = write(True)
    assert dry[fresh].outcome == "would-change"
    assert SCHEDULE not in notes(api, fresh)  # a dry run writes nothing
    done = write(False)
    assert WarmSchedule.loads(notes(api, fresh)[SCHEDULE]) == NIGHT
    assert notes(api, fresh)[SCHEDULE] == NIGHT.dumps()
    assert pair(api, fresh) == ("5", "5")  # the pair is the switch's to set
    assert done[out].outcome.startswith("skipped: opted out") and SCHEDULE not in notes(api, out)
    # no schedule: the stale one goes and the all-day pair comes, in one patch
    assert SCHEDULE not in notes(api, stale) and pair(api, stale) == ("3", "6")
    capped_night = WarmSchedule.loads(notes(api, capped)[SCHEDULE])
    assert capped_night.at_hour(23) == Targets(18, 18)  # at most max-attach's 18 slots
    assert events(api, fresh, "WarmScheduleStored")
    assert write(False)[fresh].outcome == "unchanged"  # a second run changes nothing

    necs = {n: notes(api, n) for n in (fresh, stale)}
    back = stored_schedules.plan_rollback(necs, guard, mode)
    how = stored_schedules.writing(None, guard, mode, False)
    rolled = {c.node: c for c in stored_schedules.write(kube, back, how)}
    assert rolled[fresh].outcome == "changed" and SCHEDULE not in notes(api, fresh)
    assert pair(api, fresh) == ("5", "5")
    assert WarmSchedule.loads(notes(api, stale)[SCHEDULE]) == NIGHT  # the stale one is back
    assert events(api, stale, "WarmScheduleRolledBack")


def test_apply_schedule_from_the_command_line(
    control_plane: ControlPlane, nec_crd: object, tmp_path: Path
) -> None:
    """Without a schedule in the recommendations (a steady pod every 10 minutes), apply
    --schedule removes a stale schedule and writes the all-day pair, in one patch; the
    dry run writes nothing; opt-out holds; --max-step is refused with --schedule."""
    api = control_plane.api_client
    stale, out = unique_name("cs"), unique_name("co")
    create_nec(api, stale, {MIN: "5", MAX: "5", SCHEDULE: NIGHT.dumps()})
    create_nec(api, out, {MIN: "5", MAX: "5", SCHEDULE: NIGHT.dumps(), OPT_OUT: "true"})
    rows = [f"{600.0 * j + 17 + k},{n},{e}" for n in (stale, out) for j in range(30 * 6)
            for k, e in ((0, "start"), (1800, "stop"))]  # fmt: skip
    trace = tmp_path / "history.csv"
    trace.write_text("time,node,event\n" + "\n".join(rows) + "\n")
    kube = ("--kubeconfig", str(control_plane.kubeconfig), "--trace", str(trace))
    refused = run("apply", *kube, "--schedule", "--max-step", "2")
    assert refused.exit_code == 2 and "--max-step does not apply to --schedule" in refused.error

    dry = run("apply", *kube, "--schedule", "--min-history", "1", "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.error
    outcome = {c["node"]: c for c in json.loads(dry.stdout)}
    assert outcome[stale]["outcome"] == "would-change"
    assert outcome[stale]["before"] == NIGHT.to_json()
    (block,) = outcome[stale]["after"]
    assert (block["from_hour"], block["to_hour"]) == (0, 24)
    assert notes(api, stale)[SCHEDULE] == NIGHT.dumps()

    done = run("apply", *kube, "--schedule", "--min-history", "1", "-o", "json")
    assert done.exit_code == 0, done.error
    outcome = {c["node"]: c for c in json.loads(done.stdout)}
    assert outcome[out]["outcome"].startswith("skipped: opted out")
    assert SCHEDULE in notes(api, out)
    assert SCHEDULE not in notes(api, stale)
    assert pair(api, stale) == (str(block["min_warm"]), str(block["max_warm"]))
    record = json.loads(notes(api, stale)["eni-pool.io/previous-warm-schedule"])
    assert record["schedule"] == NIGHT.to_json() and record["mode"] == "route-eni"


def test_apply_schedule_stores_the_searched_schedule_and_the_switch_follows_it(
    control_plane: ControlPlane, nec_crd: object, tmp_path: Path
) -> None:
    """A node whose 20-pod job starts at 02:00 UTC on 13 of 14 days: `apply --schedule`
    stores the schedule `recommend --schedule` finds (a block covering 02:00 above the
    rest of the day), and `switch` at 02:30 puts that block's pair in force."""
    api = control_plane.api_client
    node = unique_name("cj")
    create_nec(api, node, {MIN: "5", MAX: "5"})
    run_label = unique_name("run")
    label(api, node, run_label)
    rows = sorted(daily_traces.job_node(node, seed=3))
    trace = tmp_path / "history.csv"
    trace.write_text("time,node,event\n" + "".join(f"{t},{n},{e}\n" for t, n, e in rows))
    kube = ("--kubeconfig", str(control_plane.kubeconfig))
    done = run("apply", *kube, "--trace", str(trace), "--schedule", "--min-history", "24",
               "-o", "json")  # fmt: skip
    assert done.exit_code == 0, done.error
    stored = WarmSchedule.loads(notes(api, node)[SCHEDULE])
    assert not stored.is_constant()
    at_two = stored.at_hour(2)
    assert at_two.min_warm > max(stored.at_hour(h).min_warm for h in (8, 12, 16, 20))
    switched = switch(control_plane, f"run={run_label}", "2025-01-06T02:30:00Z")
    assert switched.exit_code == 0, switched.error
    assert pair(api, node) == (str(at_two.min_warm), str(at_two.max_warm))
