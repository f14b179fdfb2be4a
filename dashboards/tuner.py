"""ENI pool / Tuner: the warm targets over time, the changes applied and their effect.
Every time series panel carries the annotation of target changes
(:class:`dashboards.links.TargetChanges`); per-node series and rows link to the node's
dashboard."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from dashboards.links import TARGET_CHANGES
from dashboards.panels import (
    CHANGES,
    NODE_POOLS,
    NODES,
    PERCENT,
    PODS,
    RATE,
    SLOTS,
    dashboard,
    graph,
    row,
    stat_panel,
    table_panel,
)

UID = "eni-pool-tuner"
S = NODE_POOLS
TARGETS = ("eni_pool_min_warm_target", "eni_pool_max_warm_target")


def _changes(window: str, by: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    return " + ".join(f"sum{grouping} (changes({m}{{{S}}}[{window}]))" for m in TARGETS)


def build() -> db.Dashboard:
    return (
        dashboard(
            "ENI pool / Tuner",
            UID,
            "Per-node min/max warm targets (NEC annotations written by eni-tuner apply or by "
            "hand), when they changed, and the idle slots and cold starts that followed.",
            since="now-7d",
            refresh="5m",
            all_nodes=True,
        )
        .with_row(row("Changes"))
        .with_panel(
            stat_panel(
                "Target changes in range",
                _changes("$__range"),
                "Changes of min or max warm targets seen over the time range, all chosen nodes.",
                CHANGES,
            )
        )
        .with_panel(
            stat_panel(
                "Nodes changed in range",
                f"count(({_changes('$__range', 'node, mode')}) > 0) or vector(0)",
                "Pools whose min or max warm target changed over the time range.",
                NODES,
            )
        )
        .with_panel(
            stat_panel(
                "Mean min warm",
                f"avg(eni_pool_min_warm_target{{{S}}})",
                "Average min warm target over the chosen pools.",
                SLOTS,
            )
        )
        .with_panel(
            stat_panel(
                "Mean max warm",
                f"avg(eni_pool_max_warm_target{{{S}}})",
                "Average max warm target over the chosen pools.",
                SLOTS,
            )
        )
        .with_panel(
            graph(
                "Target changes applied",
                "Changes of the min and max warm targets in each trailing rate window.",
                [
                    (
                        f"sum by (mode) (changes(eni_pool_min_warm_target{{{S}}}[{RATE}]))",
                        "min warm {{mode}}",
                    ),
                    (
                        f"sum by (mode) (changes(eni_pool_max_warm_target{{{S}}}[{RATE}]))",
                        "max warm {{mode}}",
                    ),
                ],
                unit=CHANGES,
                width=16,
            )
        )
        .with_panel(
            table_panel(
                "Changes by source (eni-exporter run)",
                "Target changes the exporter applied from NEC updates over the time range: "
                "source tuner (eni-tuner apply or --rollback), other (by hand).",
                [
                    (
                        "Changes",
                        f"sum by (source) (increase({TARGET_CHANGES}{{{S}}}[$__range]))",
                        CHANGES,
                    )
                ],
                width=8,
            )
        )
        .with_row(row("Targets over time"))
        .with_panel(
            graph(
                "Min warm target by node",
                "eni_pool_min_warm_target per pool; a series opens its node's dashboard.",
                [(f"eni_pool_min_warm_target{{{S}}}", "{{node}} {{mode}}")],
                unit=SLOTS,
                drill_down=True,
            )
        )
        .with_panel(
            graph(
                "Max warm target by node",
                "eni_pool_max_warm_target per pool; a series opens its node's dashboard.",
                [(f"eni_pool_max_warm_target{{{S}}}", "{{node}} {{mode}}")],
                unit=SLOTS,
                drill_down=True,
            )
        )
        .with_row(row("Effect"))
        .with_panel(
            graph(
                "Warm slots (cost)",
                "Idle slots summed per mode: what the targets cost in VPC addresses.",
                [(f"sum by (mode) (eni_pool_warm_slots{{{S}}})", "warm {{mode}}")],
                unit=SLOTS,
            )
        )
        .with_panel(
            graph(
                "Cold-start ratio (benefit)",
                "Cold starts / pod starts per mode (5-minute rates): what the targets buy.",
                [
                    (
                        f"sum by (mode) (node_mode:eni_pool_cold_starts:rate5m{{{S}}})"
                        " / clamp_min(sum by (mode) "
                        f"(node_mode:eni_pool_pod_starts:rate5m{{{S}}}), 1e-9)",
                        "{{mode}}",
                    )
                ],
                unit=PERCENT,
            )
        )
        .with_panel(
            table_panel(
                "Per node over the time range",
                "Targets now, how often they changed, and the idle slots and cold starts over "
                "the time range: the trade-off eni-tuner balances. The node opens its dashboard.",
                [
                    ("Min warm", f"eni_pool_min_warm_target{{{S}}}", SLOTS),
                    ("Max warm", f"eni_pool_max_warm_target{{{S}}}", SLOTS),
                    (
                        "Target changes",
                        " + ".join(f"changes({m}{{{S}}}[$__range])" for m in TARGETS),
                        CHANGES,
                    ),
                    ("Avg warm", f"avg_over_time(eni_pool_warm_slots{{{S}}}[$__range])", SLOTS),
                    ("Pod starts", f"increase(eni_pool_pod_starts_total{{{S}}}[$__range])", PODS),
                    (
                        "Cold starts",
                        f"increase(eni_pool_cold_starts_total{{{S}}}[$__range])",
                        PODS,
                    ),
                ],
            )
        )
    )
