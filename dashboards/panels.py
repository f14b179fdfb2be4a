"""Building blocks shared by the dashboards: variables, selectors and panel shapes.

Every panel and query points at the ``$datasource`` variable, so the JSON works
when provisioned from files and when imported by hand. Every selector carries
``cluster=~"$cluster"``: the exporter has no cluster label, so the variable lists
``label_values(eni_pool_build_info, cluster)`` (present when Prometheus adds it,
e.g. as an external label seen through Thanos or Mimir) and its "All" value is
``.*``, which also matches series without the label. Every selector of a series with
a node label carries ``node=~"$node"`` too (:data:`NODE_POOLS`); the few series that
have none at the source (cloud API calls, slot waits by mode, subnets, the exporter's
own) are shown cluster-wide and their panels say so (:data:`CLUSTER_WIDE`).

Every panel has a unit: slots, pods, per-second rates of either, percent for ratios,
seconds for waits and latencies (the ``suffix:`` units print ``27 slots``).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    heatmap,
    stat,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import heatmap as hm
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from dashboards.links import FROM_ROW, FROM_SERIES, TargetChanges, node_link

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
CLUSTER = 'cluster=~"$cluster"'
MODE = 'mode=~"$mode"'
NODE = 'node=~"$node"'
POOLS = f"{CLUSTER}, {MODE}"
"""Selector of every pool in the chosen cluster and modes."""
NODE_POOLS = f"{CLUSTER}, {NODE}, {MODE}"
"""Selector of the chosen node(s)' pools."""
RATE = "$__rate_interval"
CLUSTER_WIDE = "Cluster-wide: these series have no node label, so the node selector does not apply."

SLOTS = "suffix:slots"
PODS = "suffix:pods"
NODES = "suffix:nodes"
IPS = "suffix:IPs"
PODS_PER_S = "suffix:pods/s"
SLOTS_PER_S = "suffix:slots/s"
CALLS_PER_S = "suffix:calls/s"
CHANGES = "suffix:changes"
PERCENT = "percentunit"
SECONDS = "s"


# --- variables ------------------------------------------------------------------------


def datasource_variable() -> db.DatasourceVariable:
    return db.DatasourceVariable("datasource").label("Data source").type("prometheus")


def _query_variable(name: str, label: str, query: str) -> db.QueryVariable:
    return (
        db.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)  # the plain string form: every Grafana version reads it
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )


def cluster_variable() -> db.QueryVariable:
    return (
        _query_variable("cluster", "Cluster", "label_values(eni_pool_build_info, cluster)")
        .include_all(True)
        .all_value(".*")
        .description("Prometheus' cluster label, if any; All also matches series without it.")
    )


def mode_variable() -> db.QueryVariable:
    return (
        _query_variable("mode", "Mode", f"label_values(eni_pool_bound_slots{{{CLUSTER}}}, mode)")
        .include_all(True)
        .all_value(".*")
        .multi(True)
        .description("route-eni: shared-ENI IPs; direct-eni: exclusive ENIs.")
    )


def node_variable(all_nodes: bool) -> db.QueryVariable:
    variable = _query_variable(
        "node", "Node", f"label_values(eni_pool_bound_slots{{{CLUSTER}, {MODE}}}, node)"
    )
    if all_nodes:
        return variable.include_all(True).all_value(".*").multi(True)
    return variable


def top_n_variable() -> db.CustomVariable:
    return (
        db.CustomVariable("topn")
        .label("Top N")
        .values("5,10,20,50")
        .current(dm.VariableOption(selected=True, text="10", value="10"))
    )


# --- queries --------------------------------------------------------------------------


def query(expr: str, legend: str = "__auto", ref: str = "A") -> prom.Dataquery:
    return prom.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DATASOURCE)


def instant(expr: str, ref: str = "A") -> prom.Dataquery:
    return (
        prom.Dataquery()
        .expr(expr)
        .instant()
        .format(PromQueryFormat.TABLE)
        .legend_format("__auto")
        .ref_id(ref)
        .datasource(DATASOURCE)
    )


# --- panels ---------------------------------------------------------------------------


def stat_panel(title: str, expr: str, description: str, unit: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(query(expr, legend=title))
        .unit(unit)
        .height(4)
        .span(3)
        .graph_mode(cm.BigValueGraphMode.AREA)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
    )


