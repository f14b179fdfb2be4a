"""PromQL for churn history, aggregated ``by (node)`` on the server.

Two sources:

- ``exporter``: our exporter's per-node counters. Pod starts (stops) in the step
  ending at t are ``sum by (node) (counter) - sum by (node) (counter offset step)``;
  ``> 0`` drops the steps without any, so a week of a quiet cluster is small.
- ``kube-state-metrics`` alone: pods whose start time falls in the step, joined to
  their node through ``kube_pod_info``, and the pod count per node, from which stops
  follow (starts minus the count's rise).

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


def kube_state_metrics(step_s: int) -> ChurnQueries:
    info = 'kube_pod_info{node!="", host_network="false"}'
    started = (
        f"count by (node) (((time() - kube_pod_start_time) < {step_s}) "
        f"* on (namespace, pod) group_left (node) {info})"
    )
    return ChurnQueries(starts=started, stops=None, pods=f"count by (node) ({info})")


def churn_queries(source: MetricsSource, step_s: int, mode: str) -> ChurnQueries:
    """The queries for ``source`` at ``step_s`` resolution; ``mode`` picks the exporter's pool."""
    match source:
        case MetricsSource.EXPORTER:
            return exporter(step_s, mode)
        case MetricsSource.KUBE_STATE_METRICS:
            return kube_state_metrics(step_s)
        case _:
            assert_never(source)
