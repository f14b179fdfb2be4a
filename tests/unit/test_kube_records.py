"""exporter.kube: Kubernetes objects cut down to the records the engine reads."""

from __future__ import annotations

from typing import Any

import pytest

from exporter.kube import (
    DIRECT_ENI,
    ENI_IP,
    NecInfo,
    NodeInfo,
    PodInfo,
    nec_info,
    node_info,
    pod_info,
)
from pool_engine.config import Mode


def node(capacity: dict[str, str], allocatable: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "n1"},
            "status": {"capacity": capacity, "allocatable": allocatable or {}}}  # fmt: skip


@pytest.mark.parametrize(
    ("cpu", "cores"),
    [("4", 4), ("3500m", 3), ("500m", 1), ("0", 1), ("16.0", 16)],
)
def test_cores_come_from_capacity_in_whole_cores_at_least_one(cpu: str, cores: int) -> None:
    assert node_info(node({"cpu": cpu})).cores == cores


def test_cores_fall_back_to_allocatable_then_one() -> None:
    assert node_info(node({}, {"cpu": "8"})).cores == 8
    assert node_info({"metadata": {"name": "bare"}}) == NodeInfo(
        "bare", 1, {Mode.ROUTE_ENI: 0, Mode.DIRECT_ENI: 0}
    )


def test_bound_slots_are_the_allocatable_extended_resources() -> None:
    info = node_info(node({"cpu": "4", ENI_IP: "29"}, {ENI_IP: "27", DIRECT_ENI: "3"}))
    assert info.bound == {Mode.ROUTE_ENI: 27, Mode.DIRECT_ENI: 3}
    assert node_info(node({}, {ENI_IP: "many"})).bound[Mode.ROUTE_ENI] == 0


def pod(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"uid": "u1", "name": "p", "namespace": "ns"}, "spec": spec,
            "status": status or {}}  # fmt: skip


def test_mode_is_direct_eni_when_any_container_requests_it() -> None:
    containers = [{"name": "a"}, {"name": "b", "resources": {"requests": {DIRECT_ENI: "1"}}}]
    info = pod_info(pod({"nodeName": "n1", "containers": containers}, {"phase": "Running"}))
    assert info == PodInfo("u1", "p", "ns", "n1", Mode.DIRECT_ENI, True)
    shared = pod_info(
        pod({"nodeName": "n1", "containers": [{"resources": {"requests": {ENI_IP: "1"}}}]})
    )
    assert shared is not None and shared.mode is Mode.ROUTE_ENI


def test_active_means_scheduled_and_not_finished() -> None:
    unscheduled = pod_info(pod({"containers": []}))
    assert unscheduled is not None and not unscheduled.active
    for phase, active in [
        ("Pending", True),
        ("Running", True),
        ("Succeeded", False),
        ("Failed", False),
    ]:
        info = pod_info(pod({"nodeName": "n1"}, {"phase": phase, "podIP": "10.0.0.7"}))
        assert info is not None and (info.active, info.ip) == (active, "10.0.0.7")


def test_host_network_pods_need_no_slot() -> None:
    assert pod_info(pod({"hostNetwork": True, "nodeName": "n1"})) is None


def test_nec_keeps_only_the_tke_annotations() -> None:
    obj = {"metadata": {"name": "n1", "uid": "x",
                        "annotations": {"tke.cloud.tencent.com/route-eni-max-attach": "2",
                                        "kubectl.kubernetes.io/last-applied-configuration": "{}"}}}  # fmt: skip
    assert nec_info(obj) == NecInfo("n1", "x", {"tke.cloud.tencent.com/route-eni-max-attach": "2"})
    assert nec_info({"metadata": {"name": "n2"}}) == NecInfo("n2", "", {})
