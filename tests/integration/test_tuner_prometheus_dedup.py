"""The exporter's counters read from Prometheus as they are in real setups (adversarial
review, session 5): one exporter scraped by two jobs (a ServiceMonitor and annotation
scraping) gives every node two identical series, which doubled its churn and its
recommendation; an exporter restart resets its counters, which dropped the events of
that step. One day at 60 s steps, backfilled into a real Prometheus: node ``once``
scraped by one job, node ``twice`` by two (30 s apart: a max of per-series differences still counted
each pod twice), node ``reset`` whose counters restart from 0
at midday, and node ``idle`` with its series but no pod at all (it was left out); the
others see 4 pods start every 10 minutes and stop 5 minutes later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from support.prom import recommend_json, served_backfill, write_pool_gauges

pytestmark = pytest.mark.prometheus
STEP = 60
DAY = 86400
STEPS = DAY // STEP
RESET = STEPS // 2 + 1
"""Midday's step with starts: the restarted counters already hold 4 when first scraped."""


def counts(k: int) -> tuple[int, int]:
    """Cumulative (starts, stops) after step k."""
    return 4 * ((k + 9) // 10), 4 * ((k + 4) // 10)


def write_openmetrics(path: Path, t0: int) -> None:
    series = {"once": ["eni-exporter"], "twice": ["eni-exporter", "kubernetes-pods"],
              "reset": ["eni-exporter"], "idle": ["eni-exporter"]}  # fmt: skip
    with path.open("w") as out:
        for family, which in (("eni_pool_pod_starts", 0), ("eni_pool_pod_stops", 1)):
            out.write(f"# TYPE {family} counter\n")
            for node, jobs in series.items():
                for j, job in enumerate(jobs):
                    lag = 30 * j  # the second job scrapes half a step later
                    for k in range(STEPS + 1):
                        value = 0 if node == "idle" else counts(k)[which]
                        if node == "reset" and k >= RESET:  # a new process counts from 0
                            value = counts(k)[which] - counts(RESET - 1)[which]
                        labels = f'node="{node}",mode="route-eni",job="{job}"'
                        when = t0 + k * STEP + lag
                        out.write(f"{family}_total{{{labels}}} {value} {when}\n")
        labels = [f'node="{node}",mode="route-eni",job="{job}"'
                  for node, jobs in series.items() for job in jobs]  # fmt: skip
        write_pool_gauges(out, labels, t0, STEP, STEPS)
        out.write("# EOF\n")


served = served_backfill("dedup", write_openmetrics)


def recommend(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str,
              t0: int) -> dict[str, Any]:  # fmt: skip
    start = datetime.fromtimestamp(t0, UTC).isoformat()
    end = datetime.fromtimestamp(t0 + DAY, UTC).isoformat()
    return recommend_json(monkeypatch, capsys, "--prometheus-url", url, "--start", start,
                          "--end", end, "--step", str(STEP))  # fmt: skip


def test_a_node_scraped_twice_or_restarted_counts_each_pod_once(
    served: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, t0 = served
    recs = recommend(monkeypatch, capsys, url, t0)
    assert set(recs) == {"once", "twice", "reset", "idle"}  # idle: no churn, still a node
    assert recs["idle"]["pod_starts"] == 0 and recs["idle"]["history_hours"] > 23
    once = recs["once"]
    assert once["pod_starts"] == counts(STEPS)[0] - counts(0)[0]
    for node in ("twice", "reset"):
        assert recs[node]["pod_starts"] == once["pod_starts"], node
        assert (recs[node]["min_warm"], recs[node]["max_warm"]) == (
            once["min_warm"], once["max_warm"]), node  # fmt: skip
        assert recs[node]["lead_time_demand_p99"] == once["lead_time_demand_p99"], node
