"""ENI pool / Tuner: the warm targets over time, the changes applied and their effect."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from dashboards.panels import (
    NODE_POOLS,
    POOLS,
    RATE,
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
            )
        )
        .with_panel(
            stat_panel(
                "Nodes changed in range",
                f"count(({_changes('$__range', 'node, mode')}) > 0) or vector(0)",
                "Pools whose min or max warm target changed over the time range.",
            )
        )
        .with_panel(
            stat_panel(
                "Mean min warm",
                f"avg(eni_pool_min_warm_target{{{S}}})",
                "Average min warm target over the chosen pools.",
            )
        )
        .with_panel(
            stat_panel(
                "Mean max warm",
                f"avg(eni_pool_max_warm_target{{{S}}})",
                "Average max warm target over the chosen pools.",
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
                width=24,
            )
        )
        .with_row(row("Targets over time"))
        .with_panel(
            graph(
                "Min warm target by node",
                "eni_pool_min_warm_target per pool.",
                [(f"eni_pool_min_warm_target{{{S}}}", "{{node}} {{mode}}")],
            )
        )
        .with_panel(
            graph(
                "Max warm target by node",
                "eni_pool_max_warm_target per pool.",
                [(f"eni_pool_max_warm_target{{{S}}}", "{{node}} {{mode}}")],
            )
        )
        .with_row(row("Effect"))
        .with_panel(
            graph(
                "Warm slots (cost)",
                "Idle slots summed per mode: what the targets cost in VPC addresses.",
                [(f"sum by (mode) (eni_pool_warm_slots{{{POOLS}}})", "warm {{mode}}")],
            )
        )
        .with_panel(
            graph(
                "Cold-start ratio (benefit)",
                "Cold starts / pod starts per mode: what the targets buy.",
                [
                    (
                        f"sum by (mode) (rate(eni_pool_cold_starts_total{{{POOLS}}}[{RATE}]))"
                        " / clamp_min(sum by (mode) "
                        f"(rate(eni_pool_pod_starts_total{{{POOLS}}}[{RATE}])), 1e-9)",
                        "{{mode}}",
                    )
                ],
                unit="percentunit",
            )
        )
        .with_panel(
            table_panel(
                "Per node over the time range",
                "Targets now, how often they changed, and the idle slots and cold starts over "
                "the time range: the trade-off eni-tuner balances.",
                [
                    ("Min warm", f"eni_pool_min_warm_target{{{S}}}"),
                    ("Max warm", f"eni_pool_max_warm_target{{{S}}}"),
                    (
                        "Target changes",
                        " + ".join(f"changes({m}{{{S}}}[$__range])" for m in TARGETS),
                    ),
                    ("Avg warm", f"avg_over_time(eni_pool_warm_slots{{{S}}}[$__range])"),
                    ("Pod starts", f"increase(eni_pool_pod_starts_total{{{S}}}[$__range])"),
                    ("Cold starts", f"increase(eni_pool_cold_starts_total{{{S}}}[$__range])"),
                ],
            )
        )
    )
