"""The committed dashboards are what dashboards/ builds, and are provisioning-ready:
a datasource variable everywhere, cluster/node/mode variables, unique uids and panel
ids, and only metrics that the exporter publishes."""

from __future__ import annotations

import re

import pytest

from dashboards import build  # needs grafana-foundation-sdk (the [test] extra)
from support.dashboard_queries import (
    DASHBOARDS,
    alerting_rules,
    load,
    panel_queries,
    recording_exprs,
    recording_rules,
    variables,
)


def exporter_metrics() -> set[str]:
    """Every series name the exporter exposes (families, _total, histogram parts)."""
    from exporter.families import CLUSTER_FAMILIES, FAMILIES

    families = (*FAMILIES, *CLUSTER_FAMILIES)
    names = {f.name + ("_total" if f.kind == "counter" else "") for f in families}
    names |= {"eni_pool_cloud_api_errors_total", "eni_pool_build_info", "eni_pool_acting",
              "eni_pool_engine_errors_total"}  # fmt: skip
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
    monkeypatch.setattr(build, "HERE", tmp_path)
    assert build.main([]) == 0
    (tmp_path / "eni-pool-node.json").write_text("{}\n")
    assert build.main(["--check"]) == 1
    assert "eni-pool-node.json" in capsys.readouterr().err


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
        for selector in re.findall(r"\b(eni_pool_\w+)(\{[^}]*\})?", query.expr):
            assert 'cluster=~"$cluster"' in selector[1], f"{query.where}: {selector[0]}"


def test_queries_use_only_exporter_metrics() -> None:
    known = exporter_metrics()
    for query in panel_queries():
        for metric in re.findall(r"\b(eni_pool_\w+)", query.expr):
            assert metric in known, f"{query.where}: {metric} is not an exporter metric"


def test_rules_use_only_exporter_metrics_and_recorded_series() -> None:
    known = exporter_metrics() | set(recording_rules())
    exprs = [r["expr"] for r in alerting_rules()] + recording_exprs()
    for expr in exprs:
        for name in re.findall(r"(?<![\w:])[\w:]*eni_pool_[\w:]*", expr):
            assert name in known, f"{name} in {expr!r} is neither exported nor recorded"
