"""PromQL for churn history, aggregated ``by (node)`` on the server.

Two sources:

- ``exporter``: our exporter's per-node counters. Pod starts (stops) in the step
  ending at t are ``sum by (node) (counter) - sum by (node) (counter offset step)``;
  ``> 0`` drops the steps without any, so a week of a quiet cluster is small.
- ``kube-state-metrics`` alone: pods of the mode whose start time falls in the step,
  joined to their node through ``kube_pod_info``, and per node the pods of the mode
  that hold a slot (Pending or Running), from which stops follow (starts minus the
  count's rise). A pod's mode comes from its extended-resource requests: route-eni
  pods request ``tke.cloud.tencent.com/eni-ip``, direct-eni pods
  ``tke.cloud.tencent.com/direct-eni`` (TKE's admission webhook adds them); pods that
  request neither (host network, other network modes) hold no slot.

Nothing here talks to Prometheus; :mod:`tuner.prometheus` does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import assert_never


class MetricsSource(enum.StrEnum):
    """Which metrics hold the churn history (``--source``)."""

    EXPORTER = "exporter"
    """eni-exporter's per-node pod start and stop counters."""
    KUBE_STATE_METRICS = "kube-state-metrics"
    """kube-state-metrics alone, for clusters without our exporter."""


@dataclass(frozen=True)
class ChurnQueries:
    starts: str
    """Pod starts per node in the step ending at each evaluation time."""
    stops: str | None
    """Pod stops per node in that step (None: derive from ``pods``)."""
    pods: str
    """Pods holding or waiting for a slot per node, at an instant."""


def exporter(step_s: int, mode: str = "route-eni") -> ChurnQueries:
    sel = f'{{mode="{mode}"}}'

    def per_step(counter: str) -> str:
        now = f"sum by (node) ({counter}{sel})"
        then = f"sum by (node) ({counter}{sel} offset {step_s}s)"
        return f"({now} - {then}) > 0"

    return ChurnQueries(
        starts=per_step("eni_pool_pod_starts_total"),
        stops=per_step("eni_pool_pod_stops_total"),
        pods=f"sum by (node) (eni_pool_in_use_slots{sel} + eni_pool_waiting_pods{sel})",
    )


KSM_RESOURCE = {
    "route-eni": "tke_cloud_tencent_com_eni_ip",
    "direct-eni": "tke_cloud_tencent_com_direct_eni",
}
"""The ``resource`` label kube-state-metrics gives ``tke.cloud.tencent.com/eni-ip`` and
``.../direct-eni`` in ``kube_pod_container_resource_requests`` (unit ``integer``): it
replaces every character outside ``[a-zA-Z0-9_]`` with ``_``."""
KSM_HOLDING_PHASES = "Pending|Running"
"""Pods in these phases hold their slot; Succeeded and Failed pods still listed do not."""


def ksm_pods_of_mode(mode: str) -> str:
    """``kube_pod_info`` of the scheduled pods that request ``mode``'s slot resource."""
    info = 'kube_pod_info{node!="", host_network="false"}'
    requests = f'kube_pod_container_resource_requests{{resource="{KSM_RESOURCE[mode]}"}} > 0'
    return f"({info} and on (namespace, pod) ({requests}))"


def kube_state_metrics(step_s: int, mode: str = "route-eni") -> ChurnQueries:
    pods = ksm_pods_of_mode(mode)
    started = (
        f"count by (node) (((time() - kube_pod_start_time) < {step_s}) "
        f"* on (namespace, pod) group_left (node) {pods})"
    )
    holding = (
        f"count by (node) ({pods} and on (namespace, pod) "
        f'(kube_pod_status_phase{{phase=~"{KSM_HOLDING_PHASES}"}} == 1))'
    )
    return ChurnQueries(starts=started, stops=None, pods=holding)


def churn_queries(source: MetricsSource, step_s: int, mode: str) -> ChurnQueries:
    """The queries for ``source`` at ``step_s`` resolution; ``mode`` picks the exporter's pool."""
    match source:
        case MetricsSource.EXPORTER:
            return exporter(step_s, mode)
        case MetricsSource.KUBE_STATE_METRICS:
            return kube_state_metrics(step_s, mode)
        case _:
            assert_never(source)
