"""ENI pool / Node: one node's pool against its targets, churn, binds, and its time
outside the band (and, in tke-observe, TKE's agent against the shadow engine).
The Overview's and Tuner's per-node rows link here; rates and ratios come from the
per-node recording rules."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from dashboards import band
from dashboards.links import NODE_UID
from dashboards.panels import (
    NODE_POOLS,
    PERCENT,
    PODS,
    PODS_PER_S,
    SLOTS,
    SLOTS_PER_S,
    dashboard,
    graph,
    row,
    stat_panel,
    table_panel,
)

UID = NODE_UID
S = NODE_POOLS


def _by_mode(record: str, by: str = "mode") -> str:
    return f"sum by ({by}) ({record}{{{S}}})"


def build() -> db.Dashboard:
    board = (
        dashboard(
            "ENI pool / Node",
            UID,
            "One node's warm pool: slots against min/max warm, churn, binds, drift.",
            since="now-6h",
            refresh="1m",
            all_nodes=False,
        )
        .with_row(row("Now"))
        .with_panel(
            stat_panel("Bound", f"sum(eni_pool_bound_slots{{{S}}})", "B: slots bound.", SLOTS)
        )
        .with_panel(
            stat_panel("In use", f"sum(eni_pool_in_use_slots{{{S}}})", "P: held by pods.", SLOTS)
        )
        .with_panel(
            stat_panel("Warm", f"sum(eni_pool_warm_slots{{{S}}})", "B - P: idle slots.", SLOTS)
        )
        .with_panel(
            stat_panel(
                "Max attach",
                f"sum(eni_pool_max_attach_slots{{{S}}})",
                "C: most slots this node can bind.",
                SLOTS,
            )
        )
        .with_panel(
            stat_panel(
                "Min warm target",
                f"max(eni_pool_min_warm_target{{{S}}})",
                "m, from the NEC annotation or the exporter's default.",
                SLOTS,
            )
        )
        .with_panel(
            stat_panel(
                "Max warm target",
                f"max(eni_pool_max_warm_target{{{S}}})",
                "M, from the NEC annotation or the exporter's default.",
                SLOTS,
            )
        )
        .with_panel(
            stat_panel(
                "Pods waiting",
                f"sum(eni_pool_waiting_pods{{{S}}})",
                "W: pods waiting for a slot (not observed in tke-observe mode).",
                PODS,
            )
        )
        .with_panel(
            stat_panel(
                "Binds in flight",
                f"sum(eni_pool_binds_in_flight{{{S}}})",
                "K: binds requested, not done.",
                SLOTS,
            )
        )
        .with_row(row("Pool against its targets"))
        .with_panel(
            graph(
                "Slots and targets",
                "The engine grows the pool while bound + in flight < min(max attach, "
                "in use + waiting + min warm) and releases above in use + waiting + max warm.",
                [
                    (f"eni_pool_bound_slots{{{S}}}", "bound {{mode}}"),
                    (f"eni_pool_in_use_slots{{{S}}}", "in use {{mode}}"),
                    (f"eni_pool_max_attach_slots{{{S}}}", "max attach {{mode}}"),
                    (
                        f"eni_pool_in_use_slots{{{S}}} + eni_pool_waiting_pods{{{S}}}"
                        f" + eni_pool_min_warm_target{{{S}}}",
                        "grow below (in use + waiting + min warm) {{mode}}",
                    ),
                    (
                        f"eni_pool_in_use_slots{{{S}}} + eni_pool_waiting_pods{{{S}}}"
                        f" + eni_pool_max_warm_target{{{S}}}",
                        "release above (in use + waiting + max warm) {{mode}}",
                    ),
                ],
                unit=SLOTS,
                width=24,
            )
        )
        .with_panel(
            graph(
                "Warm slots and targets",
                "Idle slots against the min and max warm targets.",
                [
                    (f"eni_pool_warm_slots{{{S}}}", "warm {{mode}}"),
                    (f"eni_pool_min_warm_target{{{S}}}", "min warm {{mode}}"),
                    (f"eni_pool_max_warm_target{{{S}}}", "max warm {{mode}}"),
                ],
                unit=SLOTS,
            )
        )
        .with_panel(
            graph(
                "Waiting pods and binds in flight",
                "W and K over time.",
                [
                    (f"eni_pool_waiting_pods{{{S}}}", "waiting {{mode}}"),
                    (f"eni_pool_binds_in_flight{{{S}}}", "in flight {{mode}}"),
                ],
                unit=PODS,
                units={"B": SLOTS},
            )
        )
        .with_row(row("Churn"))
        .with_panel(
            graph(
                "Pod starts, stops and cold starts",
                "Per second (5-minute rates); a cold start is a pod start that found no warm slot.",
                [
                    (_by_mode("node_mode:eni_pool_pod_starts:rate5m"), "starts {{mode}}"),
                    (_by_mode("node_mode:eni_pool_pod_stops:rate5m"), "stops {{mode}}"),
                    (_by_mode("node_mode:eni_pool_cold_starts:rate5m"), "cold starts {{mode}}"),
                ],
                unit=PODS_PER_S,
            )
        )
        .with_panel(
            graph(
                "Cold-start ratio",
                "Cold starts / pod starts (5-minute rates).",
                [(f"node_mode:eni_pool_cold_start_ratio:rate5m{{{S}}}", "{{mode}}")],
                unit=PERCENT,
            )
        )
        .with_panel(
            graph(
                "Bunched pod starts",
                "Share of the node's pod starts that came within a burst begun by another "
                "(within 2.5 s of its first; direct-eni 25 s), over 30 minutes; both rates "
                "are recorded by one rule group, and a node without starts shows nothing. "
                "eni-tuner reads the burst and pair counters to place the starts of each "
                "Prometheus step; bunched starts need more warm slots than their rate says.",
                [(f"node_mode:eni_pool_bunched_start_ratio:rate30m{{{S}}}", "{{mode}}")],
                unit=PERCENT,
            )
        )
        .with_row(row("Binds, releases, configuration"))
        .with_panel(
            graph(
                "Binds by result",
                "Slot binds per second by result.",
                [
                    (
                        _by_mode(
                            "node_mode_result:eni_pool_bind_operations:rate5m", "mode, result"
                        ),
                        "{{result}} {{mode}}",
                    )
                ],
                unit=SLOTS_PER_S,
                stacked=True,
            )
        )
        .with_panel(
            graph(
                "Releases by reason",
                "Slot releases per second by reason.",
                [
                    (
                        _by_mode(
                            "node_mode_reason:eni_pool_release_operations:rate5m", "mode, reason"
                        ),
                        "{{reason}} {{mode}}",
                    )
                ],
                unit=SLOTS_PER_S,
                stacked=True,
            )
        )
        .with_panel(
            table_panel(
                "Config refusals since exporter start",
                "Refused NEC annotation changes on this node; see the Events on its NEC.",
                [
                    (
                        "Refusals",
                        f"sum by (node, mode, reason) (eni_pool_config_rejections_total{{{S}}})",
                        "suffix:refusals",
                    )
                ],
                width=12,
            )
        )
        .with_row(row("Band and TKE"))
    )
    for panel in band.node_panels():
        board = board.with_panel(panel)
    return board
