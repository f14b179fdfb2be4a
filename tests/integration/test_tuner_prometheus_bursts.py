"""Pod starts read from Prometheus are placed in their step by the exporter's burst
counters (tuner/within_step.py), not all at the step's end: at the default 30 s step
a node with a pod every 10 s read as bursts of three and got three warm slots where
one serves (2.2x the idle of the exact history on the simulated daily cluster,
bench/bench_step_placement.py). One day backfilled into a real Prometheus, counted
with the engine's own rule (``PoolCounters.started``):

- ``steady``: every hour a pod every 10 s for half an hour, then one stop every 10 s;
- ``twos``: as ``steady`` for a quarter of an hour, two pods half a second apart;
- ``bursty``: 20 pods within a second at 7 past every hour, each for 30 minutes;
- ``old``: ``steady``'s pods from an exporter without the burst counters;
- ``restarted``: ``steady``'s pods from an exporter that restarts at midday (every
  counter from 0 again).

Each node's recommendation from Prometheus is compared with the one from the exact
trace of the same pods.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pool_engine.config import Mode
from pool_engine.counters import PoolCounters
from support.prom import recommend_json, served_backfill, write_pool_gauges

pytestmark = pytest.mark.prometheus
STEP = 30
DAY = 86400


def pods(node: str) -> list[tuple[float, float]]:
    """(start, stop) of each pod, seconds from the day's start."""
    if node == "bursty":
        return [(3600.0 * h + 420.0 + 0.05 * i, 3600.0 * h + 2220.0 + 0.05 * i)
                for h in range(24) for i in range(20)]  # fmt: skip
    if node == "twos":  # as steady, two pods half a second apart every 10 s
        return [(3600.0 * h + 5.0 + 10.0 * i + d, 3600.0 * h + 1805.0 + 10.0 * i + d)
                for h in range(24) for i in range(90) for d in (0.0, 0.5)]  # fmt: skip
    # every hour: a pod every 10 s for half an hour, then one stops every 10 s
    return [(3600.0 * h + 5.0 + 10.0 * i, 3600.0 * h + 1805.0 + 10.0 * i)
            for h in range(24) for i in range(180)]  # fmt: skip


NODES = ("steady", "twos", "bursty", "old", "restarted")
RESTART = DAY // STEP // 2 + 7
"""The step at which ``restarted``'s exporter restarts (inside an hour's starts)."""


def events(node: str) -> list[tuple[float, str]]:
    rows = [(a, "start") for a, _ in pods(node)] + [(b, "stop") for _, b in pods(node)]
    return sorted(rows)


def write_openmetrics(path: Path, t0: int) -> None:
    cumulative: dict[str, list[tuple[int, int, int, int]]] = {}
    for node in NODES:
        counters, stops, at, points = PoolCounters(), 0, 0, []
        rows = events(node)
        for k in range(DAY // STEP + 1):
            if node == "restarted" and k == RESTART:  # a new process counts from 0
                counters, stops = PoolCounters(), 0
            while at < len(rows) and rows[at][0] <= k * STEP:
                t, kind = rows[at]
                if kind == "start":
                    counters.started(Mode.ROUTE_ENI, t)
                else:
                    stops += 1
                at += 1
            points.append((counters.pod_starts, stops, counters.pod_start_bursts,
                           counters.pod_start_pairs))  # fmt: skip
        cumulative[node] = points
    families = [("eni_pool_pod_starts", 0), ("eni_pool_pod_stops", 1),
                ("eni_pool_pod_start_bursts", 2), ("eni_pool_pod_start_pairs", 3)]  # fmt: skip
    with path.open("w") as out:
        for family, which in families:
            out.write(f"# TYPE {family} counter\n")
            for node, points in cumulative.items():
                if node == "old" and which >= 2:
                    continue  # an exporter from before the burst counters
                for k, values in enumerate(points):
                    labels = f'node="{node}",mode="route-eni"'
                    out.write(f"{family}_total{{{labels}}} {values[which]} {t0 + k * STEP}\n")
        labels = [f'node="{node}",mode="route-eni"' for node in NODES]
        write_pool_gauges(out, labels, t0, STEP, DAY // STEP)
        out.write("# EOF\n")


served = served_backfill("bursts", write_openmetrics)


def test_starts_are_placed_by_the_burst_counters(
    served: tuple[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    url, t0 = served
    start = datetime.fromtimestamp(t0, UTC).isoformat()
    end = datetime.fromtimestamp(t0 + DAY, UTC).isoformat()
    scraped = recommend_json(monkeypatch, capsys, "--prometheus-url", url, "--start", start, "--end", end,
                  "--step", str(STEP))  # fmt: skip
    trace = tmp_path / "exact.csv"
    # the row at 0 keeps the nodes' first starts starts (a trace's first instant holds
    # the pods that already existed)
    rows = [f"{t:.3f},{node},{kind}\n" for node in NODES[:3] for t, kind in events(node)]
    trace.write_text("time,node,event\n0,marker,stop\n" + "".join(rows))
    exact = recommend_json(monkeypatch, capsys, "--trace", str(trace))

    def pair(rec: dict[str, Any]) -> tuple[int, int]:
        return rec["min_warm"], rec["max_warm"]

    for node in NODES[:3]:
        assert scraped[node]["pod_starts"] == exact[node]["pod_starts"], node
    # a pod every 10 s: one warm slot serves, as in the exact history (step ends: 3)
    assert pair(scraped["steady"]) == pair(exact["steady"])
    assert scraped["steady"]["lead_time_demand_p99"] == exact["steady"]["lead_time_demand_p99"]
    # bursts of two, three to a step: read as three bursts of two by the pair counter
    # (without it, two singles and a burst of four: 4/4)
    assert pair(scraped["twos"]) == pair(exact["twos"]) == (2, 2)
    # a burst of 20 within a second stays a burst of 20: never spread over the step
    assert scraped["bursty"]["lead_time_demand_p99"] == exact["bursty"]["lead_time_demand_p99"]
    assert exact["bursty"]["lead_time_demand_p99"] == 20
    assert scraped["bursty"]["min_warm"] >= 16  # 4 cold starts a day at 16 (0.8 %), more below
    # a restart resets every counter: the reset clause reads each from 0 again
    restarted = scraped["restarted"]
    assert restarted["pod_starts"] == scraped["steady"]["pod_starts"]
    assert pair(restarted) == pair(scraped["steady"]), restarted["reason"]
    # without the counters (an older exporter): the step's starts at its end, as before
    assert scraped["old"]["pod_starts"] == scraped["steady"]["pod_starts"]
    assert scraped["old"]["min_warm"] > scraped["steady"]["min_warm"], scraped["old"]["reason"]
