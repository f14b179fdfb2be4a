"""`eni-tuner switch` and `apply --rollback` against a hostile cluster, on the real API
server (found by an adversarial review, session 5): a NEC whose pair is missing or
refused is put on its block even when the block's pair equals the built-in defaults; a
NEC that keeps conflicting is a failure (exit 4, named), not a quiet skip; a schedule
made invalid between read and write still gets its Warning Event; a selector the API
server cannot parse is bad input (exit 2); a record nested beyond Python's recursion
limit is skipped, not a crash that blocks every other rollback."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kubernetes import client

from kube_adapter import nec as necs_module
from pool_engine.config import Targets
from pool_engine.warm_schedule import Block, WarmSchedule

from .control_plane import ControlPlane
from .objects import NEC_GROUP, NEC_PLURAL, NEC_VERSION, create_nec, unique_name
from .switching import DIRECT_SCHEDULE, MAX, MIN, SCHEDULE, events, label, pair, run

pytestmark = pytest.mark.k8s
NOON = "2025-01-07T12:00:00Z"
WRAP = WarmSchedule.from_blocks([Block(22, 6, Targets(20, 25)), Block(6, 22, Targets(2, 4))])
DEFAULT_BY_DAY = WarmSchedule.from_blocks(
    [Block(22, 6, Targets(20, 25)), Block(6, 22, Targets(5, 5))]
)
"""5/5 (the engine's defaults) from 06:00 to 22:00."""


def labelled(cp: ControlPlane, annotations: dict[str, str], run_label: str) -> str:
    name = unique_name("hostile")
    create_nec(cp.api_client, name, annotations)
    label(cp.api_client, name, run_label)
    return name


def switch(cp: ControlPlane, run_label: str, *more: str) -> Any:
    return run("switch", "--kubeconfig", str(cp.kubeconfig), "--selector", f"run={run_label}",
               "--now", NOON, "-o", "json", *more)  # fmt: skip


def admin_patch(cp: ControlPlane, name: str, annotations: dict[str, str]) -> None:
    client.CustomObjectsApi(cp.api_client).patch_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, name, {"metadata": {"annotations": annotations}}
    )


def test_a_missing_or_refused_pair_is_put_on_the_block_even_at_the_defaults(
    control_plane: ControlPlane, nec_crd: object
) -> None:
    """TKE's agent does not hold 5/5 for a NEC without a pair (its own flags) or with a
    refused one (its last valid pair): the block's 5/5 must be written."""
    run_label = unique_name("pair")
    cases = {
        "absent": {},
        "min only": {MIN: "9"},
        "not a number": {MIN: "abc", MAX: "7"},
        "min above max": {MIN: "9", MAX: "3"},
    }
    names = {why: labelled(control_plane, {**bad, SCHEDULE: DEFAULT_BY_DAY.dumps()}, run_label)
             for why, bad in cases.items()}  # fmt: skip
    ran = switch(control_plane, run_label)
    assert ran.exit_code == 0, ran.error
    got = {why: pair(control_plane.api_client, name) for why, name in names.items()}
    assert got == dict.fromkeys(cases, ("5", "5"))
    # and once written, the next run inside the block changes nothing
    again = {o["node"]: o["outcome"] for o in json.loads(switch(control_plane, run_label).stdout)}
    assert set(again.values()) == {"unchanged: block 06:00-22:00"}


