"""`eni-tuner recommend` on a cluster scraped for a short while: each node's history is
the time scraped, not the asked window; the targets in force are the exporter's
(`eni-exporter simulate --ip-min-warm-target 3 --ip-max-warm-target 7`), and nothing
is recommended above the published max-attach."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from support.prom import free_port, prometheus, wait_http
from tuner.cli import cli

pytestmark = pytest.mark.prometheus
SCRAPED = 30.0
"""Seconds of scraping before the tuner reads."""


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, float]]:
    port = free_port()
    work = tmp_path_factory.mktemp("scraped")
    log = (work / "exporter.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", "from exporter.cli import main; main()", "simulate",
         "--nodes", "10", "--listen", f"127.0.0.1:{port}", "--speed", "600",
         "--ip-min-warm-target", "3", "--ip-max-warm-target", "7"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz")
        with prometheus(work, scrape=f"127.0.0.1:{port}") as url:
            began = time.time()
            time.sleep(SCRAPED)
            yield url, time.time() - began
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def recommend(url: str, *args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["recommend", "--prometheus-url", url, "--start", "-1h",
                                      "--step", "1", *args, "-o", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output + repr(result.exception)
    document: list[dict[str, Any]] = json.loads(result.stdout)
    return document


def test_minutes_of_scraping_change_nothing(scraped: tuple[str, float]) -> None:
    url, seconds = scraped
    recs = recommend(url, "--mode", "route-eni")
    assert recs
    for rec in recs:
        assert rec["history_hours"] <= seconds / 3600.0
        assert rec["status"] == "insufficient_history"
        assert rec["current"] == {"min_warm": 3, "max_warm": 7}
        assert (rec["min_warm"], rec["max_warm"]) == (3, 7) and rec["kubectl"] is None


def test_with_the_guards_lowered_never_above_max_attach(scraped: tuple[str, float]) -> None:
    url, _ = scraped
    caps = _max_attach(url)
    recs = recommend(url, "--min-history", "0", "--min-pod-starts", "1",
                     "--max-cold-start-rate", "0.01%")  # fmt: skip
    assert {rec["mode"] for rec in recs} == {"route-eni", "direct-eni"}  # every pool
    for rec in recs:
        assert rec["max_warm"] <= caps[rec["node"], rec["mode"]], rec


def test_direct_eni_nodes_keep_their_defaults(scraped: tuple[str, float]) -> None:
    url, _ = scraped
    recs = recommend(url, "--mode", "direct-eni")
    assert recs
    for rec in recs:
        assert rec["current"] == {"min_warm": 1, "max_warm": 1}


def _max_attach(url: str) -> dict[tuple[str, str], int]:
    query = urllib.parse.urlencode({"query": "eni_pool_max_attach_slots"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}") as reply:
        data = json.load(reply)["data"]["result"]
    return {(r["metric"]["node"], r["metric"]["mode"]): int(float(r["value"][1])) for r in data}
