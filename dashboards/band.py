"""Panels on whether the pools are kept as their targets say: time outside the warm
band, TKE's agent against the shadow engine and the pods TKE left without a slot
(tke-observe), and the subnets' free IPs. Shared by the Overview and Node dashboards.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import timeseries

from dashboards.panels import (
    CLUSTER,
    CLUSTER_WIDE,
    IPS,
    MODE,
    NODE_POOLS,
    NODES,
    PERCENT,
    PODS_PER_S,
    SLOTS,
    graph,
)

OUT_OF_BAND = "node_mode_side:eni_pool_out_of_band_seconds:rate5m"
BAND = (
    "The band is [min(C, P + min warm), P + max warm]. Only the time beyond what the rules "
    "allow counts: 60 s below (binds), the release rounds the excess needs plus one above."
)


def overview_panels() -> list[timeseries.Panel]:
    return [
        graph(
            "Nodes outside the band",
            f"Chosen pools whose bound slots stayed outside their band in the last 5 minutes. "
            f"{BAND}",
            [
                (  # ceil(clamp_max(x, 1)): 1 for a node outside in the window, else 0
                    f"sum by (mode, side) (ceil(clamp_max({OUT_OF_BAND}{{{NODE_POOLS}}}, 1)))",
                    "{{side}} {{mode}}",
                )
            ],
            unit=NODES,
            width=8,
        ),
        graph(
            "Pods without a slot (tke-observe)",
            "Pods TKE left unscheduled for want of a free slot on any node (PodScheduled "
            "False: Insufficient tke.cloud.tencent.com/eni-ip or direct-eni), per second. "
            f"{CLUSTER_WIDE}",
            [
                (
                    "sum by (mode) (cluster_mode:eni_pool_pods_without_slot:rate5m"
                    f"{{{CLUSTER}, {MODE}}})",
                    "{{mode}}",
                )
            ],
            unit=PODS_PER_S,
            width=8,
        ),
        graph(
            "Subnet free IPs",
            "Free IPs per subnet as the cloud provider reports them (not in tke-observe). "
            "EniPoolSubnetRunningDry fires below 32 or when the last hour's trend reaches 0 "
            f"within 4 hours. {CLUSTER_WIDE}",
            [(f"max by (subnet) (eni_pool_subnet_free_ips{{{CLUSTER}}})", "{{subnet}}")],
            unit=IPS,
            width=8,
        ),
    ]


def node_panels() -> list[timeseries.Panel]:
    return [
        graph(
            "Time outside the band",
            f"Share of time this node's bound slots spent below or above their band. {BAND}",
            [
                (
                    f"sum by (mode, side) ({OUT_OF_BAND}{{{NODE_POOLS}}})",
                    "{{side}} {{mode}}",
                )
            ],
            unit=PERCENT,
        ),
        graph(
            "TKE's agent and the shadow engine (tke-observe)",
            "Bound slots TKE keeps and those this engine, fed the same pods and annotations "
            "and started from TKE's count, would keep; real cold starts (pods TKE kept "
            "Pending for want of a slot) against the shadow's, per second.",
            [
                (f"eni_pool_bound_slots{{{NODE_POOLS}}}", "bound (TKE) {{mode}}"),
                (f"eni_pool_shadow_bound_slots{{{NODE_POOLS}}}", "bound (shadow) {{mode}}"),
                (
                    f"sum by (mode) (node_mode:eni_pool_cold_starts:rate5m{{{NODE_POOLS}}})",
                    "cold starts/s (TKE) {{mode}}",
                ),
                (
                    f"sum by (mode) (node_mode:eni_pool_shadow_cold_starts:rate5m{{{NODE_POOLS}}})",
                    "cold starts/s (shadow) {{mode}}",
                ),
            ],
            unit=SLOTS,
            units={"C": PODS_PER_S, "D": PODS_PER_S},
        ),
    ]
