"""`recommend --schedule -o kubectl` piped into sh with a real kubectl against the real
API server: the NECs end up as `apply --schedule` would leave them (the schedule stored
on the scheduled node, the pair and no stale schedule on the others), and removing a
schedule a NEC never had does not fail the script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from kubernetes import client

from pool_engine.warm_schedule import WarmSchedule
from support import daily_traces as dt

from .control_plane import ControlPlane
from .objects import NEC_GROUP, NEC_PLURAL, NEC_VERSION, create_nec, unique_name

pytestmark = pytest.mark.k8s
SCHEDULE = "eni-pool.io/warm-schedule"
MIN = "tke.cloud.tencent.com/route-eni-ip-min-warm-target"
STALE = '[{"from_hour":0,"to_hour":24,"min_warm":9,"max_warm":9}]'


@pytest.fixture(scope="module")
def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true, so not skipping: no kubectl (hack/install-test-deps.sh)")
        pytest.skip("no kubectl on PATH (hack/install-test-deps.sh installs one)")
    return found


def annotations(api: client.ApiClient, name: str) -> dict[str, str]:
    got = client.CustomObjectsApi(api).get_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, name
    )
    return dict(got["metadata"].get("annotations") or {})


def test_piped_lines_leave_the_necs_as_apply_schedule_would(
    control_plane: ControlPlane, nec_crd: object, kubectl: str, tmp_path: Path
) -> None:
    sched, stale, fresh = (unique_name(p) for p in ("sched", "stale", "fresh"))
    create_nec(control_plane.api_client, sched)
    create_nec(control_plane.api_client, stale, {SCHEDULE: STALE})
    create_nec(control_plane.api_client, fresh)
    rows = dt.job_node(sched) + dt.random_node(stale, 2) + dt.random_node(fresh, 3)
    trace = dt.write(tmp_path / "churn.csv", rows)
    out = subprocess.run(["eni-tuner", "recommend", "--trace", str(trace), "--schedule",
                          "-o", "kubectl"], capture_output=True, text=True, check=True).stdout  # fmt: skip
    json_out = subprocess.run(["eni-tuner", "recommend", "--trace", str(trace), "--schedule",
                               "-o", "json"], capture_output=True, text=True, check=True).stdout  # fmt: skip
    env = {**os.environ, "KUBECONFIG": str(control_plane.kubeconfig),
           "KUBECACHEDIR": str(tmp_path / "kube-cache")}  # fmt: skip
    done = subprocess.run(["sh", "-e"], input=out, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    wanted = {d["node"]: d for d in json.loads(json_out)}
    stored = annotations(control_plane.api_client, sched)
    assert WarmSchedule.loads(stored[SCHEDULE]) == WarmSchedule.from_json(wanted[sched]["schedule"])
    for node in (stale, fresh):
        got = annotations(control_plane.api_client, node)
        assert SCHEDULE not in got, got  # the stale one is gone; removing none did not fail
        assert got[MIN] == str(wanted[node]["min_warm"])
