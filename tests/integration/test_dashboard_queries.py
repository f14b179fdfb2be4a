"""Every dashboard query and recording rule against the real Prometheus.

`eni-exporter simulate` (fast clock, injected cloud errors and throttling) is scraped
by Prometheus loaded with dashboards/rules/eni-pool.rules.yaml. Each panel's and
annotation's PromQL (of every dashboards/*.json), with the template variables
substituted as Grafana would, must parse and return at least one number; so must every
recording rule and the node and mode variables. The queries read the recorded series
(tests/unit/test_dashboards.py), so these numbers are the rules' own.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from support.dashboard_queries import (
    CLUSTER_ONLY,
    DASHBOARDS,
    RULES,
    PanelQuery,
    panel_queries,
    recording_rules,
    substitute,
    variables,
)
from support.prom import free_port, prometheus, wait_http

pytestmark = pytest.mark.prometheus
NODES = 12
SCRAPES = 20
"""Scrapes (1 s apart) before querying: enough for rate() over 1m and a few rule runs."""


@pytest.fixture(scope="module")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("exporter") / "exporter.log").open("w")
    # 600 simulated seconds per second: pods churn, pools bind and release, cron
    # bursts cause cold starts; injected faults feed the error and throttling panels.
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from exporter.cli import main; main()",
            "simulate",
            "--nodes",
            str(NODES),
            "--listen",
            f"127.0.0.1:{port}",
            "--speed",
            "600",
            "--error-rate",
            "0.05",
            "--throttle-rate",
            "0.05",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0
        log.close()


@pytest.fixture(scope="module")
def prom(exporter: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("prometheus")
    with prometheus(workdir, scrape=exporter, rules=[RULES]) as url:
        deadline = time.monotonic() + 90
        while _value(url, 'count_over_time(up{job="eni-exporter"}[5m])') < SCRAPES:
            assert time.monotonic() < deadline, f"fewer than {SCRAPES} scrapes in 90 s"
            time.sleep(0.5)
        yield url


def _query(url: str, expr: str) -> dict[str, Any]:
    reply = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
    body: dict[str, Any] = reply.json()
    assert body["status"] == "success", f"{expr}: {body.get('error')}"
    data: dict[str, Any] = body["data"]
    return data


def _numbers(data: dict[str, Any]) -> list[float]:
    if data["resultType"] == "scalar":
        return [float(data["result"][1])]
    if data["resultType"] == "vector":
        return [float(s["value"][1]) for s in data["result"]]
    return [float(v[1]) for s in data["result"] for v in s["values"]]


def _value(url: str, expr: str) -> float:
    numbers = _numbers(_query(url, expr))
    return numbers[0] if numbers else 0.0


@pytest.fixture(scope="module")
def values(prom: str) -> dict[str, str]:
    """Template variables as Grafana would fill them: the busiest node, route-eni."""
    busiest = _query(prom, 'topk(1, eni_pool_cold_starts_total{mode="route-eni"})')["result"]
    assert busiest, "no node has route-eni pools"
    return {
        "cluster": ".*",  # the "All" value: the exporter's series have no cluster label
        "node": busiest[0]["metric"]["node"],
        "mode": "route-eni",
        "topn": "10",
        "__rate_interval": "1m",
        "__interval": "15s",
        "__range": "5m",
    }


QUERIES = list(panel_queries())
SCHEDULE_BOARD = "eni-pool-schedule.json"
"""Schedules come from NEC objects: its queries are evaluated in test_schedule_dashboard.py."""


@pytest.mark.parametrize("query", QUERIES, ids=[q.where for q in QUERIES])
def test_panel_query_returns_data(prom: str, values: dict[str, str], query: PanelQuery) -> None:
    data = _query(prom, substitute(query.expr, values))
    if any(metric in query.expr for metric in CLUSTER_ONLY):
        return  # parses; `eni-exporter simulate` publishes none of these series
    numbers = _numbers(data)
    assert any(math.isfinite(n) for n in numbers), f"{query.where}: no data for {query.expr}"


def test_only_the_cluster_mode_panels_are_exempt() -> None:
    """The exemption above covers exactly these panels, so it cannot grow unnoticed
    (a dashboard added later names its own here)."""
    exempt = {(q.dashboard, q.panel) for q in QUERIES if any(m in q.expr for m in CLUSTER_ONLY)}
    annotated = {(p.name, "annotation: Warm target changes") for p in DASHBOARDS}
    assert (
        exempt - annotated
        == {
            ("eni-pool-node.json", "Time outside the band"),
            ("eni-pool-node.json", "TKE's agent and the shadow engine (tke-observe)"),
            ("eni-pool-node.json", "Config refusals since exporter start"),
            ("eni-pool-overview.json", "Nodes outside the band"),
            ("eni-pool-overview.json", "Pods without a slot (tke-observe)"),
            ("eni-pool-overview.json", "Config refusals since exporter start"),
            ("eni-pool-tuner.json", "Changes by source (eni-exporter run)"),
            *((SCHEDULE_BOARD, q.panel) for q in QUERIES if q.dashboard == SCHEDULE_BOARD),
        }
        - annotated
    )
    assert {p for d, p in exempt if d == SCHEDULE_BOARD} >= {"Active block by node"}


RECORDS = recording_rules()
CLUSTER_ONLY_RECORDS: set[str] = {r for r in RECORDS if any(m in r for m in CLUSTER_ONLY)}


def test_only_the_cluster_mode_records_are_exempt() -> None:
    exempt = CLUSTER_ONLY_RECORDS
    assert exempt == {
        "node_mode:eni_pool_shadow_cold_starts:rate5m",
        "node_mode_side:eni_pool_out_of_band_seconds:rate5m",
        "cluster_mode:eni_pool_pods_without_slot:rate5m",
    }


@pytest.mark.parametrize("record", RECORDS)
def test_recording_rule_returns_data(prom: str, record: str) -> None:
    if record in CLUSTER_ONLY_RECORDS:
        _query(prom, record)  # parses; `eni-exporter simulate` publishes no input
        return
    deadline = time.monotonic() + 10  # rules run every second; allow a few runs
    while not (numbers := _numbers(_query(prom, record))):
        assert time.monotonic() < deadline, f"recording rule {record} has no data"
        time.sleep(0.5)
    assert any(math.isfinite(n) for n in numbers), record


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_variables_list_values(prom: str, path: Path) -> None:
    found = {}
    for name, variable in variables(path).items():
        if variable["type"] != "query":
            continue
        query = variable["query"]
        metric, label = query.removeprefix("label_values(").removesuffix(")").rsplit(", ", 1)
        selector = substitute(metric, {"cluster": ".*", "mode": "route-eni"})
        reply = requests.get(
            f"{prom}/api/v1/label/{label}/values", params={"match[]": selector}, timeout=10
        ).json()
        assert reply["status"] == "success", f"{name}: {reply.get('error')}"
        found[name] = reply["data"]
    assert found["cluster"] == []  # no cluster label here: "All" (.*) applies
    assert found["mode"] == ["direct-eni", "route-eni"]
    route_eni_pools = _value(prom, 'count(eni_pool_bound_slots{mode="route-eni"})')
    assert 0 < len(found["node"]) == route_eni_pools <= NODES
