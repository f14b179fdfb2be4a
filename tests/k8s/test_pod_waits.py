"""Real pod waits on TKE, against the real API server (tke-observe).

No scheduler or kubelet runs here: the test plays both, writing what they write. A pod
the scheduler cannot place for want of ``tke.cloud.tencent.com/eni-ip`` gets
PodScheduled False (Unschedulable, "Insufficient tke.cloud.tencent.com/eni-ip"); once
it fits, the scheduler POSTs its binding and the API server sets nodeName and
PodScheduled True. The exporter counts such a pod as a cold start on the node it lands
on, with a wait from its creation to PodScheduled True; a pod bound at once is a warm
hit; and a restarted exporter counts no pod twice.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .control_plane import ControlPlane
from .exporters import exporter, within
from .objects import (
    bind,
    create_node,
    create_unscheduled_pod,
    report_unschedulable,
    start_running,
    unique_name,
)

pytestmark = pytest.mark.k8s
ROUTE = {"mode": "route-eni"}


def metric(base: str, name: str, **labels: str) -> float:
    """One sample's value (0 when absent)."""
    with urllib.request.urlopen(base + "/metrics") as reply:
        text = reply.read().decode()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def waits(base: str) -> tuple[float, float]:
    """(count, sum) of the route-eni slot-wait histogram."""
    return (metric(base, "eni_pool_slot_wait_seconds_count", **ROUTE),
            metric(base, "eni_pool_slot_wait_seconds_sum", **ROUTE))  # fmt: skip


def test_a_pod_kept_pending_for_a_slot_is_one_cold_start_with_its_wait(
    control_plane: ControlPlane, nec_crd: object, namespace: str, tmp_path: Path
) -> None:
    api = control_plane.api_client
    node = unique_name("node")
    create_node(api, node, eni_ip=2, cpu="4")
    with exporter(control_plane, tmp_path, "--provider", "tke-observe") as base:
        within(2.0, lambda: metric(base, "eni_pool_bound_slots", node=node) == 2, "node")
        create_unscheduled_pod(api, namespace, "cold")
        report_unschedulable(api, namespace, "cold")
        within(2.0, lambda: metric(base, "eni_pool_pods_without_slot_total", **ROUTE) == 1,
               "a pod without a slot")  # fmt: skip
        assert metric(base, "eni_pool_cold_starts_total", node=node, **ROUTE) == 0

        # TKE's agent binds a slot; 40 s after the pod's creation the scheduler places it.
        bind(api, namespace, "cold", node, scheduled_after=40)
        start_running(api, namespace, "cold", "10.1.0.7")
        within(2.0, lambda: metric(base, "eni_pool_cold_starts_total", node=node, **ROUTE) == 1,
               "the cold start")  # fmt: skip
        assert waits(base) == (1, 40.0)
        bucket = "eni_pool_slot_wait_seconds_bucket"
        assert metric(base, bucket, le="30.0", **ROUTE) == 0
        assert metric(base, bucket, le="60.0", **ROUTE) == 1
        assert metric(base, "eni_pool_pod_starts_total", node=node, **ROUTE) == 1
        assert metric(base, "eni_pool_in_use_slots", node=node, **ROUTE) == 1
        assert metric(base, "eni_pool_pods_without_slot_total", **ROUTE) == 1


def test_pods_scheduled_at_once_are_warm_hits(
    control_plane: ControlPlane, nec_crd: object, namespace: str, tmp_path: Path
) -> None:
    api = control_plane.api_client
    node = unique_name("node")
    create_node(api, node, eni_ip=6, cpu="4")
    with exporter(control_plane, tmp_path, "--provider", "tke-observe") as base:
        within(2.0, lambda: metric(base, "eni_pool_bound_slots", node=node) == 6, "node")
        for k in range(3):
            create_unscheduled_pod(api, namespace, f"warm{k}")
            bind(api, namespace, f"warm{k}", node)
            start_running(api, namespace, f"warm{k}", f"10.2.0.{k + 1}")
        within(2.0, lambda: metric(base, "eni_pool_pod_starts_total", node=node, **ROUTE) == 3,
               "three pod starts")  # fmt: skip
        assert metric(base, "eni_pool_cold_starts_total", node=node, **ROUTE) == 0
        assert waits(base) == (3, 0.0)
        assert metric(base, "eni_pool_slot_wait_seconds_bucket", le="0.0", **ROUTE) == 3
        assert metric(base, "eni_pool_pods_without_slot_total", **ROUTE) == 0


def test_a_restarted_exporter_counts_no_pod_twice(
    control_plane: ControlPlane, nec_crd: object, namespace: str, tmp_path: Path
) -> None:
    api = control_plane.api_client
    node = unique_name("node")
    create_node(api, node, eni_ip=4, cpu="4")
    counters = ("eni_pool_pod_starts_total", "eni_pool_cold_starts_total")

    def counts(base: str) -> tuple[float, ...]:
        on_node = tuple(metric(base, name, node=node, **ROUTE) for name in counters)
        return (*on_node, *waits(base), metric(base, "eni_pool_pods_without_slot_total", **ROUTE))

    with exporter(control_plane, tmp_path, "--provider", "tke-observe") as base:
        within(2.0, lambda: metric(base, "eni_pool_bound_slots", node=node) == 4, "node")
        create_unscheduled_pod(api, namespace, "cold")  # lands after a wait: a cold start
        report_unschedulable(api, namespace, "cold")
        bind(api, namespace, "cold", node, scheduled_after=12)
        start_running(api, namespace, "cold", "10.3.0.1")
        create_unscheduled_pod(api, namespace, "pending")  # still Pending at the restart
        report_unschedulable(api, namespace, "pending")
        within(2.0, lambda: counts(base) == (1, 1, 1, 12.0, 2), "the first exporter's counts")

    with exporter(control_plane, tmp_path, "--provider", "tke-observe") as base:
        # Ready: the first list is applied. The running pod was counted, the pending
        # one seen without a slot, by the exporter before: nothing counts again.
        assert counts(base) == (0, 0, 0, 0.0, 0)
        assert metric(base, "eni_pool_in_use_slots", node=node, **ROUTE) == 1
        bind(api, namespace, "pending", node, scheduled_after=30)
        start_running(api, namespace, "pending", "10.3.0.2")
        within(2.0, lambda: counts(base) == (1, 1, 1, 30.0, 0), "the pending pod landing")

    with exporter(control_plane, tmp_path, "--provider", "tke-observe") as base:
        assert counts(base) == (0, 0, 0, 0.0, 0)
        assert metric(base, "eni_pool_in_use_slots", node=node, **ROUTE) == 2