def test_a_nec_that_keeps_conflicting_fails_the_run_and_is_named(
    control_plane: ControlPlane, nec_crd: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_label = unique_name("conflict")
    busy = labelled(control_plane, {MIN: "5", MAX: "5", SCHEDULE: WRAP.dumps()}, run_label)
    calm = labelled(control_plane, {MIN: "5", MAX: "5", SCHEDULE: WRAP.dumps()}, run_label)
    patch = necs_module.Necs.patch

    def someone_else_first(self: Any, name: str, body: Any, **kwargs: Any) -> Any:
        if name == busy:  # bumps the resourceVersion before every write of ours
            admin_patch(control_plane, busy, {"example.com/bump": str(time.time())})
        return patch(self, name, body, **kwargs)

    monkeypatch.setattr(necs_module.Necs, "patch", someone_else_first)
    ran = switch(control_plane, run_label)
    outcomes = {o["node"]: o["outcome"] for o in json.loads(ran.stdout)}
    assert outcomes[busy].startswith("failed: still conflicting after")
    assert {o["node"]: o["retries"] for o in json.loads(ran.stdout)}[busy] == 5
    assert ran.exit_code == 4 and busy in ran.error and calm not in ran.error
    assert pair(control_plane.api_client, busy) == ("5", "5")
    assert pair(control_plane.api_client, calm) == ("2", "4")


def test_a_schedule_made_invalid_before_the_write_gets_its_warning_event(
    control_plane: ControlPlane, nec_crd: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_label = unique_name("spoilt")
    name = labelled(control_plane, {MIN: "5", MAX: "5", SCHEDULE: WRAP.dumps()}, run_label)
    patch = necs_module.Necs.patch
    spoilt: set[str] = set()

    def spoil_once(self: Any, target: str, body: Any, **kwargs: Any) -> Any:
        if target not in spoilt:
            spoilt.add(target)
            admin_patch(control_plane, target, {SCHEDULE: "garbage"})
        return patch(self, target, body, **kwargs)

    monkeypatch.setattr(necs_module.Necs, "patch", spoil_once)
    ran = switch(control_plane, run_label)
    assert ran.exit_code == 2 and name in ran.error
    assert pair(control_plane.api_client, name) == ("5", "5")
    assert len(events(control_plane.api_client, name, "WarmScheduleRefused")) == 1


def test_one_nec_with_both_schedules_invalid_counts_once(
    control_plane: ControlPlane, nec_crd: object
) -> None:
    run_label = unique_name("both")
    name = labelled(control_plane, {MIN: "5", MAX: "5", SCHEDULE: "x", DIRECT_SCHEDULE: "y"},
                    run_label)  # fmt: skip
    ran = switch(control_plane, run_label)
    assert ran.exit_code == 2
    assert "invalid on 1 NEC, left as they were" in ran.error
    assert f"{name} (route-eni)" in ran.error and f"{name} (direct-eni)" in ran.error


@pytest.mark.parametrize("selector", ["a b c", "run in (", "!!", "x=" + "y" * 70])
@pytest.mark.parametrize("command", [["switch"], ["apply", "--schedule", "--rollback"]])
def test_a_selector_the_api_server_cannot_parse_is_bad_input(
    control_plane: ControlPlane, nec_crd: object, selector: str, command: list[str]
) -> None:
    ran = run(*command, "--kubeconfig", str(control_plane.kubeconfig), "--selector", selector,
              "--dry-run")  # fmt: skip
    assert ran.exit_code == 2, ran.error
    assert "--selector" in ran.error and "\n" not in ran.error.strip()


@pytest.mark.parametrize("key", ["eni-pool.io/previous-warm-schedule",
                                 "eni-pool.io/previous-warm-targets"])  # fmt: skip
def test_a_record_nested_too_deep_is_skipped_and_the_others_roll_back(
    control_plane: ControlPlane, nec_crd: object, key: str
) -> None:
    run_label = unique_name("deep")
    schedule = key.endswith("schedule")
    kept: dict[str, Any] = (
        {"schedule": WRAP.to_json()} if schedule else {"min_warm": 2, "max_warm": 4}
    )
    record = {**kept, "mode": "route-eni", "changed_at": "x", "by": "eni-tuner"}
    good = labelled(control_plane, {MIN: "5", MAX: "5", key: json.dumps(record)}, run_label)
    evil = labelled(control_plane, {MIN: "5", MAX: "5", key: "[" * 100_000}, run_label)
    ran = run("apply", *(["--schedule"] if schedule else []), "--rollback", "--kubeconfig",
              str(control_plane.kubeconfig), "--selector", f"run={run_label}", "-o", "json")  # fmt: skip
    assert ran.exit_code == 0, ran.error
    outcomes = {o["node"]: o["outcome"] for o in json.loads(ran.stdout)}
    assert outcomes[evil].startswith("skipped: unreadable eni-pool.io/previous-warm-")
    assert outcomes[good] == "changed"
    assert pair(control_plane.api_client, evil) == ("5", "5")
