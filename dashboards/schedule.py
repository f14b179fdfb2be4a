"""ENI pool / Schedules: time-of-day warm targets, the block in force per node, and
whether the pair in force follows it (``eni-tuner switch`` on TKE, our engine itself
with the simulated provider; docs/operations.md, "Time-of-day schedules").

Every series here exists only for pools whose NEC carries a valid schedule
(``eni_pool_schedule_active_block``, ``eni_pool_scheduled_{min,max}_warm_target``):
the panels are empty, not zero, on a cluster without schedules.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from dashboards.panels import (
    NODE_POOLS,
    SLOTS,
    dashboard,
    graph,
    row,
    stat_panel,
    table_panel,
)

HOUR_OF_DAY = "suffix: h UTC"
POOL_COUNT = "suffix:pools"

UID = "eni-pool-schedule"
S = NODE_POOLS
BLOCK = f"eni_pool_schedule_active_block{{{S}}}"
SCHEDULED = {"min": f"eni_pool_scheduled_min_warm_target{{{S}}}",
             "max": f"eni_pool_scheduled_max_warm_target{{{S}}}"}  # fmt: skip
IN_FORCE = {"min": f"eni_pool_min_warm_target{{{S}}}", "max": f"eni_pool_max_warm_target{{{S}}}"}


def _off_schedule() -> str:
    """Scheduled pools whose pair in force is not the schedule's (a switch pending or
    failing, a hand edit, an opted-out node)."""
    differs = " or ".join(
        f"({IN_FORCE[k]} != on (node, mode) {SCHEDULED[k]})" for k in ("min", "max")
    )
    return f"count(count by (node, mode) ({differs})) or vector(0)"


def build() -> db.Dashboard:
    return (
        dashboard(
            "ENI pool / Schedules",
            UID,
            "Time-of-day warm targets stored on NEC objects (eni-pool.io/warm-schedule): the "
            "block in force per node (UTC hours), the pair it sets, and the pair in force.",
            since="now-2d",
            refresh="1m",
            all_nodes=True,
        )
        .with_row(row("Now"))
        .with_panel(
            stat_panel(
                "Scheduled pools",
                f"count({BLOCK}) or vector(0)",
                "Pools whose NEC carries a valid time-of-day schedule.",
                POOL_COUNT,
            )
        )
        .with_panel(
            stat_panel(
                "Pools off their schedule",
                _off_schedule(),
                "Scheduled pools whose min or max warm target in force differs from the "
                "block's: on TKE, right after a block starts until eni-tuner switch runs "
                "(every 5 minutes); longer means the switch fails or the node opted out.",
                POOL_COUNT,
            )
        )
        .with_panel(
            stat_panel(
                "Mean scheduled min warm",
                f"avg({SCHEDULED['min']})",
                "Average min warm target the schedules set now, over the chosen pools.",
                SLOTS,
            )
        )
        .with_panel(
            stat_panel(
                "Mean scheduled max warm",
                f"avg({SCHEDULED['max']})",
                "Average max warm target the schedules set now, over the chosen pools.",
                SLOTS,
            )
        )
        .with_panel(
            table_panel(
                "Block in force per node",
                "The UTC hour its block began, the pair the schedule sets and the pair in force.",
                [
                    ("Block from (UTC h)", BLOCK, HOUR_OF_DAY),
                    ("Scheduled min", SCHEDULED["min"], SLOTS),
                    ("Scheduled max", SCHEDULED["max"], SLOTS),
                    ("Min in force", f"{IN_FORCE['min']} and on (node, mode) {BLOCK}", SLOTS),
                    ("Max in force", f"{IN_FORCE['max']} and on (node, mode) {BLOCK}", SLOTS),
                ],
            )
        )
        .with_row(row("Over time"))
        .with_panel(
            graph(
                "Active block by node",
                "UTC hour at which the block in force began: a step at each block boundary.",
                [(BLOCK, "{{node}} {{mode}}")],
                HOUR_OF_DAY,
                drill_down=True,
            )
        )
        .with_panel(
            graph(
                "Scheduled and in-force targets",
                "The pair the schedule sets against the NEC's pair in force, per scheduled pool.",
                [
                    (SCHEDULED["min"], "scheduled min {{node}} {{mode}}"),
                    (SCHEDULED["max"], "scheduled max {{node}} {{mode}}"),
                    (f"{IN_FORCE['min']} and on (node, mode) {BLOCK}", "min {{node}} {{mode}}"),
                    (f"{IN_FORCE['max']} and on (node, mode) {BLOCK}", "max {{node}} {{mode}}"),
                ],
                SLOTS,
                drill_down=True,
            )
        )
    )
