"""`eni-exporter run` against the real API server.

Nodes, NEC objects and pods made through the API show up in /metrics within a
second; a refused annotation leaves the previous targets and leaves an Event on the
NEC; a restarted exporter rebuilds the same state; with the simulated provider one
replica leads through a Lease and binds slots for the pods.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from .control_plane import ControlPlane
from .exporters import PREFIX, annotate, exporter, gauge, scrape, within
from .objects import (
    ENI_IP,
    create_nec,
    create_node,
    create_pod,
    unique_name,
)

pytestmark = pytest.mark.k8s


def test_changes_show_up_within_a_second_and_refusals_keep_targets(
    control_plane: ControlPlane, nec_crd: object, namespace: str, tmp_path: Path
) -> None:
    api = control_plane.api_client
    with exporter(control_plane, tmp_path, "--provider", "tke-observe") as base:
        node = unique_name("node")
        create_node(api, node, eni_ip=7, cpu="8")
        within(1.0, lambda: gauge(base, node, "eni_pool_bound_slots") == 7, "node")
        assert gauge(base, node, "eni_pool_max_attach_slots") == 5 * 19  # 8 cores: 5 ENIs x 19
        assert gauge(base, node, "eni_pool_min_warm_target") == 5  # the flag's default

        create_pod(api, namespace, "a", node)
        create_pod(api, namespace, "b", node)
        within(1.0, lambda: gauge(base, node, "eni_pool_in_use_slots") == 2, "pods")
        assert gauge(base, node, "eni_pool_warm_slots") == 7 - 2

        create_nec(api, node, {PREFIX + "route-eni-ip-min-warm-target": "2",
                               PREFIX + "route-eni-ip-max-warm-target": "4"})  # fmt: skip
        within(1.0, lambda: gauge(base, node, "eni_pool_max_warm_target") == 4, "NEC targets")
        assert gauge(base, node, "eni_pool_min_warm_target") == 2
        # The shadow adopted TKE's 7 (P + 5); the change runs a (slow) release round at once.
        within(1.0, lambda: gauge(base, node, "eni_pool_shadow_bound_slots") == 6, "shadow")
        assert gauge(base, node, "eni_pool_bound_slots") == 7  # TKE's actual count, unchanged

        client.CoreV1Api(api).delete_namespaced_pod("a", namespace, grace_period_seconds=0)
        within(1.0, lambda: gauge(base, node, "eni_pool_in_use_slots") == 1, "pod deletion")

        annotate(api, node, {"route-eni-ip-min-warm-target": "3",
                             "route-eni-ip-max-warm-target": "x"})  # fmt: skip
        within(1.0, lambda: scrape(base, node).get(
            ("eni_pool_config_rejections_total", "not_integer")) == 1, "refusal")  # fmt: skip
        assert (gauge(base, node, "eni_pool_min_warm_target"),
                gauge(base, node, "eni_pool_max_warm_target")) == (2, 4)  # fmt: skip
        events = (
            client.CoreV1Api(api)
            .list_namespaced_event("default", field_selector=f"involvedObject.name={node}")
            .items
        )
        assert [e.reason for e in events] == ["WarmTargetRefused"]
        assert "is not an integer" in (events[0].message or "")
        assert events[0].involved_object.kind == "NodeENIConfig"

        annotate(api, node, {"route-eni-ip-min-warm-target": "1",
                             "route-eni-ip-max-warm-target": "1"})  # fmt: skip
        within(1.0, lambda: gauge(base, node, "eni_pool_max_warm_target") == 1, "valid again")


def test_a_restarted_exporter_rebuilds_the_same_state(
    control_plane: ControlPlane, nec_crd: object, namespace: str, tmp_path: Path
) -> None:
    api = control_plane.api_client
    node = unique_name("node")
    create_node(api, node, eni_ip=9, cpu="4")
    create_nec(api, node, {PREFIX + "route-eni-ip-min-warm-target": "3",
                           PREFIX + "route-eni-ip-max-warm-target": "6",
                           PREFIX + "route-eni-max-attach": "2"})  # fmt: skip
    for k in range(4):
        create_pod(api, namespace, f"p{k}", node)
    create_pod(api, namespace, "done", node, phase="Succeeded")
    core = ("eni_pool_bound_slots", "eni_pool_in_use_slots", "eni_pool_warm_slots",
            "eni_pool_max_attach_slots", "eni_pool_min_warm_target", "eni_pool_max_warm_target",
            "eni_pool_shadow_bound_slots", "eni_pool_waiting_pods")  # fmt: skip

    def state(base: str) -> dict[str, float]:
        got = scrape(base, node)
        return {name: got[(name, "")] for name in core}

    with exporter(control_plane, tmp_path, "--provider", "tke-observe") as base:
        within(2.0, lambda: gauge(base, node, "eni_pool_in_use_slots") == 4, "first run")
        first = state(base)
    with exporter(control_plane, tmp_path, "--provider", "tke-observe") as base:
        second = state(base)  # ready means the first full sync is done
    assert second == first
    assert first["eni_pool_max_attach_slots"] == 2 * 9
    # The shadow adopted TKE's 9 bound slots, inside its band [P + 3, P + 6]: kept.
    assert first["eni_pool_shadow_bound_slots"] == 9
    assert first["eni_pool_waiting_pods"] == 0


def test_simulated_provider_leads_through_a_lease_and_binds(
    control_plane: ControlPlane, nec_crd: object, namespace: str, tmp_path: Path
) -> None:
    api = control_plane.api_client
    node = unique_name("node")
    create_node(api, node, cpu="2")
    create_nec(api, node, {PREFIX + "route-eni-ip-min-warm-target": "1",
                           PREFIX + "route-eni-ip-max-warm-target": "2"})  # fmt: skip
    lease = unique_name("lease")
    with exporter(control_plane, tmp_path, "--provider", "simulated", "--lease-name", lease,
                  "--lease-namespace", "default", "--latency-scale", "0.1") as base:  # fmt: skip
        holder = client.CoordinationV1Api(api).read_namespaced_lease(lease, "default").spec
        assert holder is not None and holder.holder_identity
        for k in range(3):
            create_pod(api, namespace, f"s{k}", node, resource=ENI_IP)
        # The engine binds through the simulated VPC (a new ENI: 1–3.3 s at this scale):
        # P + m = 4 slots.
        within(10.0, lambda: gauge(base, node, "eni_pool_bound_slots") == 4, "binds")
        assert gauge(base, node, "eni_pool_in_use_slots") == 3
        assert gauge(base, node, "eni_pool_waiting_pods") == 0
