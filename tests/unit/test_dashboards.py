"""The committed dashboards are what dashboards/ builds, and are provisioning-ready:
a datasource variable everywhere, cluster/node/mode variables, unique uids and panel
ids, only metrics that the exporter publishes or the rules record; every query narrowed
to the chosen node(s), recorded series wherever a rule records the work, a unit on
every panel, drill-down links to the node's dashboard, and the annotation of target
changes. Every check covers each dashboards/*.json, whoever adds it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from dashboards import build  # needs grafana-foundation-sdk (the [test] extra)
from support.dashboard_queries import (
    DASHBOARDS,
    NODELESS,
    alerting_rules,
    load,
    panel_queries,
    recomputed,
    recorded_sources,
    recording_exprs,
    recording_rules,
    selectors,
    variables,
)


def exporter_metrics() -> set[str]:
    """Every series name the exporter exposes (families, _total, histogram parts)."""
    from exporter.families import CLUSTER_FAMILIES, FAMILIES

    families = (*FAMILIES, *CLUSTER_FAMILIES)
    names = {f.name + ("_total" if f.kind == "counter" else "") for f in families}
    names |= {"eni_pool_cloud_api_errors_total", "eni_pool_build_info", "eni_pool_acting",
              "eni_pool_engine_errors_total", "up"}  # fmt: skip
    for histogram in ("slot_wait_seconds", "cloud_api_duration_seconds",
                      "reconcile_duration_seconds"):  # fmt: skip
        names |= {f"eni_pool_{histogram}_{part}" for part in ("bucket", "count", "sum")}
    return names


def test_committed_json_is_what_the_code_builds() -> None:
    rendered = build.render()
    assert sorted(rendered) == [p.name for p in DASHBOARDS]
    for path in DASHBOARDS:
        assert path.read_text() == rendered[path.name], (
            f"{path.name} is stale: run python -m dashboards.build"
        )


def test_check_mode_reports_a_stale_file(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(build, "HERE", tmp_path / "dashboards")
    monkeypatch.setattr(build, "DEPLOY", tmp_path / "deploy" / "components")
    assert build.main([]) == 0
    assert build.main(["--check"]) == 0
    (tmp_path / "dashboards" / "eni-pool-node.json").write_text("{}\n")
    (tmp_path / "deploy" / "components" / "prometheus-rule" / "prometheusrule.yaml").unlink()
    assert build.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "dashboards/eni-pool-node.json" in err
    assert "deploy/components/prometheus-rule/prometheusrule.yaml" in err
    assert "eni-pool-tuner.json" not in err


def test_uids_and_panel_ids_are_unique() -> None:
    uids = [load(p)["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == len(uids)
    for path in DASHBOARDS:
        ids = [panel["id"] for panel in load(path)["panels"]]
        assert len(set(ids)) == len(ids), path.name


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_datasource_is_a_variable_everywhere(path) -> None:  # type: ignore[no-untyped-def]
    model = load(path)
    assert "__inputs" not in model and "id" not in model  # provisioned as is
    assert variables(path)["datasource"]["type"] == "datasource"
    assert variables(path)["datasource"]["query"] == "prometheus"
    for panel in model["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_cluster_node_and_mode_variables(path) -> None:  # type: ignore[no-untyped-def]
    found = variables(path)
    cluster = found["cluster"]
    assert cluster["query"] == "label_values(eni_pool_build_info, cluster)"
    assert cluster["includeAll"] is True and cluster["allValue"] == ".*"
    assert found["mode"]["allValue"] == ".*"
    assert "node" in found


def test_every_query_selects_the_chosen_cluster() -> None:
    for query in panel_queries():
        for name, matchers in selectors(query.expr):
            assert 'cluster=~"$cluster"' in matchers, f"{query.where}: {name}"


def test_queries_use_only_exporter_metrics_and_recorded_series() -> None:
    known = exporter_metrics() | set(recording_rules())
    for query in panel_queries():
        for name, _ in selectors(query.expr):
            assert name in known, f"{query.where}: {name} is neither exported nor recorded"


def test_rules_use_only_exporter_metrics_and_recorded_series() -> None:
    known = exporter_metrics() | set(recording_rules())
    exprs = [r["expr"] for r in alerting_rules()] + recording_exprs()
    for expr in exprs:
        for name in re.findall(r"(?<![\w:])[\w:]*eni_pool_[\w:]*", expr):
            assert name in known, f"{name} in {expr!r} is neither exported nor recorded"


# --- the node selector ----------------------------------------------------------------


def _has_node(name: str) -> bool:
    """The series carries a node label: exported per pool, or recorded from such."""
    if name in recording_rules():
        return not recorded_sources(name) <= NODELESS
    return name not in NODELESS


def test_nodeless_series_are_those_without_a_node_label_in_the_exporter() -> None:
    from exporter.families import CLUSTER_FAMILIES, FAMILIES, LABELS
    from exporter.metrics import Instruments

    assert "node" in LABELS
    per_pool = {f.name + ("_total" if f.kind == "counter" else "") for f in FAMILIES}
    assert not per_pool & NODELESS
    assert {
        f.name + ("_total" if f.kind == "counter" else "") for f in CLUSTER_FAMILIES
    } <= NODELESS
    instruments = Instruments("test")
    for metric in vars(instruments).values():
        labels = getattr(metric, "_labelnames", None)
        if labels is not None:
            assert "node" not in labels, metric
            assert any(n.startswith(metric._name) for n in NODELESS), metric._name


def test_every_query_of_per_node_series_filters_by_the_node_variable() -> None:
    for query in panel_queries():
        for name, matchers in selectors(query.expr):
            if _has_node(name):
                assert 'node=~"$node"' in matchers, f"{query.where}: {name}{matchers}"


def test_panels_of_series_without_a_node_say_they_are_cluster_wide() -> None:
    """The node selector cannot narrow them; the description tells the reader."""
    for path in DASHBOARDS:
        for panel in load(path)["panels"]:
            exprs = [t["expr"] for t in panel.get("targets", [])]
            if any(not _has_node(n) for e in exprs for n, _ in selectors(e)):
                assert "cluster-wide" in panel["description"].lower(), panel["title"]


def test_the_cluster_totals_records_are_not_read_by_dashboards() -> None:
    """cluster_mode:...:sum would ignore the node selector: the test above refuses them."""
    assert _has_node("cluster_mode:eni_pool_bound_slots:sum")
    assert not _has_node("cluster_mode:eni_pool_slot_wait_seconds:p99_5m")


# --- recording rules ------------------------------------------------------------------


def test_no_dashboard_recomputes_a_recorded_expression() -> None:
    for query in panel_queries():
        assert recomputed(query.expr) == [], f"{query.where}: read the recorded series"


@pytest.mark.parametrize(
    ("expr", "record"),
    [
        (
            'sum by (mode) (rate(eni_pool_cold_starts_total{node=~"$node"}[$__rate_interval]))',
            "node_mode:eni_pool_cold_starts:rate5m",
        ),
        (
            'eni_pool_warm_slots{node=~"$node"} / clamp_min(eni_pool_bound_slots{node=~"$node"}, 1)',
            "node_mode:eni_pool_idle_ratio:ratio",
        ),
        (
            "histogram_quantile(0.5, sum by (le) (rate(eni_pool_slot_wait_seconds_bucket[1m])))",
            "cluster_mode_le:eni_pool_slot_wait_seconds_bucket:rate5m",
        ),
        (
            "sum(irate(eni_pool_bind_operations_total[1m]))",
            "node_mode_result:eni_pool_bind_operations:rate5m",
        ),
    ],
)
def test_the_recomputation_check_can_fail(expr: str, record: str) -> None:
    assert record in recomputed(expr)


def test_every_dashboard_reads_recorded_series() -> None:
    records = set(recording_rules())
    used: dict[str, set[str]] = {}
    for query in panel_queries():
        used.setdefault(query.dashboard, set()).update(
            n for n, _ in selectors(query.expr) if n in records
        )
    assert set(used) == {p.name for p in DASHBOARDS}
    for name in ("eni-pool-overview.json", "eni-pool-node.json", "eni-pool-tuner.json"):
        assert used[name], f"{name} reads no recorded series"


# --- units ----------------------------------------------------------------------------

NO_UNIT = {"", "none", "short"}


def _units(panel: dict[str, Any]) -> dict[str, str]:
    """Each target's unit: the panel's, unless an override by query or column says."""
    config = panel["fieldConfig"]
    default = config["defaults"].get("unit", "")
    by_query, by_name = {}, {}
    for override in config.get("overrides", []):
        for prop in override["properties"]:
            if prop["id"] == "unit":
                matcher = override["matcher"]
                into = by_query if matcher["id"] == "byFrameRefID" else by_name
                into[matcher["options"]] = prop["value"]
    headers = {}
    for transformation in panel.get("transformations", []):
        for value, header in transformation["options"].get("renameByName", {}).items():
            headers[value.removeprefix("Value #")] = header
    return {
        t["refId"]: by_query.get(t["refId"], by_name.get(headers.get(t["refId"], ""), default))
        for t in panel["targets"]
    }


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_every_panel_has_a_unit_and_ratios_are_percent(path) -> None:  # type: ignore[no-untyped-def]
    for panel in load(path)["panels"]:
        if panel["type"] == "row":
            continue
        units = _units(panel)
        assert units and not set(units.values()) & NO_UNIT, f"{panel['title']}: {units}"
        for target in panel["targets"]:
            if "_ratio:" in target["expr"] or "/ clamp_min(" in target["expr"]:
                assert units[target["refId"]] == "percentunit", f"{panel['title']}"


def test_the_idle_ratio_is_shown_in_percent_everywhere() -> None:
    seen = 0
    for path in DASHBOARDS:
        for panel in load(path)["panels"]:
            if "Idle ratio" in panel["title"] or "Idle ratio" in json.dumps(panel):
                units = _units(panel) if panel["type"] != "row" else {}
                for target in panel.get("targets", []):
                    expr = target["expr"]
                    if "idle_ratio" in expr or ("eni_pool_warm_slots" in expr and "/" in expr):
                        assert units[target["refId"]] == "percentunit", panel["title"]
                        seen += 1
    assert seen >= 3


# --- drill-down and annotations -------------------------------------------------------


def _links(panel: dict[str, Any]) -> list[dict[str, Any]]:
    config = panel.get("fieldConfig", {})
    links = list(config.get("defaults", {}).get("links", []))
    for override in config.get("overrides", []):
        for prop in override["properties"]:
            if prop["id"] == "links":
                links.extend(prop["value"])
    return links


def test_drill_down_links_open_the_node_dashboard_with_node_and_time_range() -> None:
    node = next(p for p in DASHBOARDS if load(p)["uid"] == "eni-pool-node")
    target_variables = set(variables(node))
    linked: dict[str, list[str]] = {}
    for path in DASHBOARDS:
        for panel in load(path)["panels"]:
            for link in _links(panel):
                url = link["url"]
                assert url.startswith("/d/eni-pool-node/"), url
                assert "${__url_time_range}" in url, url
                assert re.search(r"var-node=\$\{__(field\.labels|data\.fields)\.node\}", url), url
                for name in re.findall(r"\$\{(\w+):queryparam\}", url):
                    assert name in target_variables, name
                linked.setdefault(path.name, []).append(panel["title"])
    assert {"Pools by node", "Top $topn wasteful nodes (average idle slots)",
            "Top $topn cold-starting nodes"} <= set(linked["eni-pool-overview.json"])  # fmt: skip
    assert "Per node over the time range" in linked["eni-pool-tuner.json"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_target_changes_are_annotated(path) -> None:  # type: ignore[no-untyped-def]
    notes = [n for n in load(path)["annotations"]["list"] if "expr" in n]
    assert [n["name"] for n in notes] == ["Warm target changes"]
    (note,) = notes
    assert note["enable"] is True and note["datasource"]["uid"] == "${datasource}"
    assert "eni_pool_target_changes_total" in note["expr"]
    assert note["tagKeys"] == "node,mode,source"
