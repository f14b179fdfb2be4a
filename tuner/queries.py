"""PromQL for churn history, aggregated ``by (node)`` on the server.

Two sources:

- ``exporter``: our exporter's per-node counters. Pod starts (stops) in the step
  ending at t are ``max by (node) (counter) - max by (node) (counter offset step)``,
  or the first term itself where the difference is below 0 (the exporter restarted and
  counts from 0; the level is read at those few instants only); a node new in the step
  is left out, as its first value may hold what came before the scrapes. ``max``, not
  ``sum``: one exporter scraped by two jobs (a ServiceMonitor and annotation scraping)
  gives a node two copies of each counter, scraped at different instants; their max is
  the counter as the latest scrape saw it, so the differences add up to the true
  count, where a sum (or a max of per-series differences) counts a pod twice. ``!= 0``
  drops the steps without any, so a week of a quiet cluster is small. The burst and
  pair counters are read the same way and say where in its step each start goes
  (:mod:`tuner.within_step`). A node's first step with a burst value starts its
  counted steps: the first start an exporter counts always begins a burst, so a later
  step with starts and no burst value had none begin in it, and an earlier one was not
  counted.
- ``kube-state-metrics`` alone: pods of the mode whose start time falls in the step,
  joined to their node through ``kube_pod_info``, and per node the pods of the mode
  that hold a slot (Pending or Running; 0 on a node that runs other pods only), from
  which stops follow (starts minus the count's rise). A pod's mode comes from its
  extended-resource requests: route-eni pods request ``tke.cloud.tencent.com/eni-ip``,
  direct-eni pods ``tke.cloud.tencent.com/direct-eni`` (TKE's admission webhook adds
  them); pods that request neither (host network, other network modes) hold no slot.

Nothing here talks to Prometheus; :mod:`tuner.prometheus_reads` does.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    bursts: str | None = None
    """Pod starts that began a burst per node in the step (None: not counted; a step's
    starts are then one burst, :mod:`tuner.within_step`)."""
    pairs: str | None = None
    """Pairs of pod starts within one burst per node in the step."""
    levels: Mapping[str, str] = field(default_factory=dict)
    """Per series read as a counter's difference (``starts``, ``stops``, ``bursts``,
    ``pairs``), the counter's level per node of the nodes matching the regex
    ``$nodes``. A difference below 0 is a counter that went back (the exporter
    restarted and counts from 0, or a replica that had counted less took over): that
    step's count is the level itself, read at the few instants where one went back,
    for the nodes that went back there (:func:`tuner.prometheus_reads.went_back`)."""


def _exporter_pods(selector: str) -> str:
    """Pods per node holding a slot or waiting for one, from the exporter's gauges."""
    return f"max by (node) (eni_pool_in_use_slots{selector} + eni_pool_waiting_pods{selector})"


