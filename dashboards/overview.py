"""ENI pool / Overview: the chosen nodes' totals, the nodes that waste or wait (each
links to its own dashboard), the cloud API, and whether pools keep their band (pods
TKE left without a slot, subnets' free IPs).

Per-node rates and ratios come from the recording rules (``node_mode*:...``,
dashboards/rules/eni-pool.rules.yaml), summed over the chosen nodes; the cluster
totals' records (``cluster_mode:...:sum``) would ignore the node selector, so the
totals here sum the per-node series instead.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from dashboards import band
from dashboards.panels import (
    CALLS_PER_S,
    CLUSTER,
    CLUSTER_WIDE,
    MODE,
    NODE_POOLS,
    NODES,
    PERCENT,
    PODS,
    PODS_PER_S,
    SECONDS,
    SLOT_WAIT_RATES,
    SLOTS,
    SLOTS_PER_S,
    dashboard,
    graph,
    row,
    slot_wait_heatmap,
    stat_panel,
    table_panel,
    top_list,
)

UID = "eni-pool-overview"
S = NODE_POOLS
STARTS = "node_mode:eni_pool_pod_starts:rate5m"
COLD = "node_mode:eni_pool_cold_starts:rate5m"
BINDS = "node_mode_result:eni_pool_bind_operations:rate5m"
RELEASES = "node_mode_reason:eni_pool_release_operations:rate5m"
API_ERRORS = "cluster_operation_code:eni_pool_cloud_api_errors:rate5m"
API_LATENCY = "cluster_operation_le:eni_pool_cloud_api_duration_seconds_bucket:rate5m"


def _sum(metric: str, by: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} ({metric}{{{S}}})"


def _ratio(numerator: str, denominator: str, by: str = "", floor: str = "1") -> str:
    return f"{_sum(numerator, by)} / clamp_min({_sum(denominator, by)}, {floor})"


def build() -> db.Dashboard:
    board = (
        dashboard(
            "ENI pool / Overview",
            UID,
            "Warm ENI/IP pools of the chosen nodes: slots, waste, cold starts, cloud API.",
            since="now-6h",
            refresh="1m",
            all_nodes=True,
            top_n=True,
        )
        .with_row(row("Chosen nodes"))
        .with_panel(
            stat_panel(
                "Bound slots",
                _sum("eni_pool_bound_slots"),
                "Slots (IPs or ENIs) bound to the chosen nodes: B summed over pools.",
                SLOTS,
            )
        )
        .with_panel(
            stat_panel(
                "In use", _sum("eni_pool_in_use_slots"), "Slots held by pods: P summed.", SLOTS
            )
        )
        .with_panel(
            stat_panel(
                "Warm (idle)",
                _sum("eni_pool_warm_slots"),
                "Bound but idle slots (B - P): VPC addresses kept warm.",
                SLOTS,
            )
        )
        .with_panel(
            stat_panel(
                "Max attach",
                _sum("eni_pool_max_attach_slots"),
                "Most slots the chosen nodes can bind (C summed over pools).",
                SLOTS,
            )
        )
        .with_panel(
            stat_panel(
                "Idle ratio",
                _ratio("eni_pool_warm_slots", "eni_pool_bound_slots"),
                "Share of bound slots that sit idle.",
                PERCENT,
            )
        )
        .with_panel(
            stat_panel(
                "Pods waiting",
                _sum("eni_pool_waiting_pods"),
                "Pods waiting for a slot now (W). Not observed in tke-observe mode.",
                PODS,
            )
        )
        .with_panel(
            stat_panel(
                "Cold-start ratio",
                _ratio(COLD, STARTS, floor="1e-9"),
                "Share of pod starts that found no warm slot (last 5 minutes).",
                PERCENT,
            )
        )
        .with_panel(
            stat_panel(
                "Nodes",
                f"count(count by (node) (eni_pool_bound_slots{{{S}}}))",
                "Chosen nodes with a pool in the chosen modes.",
                NODES,
            )
        )
        .with_row(row("Slots over time"))
        .with_panel(
            graph(
                "Slots by mode",
                "Bound, in-use and warm slots and the max-attach capacity, summed per mode.",
                [
                    (_sum("eni_pool_bound_slots", "mode"), "bound {{mode}}"),
                    (_sum("eni_pool_in_use_slots", "mode"), "in use {{mode}}"),
                    (_sum("eni_pool_warm_slots", "mode"), "warm {{mode}}"),
                    (_sum("eni_pool_max_attach_slots", "mode"), "max attach {{mode}}"),
                ],
                unit=SLOTS,
            )
        )
        .with_panel(
            graph(
                "Idle ratio",
                "Warm / bound per mode: how much of what is bound sits idle.",
                [(_ratio("eni_pool_warm_slots", "eni_pool_bound_slots", "mode"), "{{mode}}")],
                unit=PERCENT,
            )
        )
        .with_row(row("Nodes"))
        .with_panel(
            table_panel(
                "Pools by node",
                "Current state of each node's pool; the node opens its dashboard. Min/max "
                "warm are the targets in force.",
                [
                    ("Bound", f"eni_pool_bound_slots{{{S}}}", SLOTS),
                    ("In use", f"eni_pool_in_use_slots{{{S}}}", SLOTS),
                    ("Warm", f"eni_pool_warm_slots{{{S}}}", SLOTS),
                    ("Max attach", f"eni_pool_max_attach_slots{{{S}}}", SLOTS),
                    ("Min warm", f"eni_pool_min_warm_target{{{S}}}", SLOTS),
                    ("Max warm", f"eni_pool_max_warm_target{{{S}}}", SLOTS),
                    ("Waiting", f"eni_pool_waiting_pods{{{S}}}", PODS),
                    ("Idle ratio", f"node_mode:eni_pool_idle_ratio:ratio{{{S}}}", PERCENT),
                ],
            )
        )
        .with_panel(
            top_list(
                "Top $topn wasteful nodes (average idle slots)",
                "Nodes keeping the most idle slots on average over the time range: "
                "candidates for a lower max warm target (eni-tuner recommend).",
                f"topk($topn, avg_over_time(eni_pool_warm_slots{{{S}}}[$__range]))",
                SLOTS,
            )
        )
        .with_panel(
            top_list(
                "Top $topn cold-starting nodes",
                "Nodes whose pods most often found no warm slot over the time range: "
                "candidates for a higher min warm target.",
                f"topk($topn, increase(eni_pool_cold_starts_total{{{S}}}[$__range]))",
                PODS,
            )
        )
        .with_panel(
            graph(
                "Pod starts and cold starts",
                "Pod starts per second and those that had to wait for a bind.",
                [
                    (_sum(STARTS, "mode"), "starts {{mode}}"),
                    (_sum(COLD, "mode"), "cold starts {{mode}}"),
                ],
                unit=PODS_PER_S,
            )
        )
        .with_panel(
            graph(
                "Cold-start ratio",
                "Cold starts / pod starts per mode (5-minute rates).",
                [(_ratio(COLD, STARTS, "mode", floor="1e-9"), "{{mode}}")],
                unit=PERCENT,
            )
        )
        .with_panel(slot_wait_heatmap())
        .with_panel(
            graph(
                "Slot wait quantiles",
                f"Pod start to slot; warm hits count as 0. {CLUSTER_WIDE}",
                [
                    (
                        f"histogram_quantile({q}, sum by (cluster, mode, le) "
                        f"({SLOT_WAIT_RATES}{{{CLUSTER}, {MODE}}}))",
                        f"p{round(q * 100)} {{{{mode}}}} {{{{cluster}}}}",
                    )
                    for q in (0.5, 0.9)
                ]
                + [
                    (
                        f"cluster_mode:eni_pool_slot_wait_seconds:p99_5m{{{CLUSTER}, {MODE}}}",
                        "p99 {{mode}} {{cluster}}",
                    )
                ],
                unit=SECONDS,
            )
        )
        .with_row(row("Cloud API"))
        .with_panel(
            graph(
                "Binds by result",
                "Slot binds per second: success, error, throttled (refused by the rate limit).",
                [(_sum(BINDS, "mode, result"), "{{result}} {{mode}}")],
                unit=SLOTS_PER_S,
                stacked=True,
            )
        )
        .with_panel(
            graph(
                "Releases by reason",
                "Slot releases per second: above_max (release round), clamp (max-attach lowered).",
                [(_sum(RELEASES, "mode, reason"), "{{reason}} {{mode}}")],
                unit=SLOTS_PER_S,
                stacked=True,
            )
        )
        .with_panel(
            graph(
                "Throttling",
                "Binds of the chosen nodes refused as throttled, and cloud calls answered "
                "RequestLimitExceeded (cluster-wide: cloud calls have no node label).",
                [
                    (
                        f'sum by (mode) ({BINDS}{{{S}, result="throttled"}})',
                        "throttled binds {{mode}}",
                    ),
                    (
                        f"sum by (operation) ({API_ERRORS}"
                        f'{{{CLUSTER}, code="RequestLimitExceeded"}})',
                        "RequestLimitExceeded {{operation}}",
                    ),
                ],
                unit=SLOTS_PER_S,
                units={"B": CALLS_PER_S},
            )
        )
        .with_panel(
            graph(
                "Cloud API errors",
                f"Failed cloud calls per second by operation and error code. {CLUSTER_WIDE}",
                [
                    (
                        f"sum by (operation, code) ({API_ERRORS}{{{CLUSTER}}})",
                        "{{operation}} {{code}}",
                    )
                ],
                unit=CALLS_PER_S,
            )
        )
        .with_panel(
            graph(
                "Cloud API latency",
                f"p50 and p99 of cloud operations, submit to finish. {CLUSTER_WIDE}",
                [
                    (
                        f"histogram_quantile({q}, sum by (le, operation) "
                        f"({API_LATENCY}{{{CLUSTER}}}))",
                        f"p{round(q * 100)} {{{{operation}}}}",
                    )
                    for q in (0.5, 0.99)
                ],
                unit=SECONDS,
            )
        )
        .with_panel(
            graph(
                "Binds in flight and waiting pods",
                "K: binds requested and not done; W: pods waiting for a slot.",
                [
                    (_sum("eni_pool_binds_in_flight", "mode"), "in flight {{mode}}"),
                    (_sum("eni_pool_waiting_pods", "mode"), "waiting {{mode}}"),
                ],
                unit=SLOTS,
                units={"B": PODS},
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
                        f"sum by (node, mode, reason) (eni_pool_config_rejections_total{{{S}}})",
                        "suffix:refusals",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            graph(
                "Exporter targets up",
                f"eni-exporter targets answering scrapes, of all. {CLUSTER_WIDE}",
                [
                    (f'sum(up{{job="eni-exporter", {CLUSTER}}})', "up"),
                    (f'count(up{{job="eni-exporter", {CLUSTER}}})', "targets"),
                ],
                unit="suffix:targets",
                width=8,
            )
        )
        .with_panel(
            graph(
                "Engine step p99",
                f"99th percentile of one engine step, per exporter. {CLUSTER_WIDE}",
                [
                    (
                        "histogram_quantile(0.99, sum by (le, instance) "
                        "(rate(eni_pool_reconcile_duration_seconds_bucket"
                        f"{{{CLUSTER}}}[$__rate_interval])))",
                        "{{instance}}",
                    )
                ],
                unit=SECONDS,
                width=8,
            )
        )
        .with_row(row("Band, TKE and subnets"))
    )
    for panel in band.overview_panels():
        board = board.with_panel(panel)
    return board