def graph(
    title: str,
    description: str,
    targets: list[tuple[str, str]],
    unit: str,
    width: int = 12,
    stacked: bool = False,
    units: dict[str, str] | None = None,
    drill_down: bool = False,
) -> timeseries.Panel:
    """A time series panel; targets are (expr, legend) pairs, ``unit`` theirs unless
    ``units`` (ref id -> unit) says otherwise; ``drill_down``: each series (with a node
    label) links to its node's dashboard."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .height(8)
        .span(width)
        .fill_opacity(10)
        .legend(
            common.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.TABLE)
            .placement(cm.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
        .tooltip(
            common.VizTooltipOptions()
            .mode(cm.TooltipDisplayMode.MULTI)
            .sort(cm.SortOrder.DESCENDING)
        )
    )
    if stacked:
        panel = panel.stacking(common.StackingConfig().mode(cm.StackingMode.NORMAL))
    for i, (expr, legend) in enumerate(targets):
        panel = panel.with_target(query(expr, legend, ref=_ref(i)))
    for ref, other in (units or {}).items():
        panel = panel.override_by_query(ref, [dm.DynamicConfigValue(id_val="unit", value=other)])
    if drill_down:
        panel = panel.data_links([node_link(FROM_SERIES)])
    return panel


def top_list(title: str, description: str, expr: str, unit: str) -> bargauge.Panel:
    """Horizontal bars of an instant query, one per series, largest first; each bar
    links to its node's dashboard."""
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(
            prom.Dataquery()
            .expr(expr)
            .instant()
            .legend_format("{{node}} {{mode}}")
            .ref_id("A")
            .datasource(DATASOURCE)
        )
        .unit(unit)
        .min(0)
        .height(8)
        .span(12)
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .data_links([node_link(FROM_SERIES)])
    )


def table_panel(
    title: str,
    description: str,
    columns: list[tuple[str, str, str]],
    width: int = 24,
) -> table.Panel:
    """One row per series label set (a node and mode), one column per (header, instant
    expr, unit); each row's node links to its node's dashboard."""
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .height(10)
        .span(width)
        .filterable(True)
        .unit(columns[0][2])
        .override_by_name("node", [dm.DynamicConfigValue(id_val="links", value=[_row_link()])])
        .with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            dm.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {
                        "Time": True,
                        "__name__": True,
                        "instance": True,
                        "job": True,
                        "cluster": False,
                    },
                    "renameByName": {
                        f"Value #{_ref(i)}": header for i, (header, _, _) in enumerate(columns)
                    },
                },
            )
        )
    )
    for i, (header, expr, unit) in enumerate(columns):
        panel = panel.with_target(instant(expr, ref=_ref(i)))
        if unit != columns[0][2]:
            panel = panel.override_by_name(
                header, [dm.DynamicConfigValue(id_val="unit", value=unit)]
            )
    return panel


def _row_link() -> dict[str, object]:
    return node_link(FROM_ROW).build().to_json()


SLOT_WAIT_RATES = "cluster_mode_le:eni_pool_slot_wait_seconds_bucket:rate5m"


def slot_wait_heatmap() -> heatmap.Panel:
    return (
        heatmap.Panel()
        .title("Slot wait (pod start to slot)")
        .description(
            "eni_pool_slot_wait_seconds: how long pods waited for a slot; warm hits are 0 "
            "(tke-observe: creation to scheduled, for pods TKE kept Pending for want of a "
            f"slot). A band above 1 s means cold starts (a bind was needed). {CLUSTER_WIDE}"
        )
        .datasource(DATASOURCE)
        .with_target(
            query(
                f"sum by (le) ({SLOT_WAIT_RATES}{{{CLUSTER}, {MODE}}})",
                legend="{{le}}",
            ).format(PromQueryFormat.HEATMAP)
        )
        .calculate(False)
        .height(8)
        .span(12)
        .unit("s")
        .color(
            heatmap.HeatmapColorOptions()
            .mode(hm.HeatmapColorMode.SCHEME)
            .scheme("Oranges")
            .steps(64)
        )
        .y_axis(heatmap.YAxisConfig().unit("s"))
        .rows_frame(heatmap.RowsHeatmapOptions().layout(cm.HeatmapCellLayout.AUTO))
    )


def row(title: str) -> db.Row:
    return db.Row(title)


def _ref(i: int) -> str:
    return chr(ord("A") + i)


def dashboard(
    title: str,
    uid: str,
    description: str,
    *,
    since: str,
    refresh: str,
    all_nodes: bool,
    top_n: bool = False,
) -> db.Dashboard:
    """A dashboard with the settings all share: tags, crosshair, the datasource,
    cluster, mode and node variables, the annotation of warm-target changes, and a
    dropdown linking the eni-pool dashboards."""
    board = (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["eni-pool", "vpc-cni"])
        .time(since, "now")
        .refresh(refresh)
        .timezone("browser")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .with_variable(datasource_variable())
        .with_variable(cluster_variable())
        .with_variable(mode_variable())
        .with_variable(node_variable(all_nodes=all_nodes))
        .annotation(TargetChanges(DATASOURCE, NODE_POOLS))
    )
    if top_n:
        board = board.with_variable(top_n_variable())
    return board.link(
        db.DashboardLink("ENI pool")
        .type(dm.DashboardLinkType.DASHBOARDS)
        .tags(["eni-pool"])
        .as_dropdown(True)
        .include_vars(True)
        .keep_time(True)
    )