def exporter(step_s: int, mode: str = "route-eni") -> ChurnQueries:
    sel = f'{{mode="{mode}"}}'

    counters = {"starts": "eni_pool_pod_starts_total", "stops": "eni_pool_pod_stops_total",
                "bursts": "eni_pool_pod_start_bursts_total",
                "pairs": "eni_pool_pod_start_pairs_total"}  # fmt: skip
    # the level of the few nodes that went back: a query of every node's, at each
    # instant where one went back, cost 5x as much (1,000 nodes)
    levels = {name: f'max by (node) ({counter}{{mode="{mode}",node=~"$nodes"}})'
              for name, counter in counters.items()}  # fmt: skip

    def difference(name: str) -> str:
        # != 0 keeps the steps where the counter went back; `(now - then) >= 0 or now <
        # then` counted them on the server at twice the cost of the difference alone
        now = f"max by (node) ({counters[name]}{sel})"
        then = f"max by (node) ({counters[name]}{sel} offset {step_s}s)"
        return f"({now} - {then}) != 0"

    return ChurnQueries(
        starts=difference("starts"),
        stops=difference("stops"),
        pods=_exporter_pods(sel),
        bursts=difference("bursts"),
        pairs=difference("pairs"),
        levels=levels,
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
    # a node without such pods has no count: 0 where it runs any pod (a DaemonSet's),
    # or the stops of its last pods would wait for its next pod (or never come)
    holding = (
        f"(count by (node) ({pods} and on (namespace, pod) "
        f'(kube_pod_status_phase{{phase=~"{KSM_HOLDING_PHASES}"}} == 1)) '
        f'or 0 * count by (node) (kube_pod_info{{node!=""}}))'
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


@dataclass(frozen=True)
class StateQueries:
    """Instant queries at the window's end about each node (aggregated ``by (node)``,
    except the latency): how long it has been there, and what its exporter says."""

    first_seen: str
    """Timestamp of the node's first sample in the window."""
    last_seen: str
    """Timestamp of its last sample in the window."""
    min_warm: str | None = None
    """The min warm target in force at the last sample (exporter only)."""
    max_warm: str | None = None
    """The max warm target in force."""
    max_slots: str | None = None
    """Max-attach C."""
    bind_latency: str | None = None
    """Median bind latency over the window, seconds (no node label)."""
    speeds: tuple[str, str] | None = None
    """The fastest and the slowest simulated cluster's simulated seconds per second of
    the clock (no node label; no answer from a real one)."""
    per_pool: bool = False
    """The first/last-sample series are the pool's own (the exporter's, by mode): a node
    seen there without churn is a quiet node of the pool. (kube-state-metrics' are every
    node of the cluster, of any network mode.)"""
    resolution: int = 0
    """Seconds between the first/last-sample subqueries' evaluations."""
    arrived_pods: str | None = None
    """Pods per node at each step of the nodes matching the regex ``$nodes`` (exporter
    only): what a node whose series begin inside the window already runs at its first
    step, which no counted step holds (a series' first step is left out)."""


SEEN_POINTS = 250
"""Evaluations of the first/last-sample subqueries over the window (their resolution is
the window / this, at least the step): a few seconds on the server for 1,000 nodes x 7
days, and a first or last sample is found at most one resolution off, inwards (a
shorter history, never a longer one). A node still present at the window's end has its
last sample exactly."""


def seen_resolution(seconds: int, step_s: int) -> int:
    """Seconds between the first/last-sample subqueries' evaluations."""
    return max(step_s, -(-seconds // SEEN_POINTS))


def _seen(selector: str, seconds: int, step_s: int) -> tuple[str, str]:
    resolution = seen_resolution(seconds, step_s)
    stamps = f"timestamp({selector})[{seconds}s:{resolution}s]"
    return (f"min by (node) (min_over_time({stamps}))",
            f"max by (node) (timestamp({selector}) or max_over_time({stamps}))")  # fmt: skip


def state_queries(source: MetricsSource, seconds: int, step_s: int, mode: str) -> StateQueries:
    """The queries for ``source`` over a window of ``seconds``."""
    match source:
        case MetricsSource.EXPORTER:
            sel = f'{{mode="{mode}"}}'
            first, last = _seen(f"eni_pool_min_warm_target{sel}", seconds, step_s)

            def latest(gauge: str) -> str:
                return f"max by (node) (last_over_time({gauge}{sel}[{seconds}s]))"

            buckets = "eni_pool_cloud_api_duration_seconds_bucket"
            speed = f"last_over_time(eni_pool_simulation_speed[{seconds}s])"
            on = f'{{mode="{mode}",node=~"$nodes"}}'
            return StateQueries(
                first, last,
                latest("eni_pool_min_warm_target"), latest("eni_pool_max_warm_target"),
                latest("eni_pool_max_attach_slots"),
                # the histogram has no mode label: its binds are IP assignments mostly;
                # a direct-eni bind is an ENI attach, left at its default
                f'histogram_quantile(0.5, sum by (le) (increase({buckets}{{operation="bind"}}'
                f"[{seconds}s])))" if mode == "route-eni" else None,
                speeds=(f"max({speed})", f"min({speed})"),
                per_pool=True,
                resolution=seen_resolution(seconds, step_s),
                arrived_pods=_exporter_pods(on),
            )  # fmt: skip
        case MetricsSource.KUBE_STATE_METRICS:
            first, last = _seen("kube_node_info", seconds, step_s)
            return StateQueries(first, last)
        case _:
            assert_never(source)
