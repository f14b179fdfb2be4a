"""The real Prometheus scrapes `eni-exporter simulate`: the four core gauges exist for
every node with the engine's values, and warm == bound - in_use everywhere."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_api_client import PrometheusConnect
from prometheus_client.parser import text_string_to_metric_families

from support.prom import free_port, prometheus, wait_http

pytestmark = pytest.mark.prometheus
NODES = 7
CORE = ("eni_pool_bound_slots", "eni_pool_in_use_slots", "eni_pool_warm_slots",
        "eni_pool_max_attach_slots")  # fmt: skip


@pytest.fixture(scope="module")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("exporter") / "exporter.log").open("w")
    # --speed 0.001: the pools settle at start and then barely move, so Prometheus and
    # the exporter's own /metrics can be compared value for value.
    process = subprocess.Popen(
        [sys.executable, "-c", "from exporter.cli import main; main()", "simulate",
         "--nodes", str(NODES), "--listen", f"127.0.0.1:{port}", "--speed", "0.001"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0  # clean shutdown on SIGTERM
        log.close()


def engine_values(address: str) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(f"http://{address}/metrics") as reply:
        text = reply.read().decode()
    return {
        (s.name, s.labels["node"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name in CORE
    }


def test_prometheus_scrapes_every_node_with_the_engines_values(
    exporter: str, tmp_path: Path
) -> None:
    with prometheus(tmp_path, scrape=exporter) as url, requests.Session() as session:
        prom = PrometheusConnect(url=url, session=session)
        deadline = time.monotonic() + 60
        while True:  # two scrapes at least
            up = prom.custom_query('count_over_time(up{job="eni-exporter"}[5m])')
            if up and float(up[0]["value"][1]) >= 2:
                break
            assert time.monotonic() < deadline, "Prometheus did not scrape twice in 60s"
            time.sleep(0.5)
        assert float(prom.custom_query('up{job="eni-exporter"}')[0]["value"][1]) == 1
        engine = engine_values(exporter)
        for name in CORE:
            series = prom.custom_query(name)
            got = {s["metric"]["node"]: float(s["value"][1]) for s in series}
            assert len(got) == NODES, name
            for node, value in got.items():
                assert value == engine[(name, node)], (name, node)
        mismatch = prom.custom_query(
            "eni_pool_warm_slots != on(node, mode) (eni_pool_bound_slots - eni_pool_in_use_slots)"
        )
        assert mismatch == []
