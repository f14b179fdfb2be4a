"""Where a dashboard leads and what it marks: drill-down links to one node's dashboard,
and the annotation of warm-target changes.

A drill-down link opens ``ENI pool / Node`` for the node under the pointer, keeping
the data source, cluster, modes and time range (``${__url_time_range}``). Grafana
fills ``${__field.labels.node}`` from a series' labels (graphs, bar gauges) and
``${__data.fields.node}`` from a table row.

The annotation reads ``eni_pool_target_changes_total`` (docs/contracts/metrics.md): the
exporter counts every change of a pool's min/max warm targets it applies from a NEC,
with ``source`` ``tuner`` when the same update rewrote the tuner's record of previous
values (``eni-tuner apply`` or ``--rollback``), else ``other`` (a hand edit).
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as dm

NODE_UID = "eni-pool-node"
"""The uid of ENI pool / Node, which the links open."""
FROM_SERIES = "${__field.labels.node}"
FROM_ROW = "${__data.fields.node}"
TARGET_CHANGES = "eni_pool_target_changes_total"


def node_link(node: str) -> db.DashboardLink:
    """A data link to the node's dashboard; ``node`` is FROM_SERIES or FROM_ROW."""
    url = (
        f"/d/{NODE_UID}/eni-pool-node?${{datasource:queryparam}}&${{cluster:queryparam}}"
        f"&${{mode:queryparam}}&var-node={node}&${{__url_time_range}}"
    )
    return (
        db.DashboardLink("Open this node's dashboard")
        .type(dm.DashboardLinkType.LINK)
        .url(url)
        .target_blank(False)
    )


class PromAnnotation(dm.AnnotationQuery):
    """A Prometheus annotation query: Grafana's fields that the SDK's model lacks."""

    def __init__(
        self, *, title_format: str, text_format: str, tag_keys: str, step: str = "1m", **query: Any
    ) -> None:
        super().__init__(**query)
        self.step = step
        self.title_format = title_format
        self.text_format = text_format
        self.tag_keys = tag_keys

    def to_json(self) -> dict[str, object]:
        payload: dict[str, Any] = super().to_json()
        payload.update(
            step=self.step,
            titleFormat=self.title_format,
            textFormat=self.text_format,
            tagKeys=self.tag_keys,
            useValueForTime=False,
        )
        return payload


class TargetChanges(cogbuilder.Builder[dm.AnnotationQuery]):
    """Marks, on every time series panel, when the chosen nodes' warm targets changed."""

    def __init__(self, datasource: dm.DataSourceRef, selector: str) -> None:
        expr = (
            f"sum by (node, mode, source) "
            f"(increase({TARGET_CHANGES}{{{selector}}}[$__rate_interval])) > 0"
        )
        self._internal = PromAnnotation(
            name="Warm target changes",
            datasource=datasource,
            enable=True,
            hide=False,
            icon_color="purple",
            expr=expr,
            title_format="Warm targets changed ({{source}})",
            text_format="{{node}} {{mode}}",
            tag_keys="node,mode,source",
        )

    def build(self) -> dm.AnnotationQuery:
        return self._internal
