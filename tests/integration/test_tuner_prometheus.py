"""`eni-tuner recommend --prometheus-url` against the real Prometheus.

Seven days x 50 nodes of the exporter's counters are written with
`promtool tsdb create-blocks-from openmetrics` and served by Prometheus on loopback;
the recommendations must equal those from the equivalent trace file (the same churn,
events at the end of their 30 s step, existing pods at the start).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from prometheus_api_client import PrometheusConnect

from pool_engine.events import START
from pool_engine.workload import WorkloadSpec, generate
from support.prom import prometheus, require
from tuner import queries
from tuner.cli import cli

pytestmark = pytest.mark.prometheus
STEP = 30
DAYS = 7
NODES = 50
KEEPALIVE = 240  # a sample at least this often keeps a series inside the 5 min lookback


def churn_steps(t0: int) -> tuple[dict[str, int], dict[str, dict[int, list[int]]]]:
    """Existing pods per node, and per node: step index -> [starts, stops]."""
    existing: dict[str, int] = {}
    steps: dict[str, dict[int, list[int]]] = {}
    for node in generate(WorkloadSpec(nodes=NODES, days=DAYS, seed=5, churn=0.3)):
        at_zero = (node.times == 0) & (node.kinds == START)
        existing[node.name] = int(at_zero.sum())
        per: dict[int, list[int]] = {}
        for t, kind in zip(node.times[~at_zero], node.kinds[~at_zero], strict=True):
            k = max(1, int(np.ceil(t / STEP)))
            per.setdefault(k, [0, 0])[0 if kind == START else 1] += 1
        steps[node.name] = per
    return existing, steps


def write_openmetrics(path: Path, t0: int, existing: dict[str, int],
                      steps: dict[str, dict[int, list[int]]]) -> None:  # fmt: skip
    last = DAYS * 86400 // STEP
    with path.open("w") as out:
        for family, which in (("eni_pool_pod_starts", 0), ("eni_pool_pod_stops", 1)):
            out.write(f"# TYPE {family} counter\n")
            for node, per in steps.items():
                total, previous = 0, -KEEPALIVE
                for k in range(last + 1):
                    total += per.get(k, [0, 0])[which]
                    t = k * STEP
                    if k in per or t - previous >= KEEPALIVE or k == last:
                        out.write(
                            f'{family}_total{{node="{node}",mode="route-eni"}} {total} {t0 + t}\n'
                        )
                        previous = t
        for family, values in (("eni_pool_in_use_slots", existing), ("eni_pool_waiting_pods", {})):
            out.write(f"# TYPE {family} gauge\n")
            for node in steps:
                out.write(
                    f'{family}{{node="{node}",mode="route-eni"}} {values.get(node, 0)} {t0}\n'
                )
        out.write("# EOF\n")


def write_trace(
    path: Path, existing: dict[str, int], steps: dict[str, dict[int, list[int]]]
) -> None:
    rows: list[tuple[int, int, str, str]] = []
    for node, count in existing.items():
        rows += [(0, 0, node, "start")] * count
    for node, per in steps.items():
        for k, (starts, stops) in per.items():
            rows += [(k * STEP, 0, node, "start")] * starts + [(k * STEP, 1, node, "stop")] * stops
    rows.sort(key=lambda r: (r[0], r[2], r[1]))
    path.write_text("time,node,event\n" + "".join(f"{t},{n},{e}\n" for t, _, n, e in rows))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    promtool = require("promtool")
    work = tmp_path_factory.mktemp("history")
    t0 = (int(datetime.now(UTC).timestamp()) - (DAYS + 1) * 86400) // 3600 * 3600
    existing, steps = churn_steps(t0)
    write_openmetrics(work / "history.om", t0, existing, steps)
    write_trace(work / "equivalent.csv", existing, steps)
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics",
                    str(work / "history.om"), str(work / "tsdb")],
                   check=True, capture_output=True)  # fmt: skip
    with prometheus(work) as url:
        yield url, t0, work / "equivalent.csv"


def recommend(*args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["recommend", *args, "-o", "json"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    document: list[dict[str, Any]] = json.loads(result.stdout)
    return document


def test_recommendations_from_prometheus_equal_those_from_the_trace(
    served: tuple[str, int, Path],
) -> None:
    url, t0, trace = served
    start = datetime.fromtimestamp(t0, UTC).isoformat()
    end = datetime.fromtimestamp(t0 + DAYS * 86400, UTC).isoformat()
    from_prom = recommend(
        "--prometheus-url", url, "--start", start, "--end", end, "--step", str(STEP)
    )
    from_trace = recommend("--trace", str(trace))
    assert len(from_prom) == NODES
    for ours, theirs in zip(from_prom, from_trace, strict=True):
        assert ours["node"] == theirs["node"]
        assert (ours["min_warm"], ours["max_warm"], ours["status"]) == (
            theirs["min_warm"], theirs["max_warm"], theirs["status"])  # fmt: skip
        assert ours["pod_starts"] == theirs["pod_starts"]
        assert ours["expected_after"] == theirs["expected_after"]
    assert any(r["min_warm"] != 5 for r in from_prom)


def test_kube_state_metrics_queries_parse(served: tuple[str, int, Path]) -> None:
    url, _, _ = served
    churn = queries.kube_state_metrics(STEP)
    with PrometheusConnect(url=url, method="POST") as prom:
        for query in (churn.starts, churn.pods):
            assert prom.custom_query(query) == []  # valid PromQL, no such series here


def test_unreachable_prometheus_exits_3() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from tuner.cli import main; main()", "recommend",
         "--prometheus-url", "http://127.0.0.1:9", "--retries", "0"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 3
    assert done.stderr.startswith("error: cannot read history: http://127.0.0.1:9")
    assert len(done.stderr.strip().splitlines()) == 1
