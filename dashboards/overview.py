"""ENI pool / Overview: cluster totals, the nodes that waste or wait, the cloud API,
and whether pools keep their band (pods TKE left without a slot, subnets' free IPs)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from dashboards import band
from dashboards.panels import (
    CLUSTER,
    NODE_POOLS,
    POOLS,
    RATE,
    dashboard,
    graph,
    row,
    slot_wait_heatmap,
    stat_panel,
    table_panel,
    top_list,
)

UID = "eni-pool-overview"


def _sum(metric: str, selector: str = POOLS) -> str:
    return f"sum({metric}{{{selector}}})"


def _by_mode(metric: str, selector: str = POOLS) -> str:
    return f"sum by (mode) ({metric}{{{selector}}})"


def _rate(metric: str, selector: str = POOLS, by: str = "mode") -> str:
    return f"sum by ({by}) (rate({metric}{{{selector}}}[{RATE}]))"


COLD_RATIO = (
    f"sum(rate(eni_pool_cold_starts_total{{{POOLS}}}[{RATE}]))"
    f" / clamp_min(sum(rate(eni_pool_pod_starts_total{{{POOLS}}}[{RATE}])), 1e-9)"
)


def build() -> db.Dashboard:
    board = (
        dashboard(
            "ENI pool / Overview",
            UID,
            "Warm ENI/IP pools across the cluster: slots, waste, cold starts, cloud API.",
            since="now-6h",
            refresh="1m",
            all_nodes=True,
            top_n=True,
        )
        .with_row(row("Cluster"))
        .with_panel(
            stat_panel(
                "Bound slots",
                _sum("eni_pool_bound_slots"),
                "Slots (IPs or ENIs) bound to nodes: B summed over pools.",
            )
        )
        .with_panel(
            stat_panel(
                "In use", _sum("eni_pool_in_use_slots"), "Slots held by pods: P summed over pools."
            )
        )
        .with_panel(
            stat_panel(
                "Warm (idle)",
                _sum("eni_pool_warm_slots"),
                "Bound but idle slots (B - P): VPC addresses kept warm.",
            )
        )
        .with_panel(
            stat_panel(
                "Max attach",
                _sum("eni_pool_max_attach_slots"),
                "Most slots the nodes can bind (C summed over pools).",
            )
        )
        .with_panel(
            stat_panel(
                "Idle ratio",
                f"{_sum('eni_pool_warm_slots')} / clamp_min({_sum('eni_pool_bound_slots')}, 1)",
                "Share of bound slots that sit idle.",
                unit="percentunit",
            )
        )
        .with_panel(
            stat_panel(
                "Pods waiting",
                _sum("eni_pool_waiting_pods"),
                "Pods waiting for a slot now (W). Not observed in tke-observe mode.",
            )
        )
        .with_panel(
            stat_panel(
                "Cold-start ratio",
                COLD_RATIO,
                "Share of pod starts that found no warm slot.",
                "percentunit",
            )
        )
        .with_panel(
            stat_panel(
                "Nodes",
                f"count(count by (node) (eni_pool_bound_slots{{{POOLS}}}))",
                "Nodes with a pool in the chosen modes.",
            )
        )
        .with_row(row("Slots over time"))
        .with_panel(
            graph(
                "Slots by mode",
                "Bound, in-use and warm slots and the max-attach capacity, summed per mode.",
                [
                    (_by_mode("eni_pool_bound_slots"), "bound {{mode}}"),
                    (_by_mode("eni_pool_in_use_slots"), "in use {{mode}}"),
                    (_by_mode("eni_pool_warm_slots"), "warm {{mode}}"),
                    (_by_mode("eni_pool_max_attach_slots"), "max attach {{mode}}"),
                ],
            )
        )
        .with_panel(
            graph(
                "Idle ratio",
                "Warm / bound per mode: how much of what is bound sits idle.",
                [
                    (
                        f"{_by_mode('eni_pool_warm_slots')}"
                        f" / clamp_min({_by_mode('eni_pool_bound_slots')}, 1)",
                        "{{mode}}",
                    )
                ],
                unit="percentunit",
            )
        )
        .with_row(row("Nodes"))
        .with_panel(
            table_panel(
                "Pools by node",
                "Current state of each node's pool. Min/max warm are the targets in force.",
                [
                    ("Bound", f"eni_pool_bound_slots{{{NODE_POOLS}}}"),
                    ("In use", f"eni_pool_in_use_slots{{{NODE_POOLS}}}"),
                    ("Warm", f"eni_pool_warm_slots{{{NODE_POOLS}}}"),
                    ("Max attach", f"eni_pool_max_attach_slots{{{NODE_POOLS}}}"),
                    ("Min warm", f"eni_pool_min_warm_target{{{NODE_POOLS}}}"),
                    ("Max warm", f"eni_pool_max_warm_target{{{NODE_POOLS}}}"),
                    ("Waiting", f"eni_pool_waiting_pods{{{NODE_POOLS}}}"),
                    (
                        "Idle ratio",
                        f"eni_pool_warm_slots{{{NODE_POOLS}}}"
                        f" / clamp_min(eni_pool_bound_slots{{{NODE_POOLS}}}, 1)",
                    ),
                ],
            )
        )
        .with_panel(
            top_list(
                "Top $topn wasteful nodes (average idle slots)",
                "Nodes keeping the most idle slots on average over the time range: "
                "candidates for a lower max warm target (eni-tuner recommend).",
                f"topk($topn, avg_over_time(eni_pool_warm_slots{{{NODE_POOLS}}}[$__range]))",
            )
        )
        .with_panel(
            top_list(
                "Top $topn cold-starting nodes",
                "Nodes whose pods most often found no warm slot over the time range: "
                "candidates for a higher min warm target.",
                f"topk($topn, increase(eni_pool_cold_starts_total{{{NODE_POOLS}}}[$__range]))",
            )
        )
        .with_panel(
            graph(
                "Pod starts and cold starts",
                "Pod starts per second and those that had to wait for a bind.",
                [
                    (_rate("eni_pool_pod_starts_total", NODE_POOLS), "starts {{mode}}"),
                    (_rate("eni_pool_cold_starts_total", NODE_POOLS), "cold starts {{mode}}"),
                ],
                unit="ops",
            )
        )
        .with_panel(
            graph(
                "Cold-start ratio",
                "Cold starts / pod starts per mode.",
                [
                    (
                        f"{_rate('eni_pool_cold_starts_total', NODE_POOLS)}"
                        f" / clamp_min({_rate('eni_pool_pod_starts_total', NODE_POOLS)}, 1e-9)",
                        "{{mode}}",
                    )
                ],
                unit="percentunit",
            )
        )
        .with_panel(slot_wait_heatmap(POOLS))
        .with_panel(
            graph(
                "Slot wait quantiles",
                "Pod start to slot; warm hits count as 0.",
                [
                    (
                        f"histogram_quantile({q}, sum by (le, mode) "
                        f"(rate(eni_pool_slot_wait_seconds_bucket{{{POOLS}}}[{RATE}])))",
                        f"p{round(q * 100)} {{{{mode}}}}",
                    )
                    for q in (0.5, 0.9, 0.99)
                ],
                unit="s",
            )
        )
        .with_row(row("Cloud API"))
        .with_panel(
            graph(
                "Binds by result",
                "Slot binds per second: success, error, throttled (refused by the rate limit).",
                [
                    (
                        _rate("eni_pool_bind_operations_total", NODE_POOLS, "mode, result"),
                        "{{result}} {{mode}}",
                    )
                ],
                unit="ops",
                stacked=True,
            )
        )
        .with_panel(
            graph(
                "Releases by reason",
                "Slot releases per second: above_max (release round), clamp (max-attach lowered).",
                [
                    (
                        _rate("eni_pool_release_operations_total", NODE_POOLS, "mode, reason"),
                        "{{reason}} {{mode}}",
                    )
                ],
                unit="ops",
                stacked=True,
            )
        )
        .with_panel(
            graph(
                "Throttling",
                "Binds refused as throttled, and cloud calls answered RequestLimitExceeded.",
                [
                    (
                        _rate(
                            "eni_pool_bind_operations_total", f'{NODE_POOLS}, result="throttled"'
                        ),
                        "throttled binds {{mode}}",
                    ),
                    (
                        _rate(
                            "eni_pool_cloud_api_errors_total",
                            f'{CLUSTER}, code="RequestLimitExceeded"',
                            "operation",
                        ),
                        "RequestLimitExceeded {{operation}}",
                    ),
                ],
                unit="ops",
            )
        )
        .with_panel(
            graph(
                "Cloud API errors",
                "Failed cloud calls per second by operation and error code.",
                [
                    (
                        _rate("eni_pool_cloud_api_errors_total", CLUSTER, "operation, code"),
                        "{{operation}} {{code}}",
                    )
                ],
                unit="ops",
            )
        )
        .with_panel(
            graph(
                "Cloud API latency",
                "p50 and p99 of cloud operations, submit to finish.",
                [
                    (
                        f"histogram_quantile({q}, sum by (le, operation) "
                        f"(rate(eni_pool_cloud_api_duration_seconds_bucket{{{CLUSTER}}}[{RATE}])))",
                        f"p{round(q * 100)} {{{{operation}}}}",
                    )
                    for q in (0.5, 0.99)
                ],
                unit="s",
            )
        )
        .with_panel(
            graph(
                "Binds in flight and waiting pods",
                "K: binds requested and not done; W: pods waiting for a slot.",
                [
                    (_by_mode("eni_pool_binds_in_flight", NODE_POOLS), "in flight {{mode}}"),
                    (_by_mode("eni_pool_waiting_pods", NODE_POOLS), "waiting {{mode}}"),
                ],
            )
        )
        .with_row(row("Configuration and exporter"))
        .with_panel(
            table_panel(
                "Config refusals since exporter start",
                "NEC annotation changes the engine refused (previous targets stay in force); "
                "each also left a Kubernetes Event on the NEC. Fix the annotations.",
                [
                    (
                        "Refusals",
                        "sum by (node, mode, reason) "
                        f"(eni_pool_config_rejections_total{{{NODE_POOLS}}})",
                    )
                ],
                width=12,
            )
        )
        .with_panel(
            graph(
                "Exporter",
                "Scrape health of every eni-exporter target and the engine step's p99.",
                [
                    (f'up{{job="eni-exporter", {CLUSTER}}}', "up {{instance}}"),
                    (
                        "histogram_quantile(0.99, sum by (le, instance) "
                        f"(rate(eni_pool_reconcile_duration_seconds_bucket{{{CLUSTER}}}[{RATE}])))",
                        "step p99 {{instance}} (s)",
                    ),
                ],
            )
        )
        .with_row(row("Band, TKE and subnets"))
    )
    for panel in band.overview_panels():
        board = board.with_panel(panel)
    return board
