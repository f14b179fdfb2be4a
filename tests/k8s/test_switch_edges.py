"""`eni-tuner switch` and `apply --schedule` at the edges, on the real API server (an
adversarial pass on issue 13): --now on either side of a block boundary and in odd UTC
offsets (+05:45, -09:30), a NEC deleted between the list and the write (skipped, the
others written, exit 0), and an API server that is down or refuses (exit 4, one line)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from kube_adapter import nec as necs_module
from pool_engine.config import Targets
from pool_engine.warm_schedule import Block, WarmSchedule
from support.prom import free_port

from .control_plane import ControlPlane, altered_kubeconfig
from .objects import NEC_GROUP, NEC_PLURAL, NEC_VERSION, create_nec, unique_name
from .switching import MAX, MIN, SCHEDULE, Ran, events, label, pair, run

pytestmark = pytest.mark.k8s
AT_TWO = WarmSchedule.from_blocks([Block(0, 2, Targets(1, 2)), Block(2, 24, Targets(7, 9))])
"""1/2 until 02:00 UTC, 7/9 from then on."""
TUNER = [sys.executable, "-c", "from tuner.cli import main; main()"]


def switch(cp: ControlPlane, run_label: str, now: str) -> Ran:
    return run("switch", "--kubeconfig", str(cp.kubeconfig), "--selector", f"run={run_label}",
               "--now", now, "-o", "json")  # fmt: skip


def scheduled(cp: ControlPlane, run_label: str, prefix: str) -> str:
    name = unique_name(prefix)
    create_nec(cp.api_client, name, {MIN: "5", MAX: "5", SCHEDULE: AT_TWO.dumps()})
    label(cp.api_client, name, run_label)
    return name


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2025-01-06T01:59:59Z", ("1", "2")),
        ("2025-01-06T01:59:59.999999Z", ("1", "2")),
        ("2025-01-06T02:00:00Z", ("7", "9")),
        ("2025-01-06T07:44:59+05:45", ("1", "2")),  # 01:59:59 UTC
        ("2025-01-05T16:30:00-09:30", ("7", "9")),  # 02:00:00 UTC
        ("2025-01-06T23:59:59Z", ("7", "9")),
        ("2025-01-07T00:00:00Z", ("1", "2")),
    ],
)
def test_the_block_of_now_by_its_utc_hour(
    control_plane: ControlPlane, nec_crd: object, now: str, expected: tuple[str, str]
) -> None:
    run_label = unique_name("edge")
    name = scheduled(control_plane, run_label, "edge")
    done = switch(control_plane, run_label, now)
    assert done.exit_code == 0, done.error
    assert pair(control_plane.api_client, name) == expected
    assert len(events(control_plane.api_client, name, "WarmScheduleSwitched")) == 1


@pytest.mark.parametrize("when", ["get", "patch"])
def test_a_nec_deleted_before_the_write_is_skipped_and_the_others_written(
    control_plane: ControlPlane, nec_crd: object, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    api = control_plane.api_client
    run_label = unique_name("gone")
    gone, kept = scheduled(control_plane, run_label, "gone"), scheduled(control_plane, run_label,
                                                                         "kept")  # fmt: skip
    original = getattr(necs_module.Necs, when)

    def delete_first(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if name == gone:
            try:
                client.CustomObjectsApi(api).delete_cluster_custom_object(
                    NEC_GROUP, NEC_VERSION, NEC_PLURAL, gone
                )
            except client.ApiException as error:
                assert error.status == 404
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(necs_module.Necs, when, delete_first)
    done = switch(control_plane, run_label, "2025-01-06T12:00:00Z")
    assert done.exit_code == 0, done.error
    outcomes = {o["node"]: o["outcome"] for o in json.loads(done.stdout)}
    assert outcomes[gone] == "skipped: NEC gone"
    assert pair(api, kept) == ("7", "9")


@pytest.mark.parametrize("broken", ["token", "server"])
@pytest.mark.parametrize(
    "command",
    [["switch"], ["switch", "--dry-run"], ["apply", "--schedule", "--rollback"],
     ["apply", "--schedule", "--trace"]],
)  # fmt: skip
def test_a_refusing_or_unreachable_api_server_is_exit_4_in_one_line(
    control_plane: ControlPlane, tmp_path: Path, broken: str, command: list[str]
) -> None:
    if command[-1] == "--trace":
        trace = tmp_path / "history.csv"
        trace.write_text("time,node,event\n0,n1,start\n90000,n1,stop\n")
        command = [*command, str(trace)]
    change = ({"token": "not-a-token"} if broken == "token"
              else {"server": f"https://127.0.0.1:{free_port()}"})  # fmt: skip
    config = altered_kubeconfig(control_plane, tmp_path, **change)
    done = subprocess.run([*TUNER, *command, "--kubeconfig", str(config)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith("error: ") and len(done.stderr.splitlines()) == 1, done.stderr
