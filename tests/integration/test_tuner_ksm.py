"""`eni-tuner recommend --source kube-state-metrics`: churn from kube-state-metrics alone.

A day of pods on 6 nodes is written as kube_pod_info / kube_pod_start_time series
(sampled every 60 s while each pod lives, as a scrape would) and served by the real
Prometheus; the tuner must count every pod start on the right node, and stop-derived
counts must never go negative.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pool_engine.events import START
from pool_engine.workload import WorkloadSpec, generate
from support.prom import prometheus, require
from tuner.cli import cli

pytestmark = pytest.mark.prometheus
SCRAPE = 60
DAY = 86400


def write_ksm(path: Path, t0: int) -> dict[str, int]:
    """The series, and per node the pod starts after the first instant that a scrape saw."""
    pods: list[tuple[str, str, float, float]] = []
    for node in generate(WorkloadSpec(nodes=6, days=1, seed=3, churn=0.5)):
        started: dict[int, float] = {}
        for t, kind, pod in zip(node.times, node.kinds, node.pods, strict=True):
            if kind == START:
                started[int(pod)] = float(t)
            else:
                pods.append((node.name, f"pod-{pod}", started.pop(int(pod)), float(t)))
        pods += [(node.name, f"pod-{p}", t, float(DAY)) for p, t in started.items()]
    arrivals: dict[str, int] = {}
    with path.open("w") as out:
        for family in ("kube_pod_info", "kube_pod_start_time"):
            out.write(f"# TYPE {family} gauge\n")
            for node, pod, start, stop in pods:
                labels = f'namespace="default",pod="{pod}"'
                if family == "kube_pod_info":
                    labels += f',node="{node}",host_network="false"'
                value = 1 if family == "kube_pod_info" else t0 + start
                first = int(start // SCRAPE + 1) * SCRAPE  # the first scrape that sees it
                for t in range(first, int(min(stop, DAY - 1)), SCRAPE):
                    out.write(f"{family}{{{labels}}} {value} {t0 + t}\n")
        out.write("# EOF\n")
    for node, _, start, stop in pods:
        first = int(start // SCRAPE + 1) * SCRAPE
        # kube-state-metrics sees a pod only if a scrape falls in its life: shorter ones
        # (and those starting in the last scrape of the window) are invisible to it.
        if start > 0 and first < int(stop) and first <= DAY - SCRAPE and first - start < SCRAPE:
            arrivals[node] = arrivals.get(node, 0) + 1
    return arrivals


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, dict[str, int]]]:
    promtool = require("promtool")
    work = tmp_path_factory.mktemp("ksm")
    t0 = (int(datetime.now(UTC).timestamp()) - 2 * DAY) // 3600 * 3600
    arrivals = write_ksm(work / "ksm.om", t0)
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(work / "ksm.om"),
                    str(work / "tsdb")], check=True, capture_output=True)  # fmt: skip
    with prometheus(work) as url:
        yield url, t0, arrivals


def test_pod_starts_per_node_from_kube_state_metrics(
    served: tuple[str, int, dict[str, int]],
) -> None:
    url, t0, arrivals = served
    result = CliRunner().invoke(cli, [
        "recommend", "--prometheus-url", url, "--source", "kube-state-metrics",
        "--start", datetime.fromtimestamp(t0, UTC).isoformat(),
        "--end", datetime.fromtimestamp(t0 + DAY - SCRAPE, UTC).isoformat(),
        "--step", str(SCRAPE), "-o", "json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    recs: list[dict[str, Any]] = json.loads(result.stdout)
    got = {r["node"]: r["pod_starts"] for r in recs}
    assert got == arrivals
    for r in recs:
        assert r["min_warm"] >= 1
        assert r["expected_before"]["cold_starts"] <= r["pod_starts"]
