"""Pods already on a node when its exporter's series begin inside the window are the
node's existing pods, as pods on a node at the window's start are.

The common case: Prometheus was scraping before the exporter (or the node) came, so
the window asked for begins before the node's first sample, and the pods started
before that first scrape are in its gauges but in no counted step (the step in which a
series is new is left out, tuner/queries.py). Read as nothing, their later stops were
stops of pods never started: dropped by the replay, and the node's history held fewer
pods than it ran. One day backfilled into a real Prometheus:

- ``early``: its exporter is scraped from the window's start, 12 pods on it then;
- ``late``: its exporter's first scrape comes 6 h 10 s into the window (off the
  step grid), with 12 pods started before it;
- both: the 12 pods stop one every 10 minutes from 7 h, and from 9 h every hour 6 pods
  start at 7 past and stop at 37 past.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from pool_engine.config import Mode
from pool_engine.events import START
from support.prom import backfilled_past
from tuner.history import History
from tuner.prometheus import PrometheusSource
from tuner.queries import MetricsSource
from tuner.sources import PrometheusHistory
from tuner.window import Window

pytestmark = pytest.mark.prometheus
STEP = 30
SCRAPE = 15
DAY = 86400
HOUR = 3600
EXISTING = 12
FIRST = {"early": 0, "late": 6 * HOUR + 10}
"""Each node's first scrape, seconds into the day."""
GAUGES = (("eni_pool_min_warm_target", 5), ("eni_pool_max_warm_target", 5),
          ("eni_pool_waiting_pods", 0))  # fmt: skip


def events() -> list[tuple[float, str]]:
    """(time, start|stop) after the first scrape; the 12 pods before it are running."""
    rows = [(7 * HOUR + 600.0 * i, "stop") for i in range(EXISTING)]
    for h in range(9, 24):
        rows += [(h * HOUR + 420.0 + i, "start") for i in range(6)]
        rows += [(h * HOUR + 2220.0 + i, "stop") for i in range(6)]
    return sorted(rows)


def write_openmetrics(path: Path, t0: int) -> None:
    rows = events()
    series: dict[str, list[str]] = {"starts": [], "stops": [], "in_use": [], "gauges": []}
    for node, first in FIRST.items():
        labels = f'node="{node}",mode="route-eni"'
        starts, stops, at = EXISTING, 0, 0  # the 12 started before the first scrape
        for t in range(first, DAY + 1, SCRAPE):
            while at < len(rows) and rows[at][0] <= t:
                if rows[at][1] == "start":
                    starts += 1
                else:
                    stops += 1
                at += 1
            stamp = t0 + t
            series["starts"].append(f"eni_pool_pod_starts_total{{{labels}}} {starts} {stamp}")
            series["stops"].append(f"eni_pool_pod_stops_total{{{labels}}} {stops} {stamp}")
            series["in_use"].append(f"eni_pool_in_use_slots{{{labels}}} {starts - stops} {stamp}")
            series["gauges"] += [
                f"{family}{{{labels}}} {value} {stamp}" for family, value in GAUGES
            ]
    with path.open("w") as out:
        out.write("# TYPE eni_pool_pod_starts counter\n")
        out.write("\n".join(series["starts"]) + "\n")
        out.write("# TYPE eni_pool_pod_stops counter\n")
        out.write("\n".join(series["stops"]) + "\n")
        out.write("# TYPE eni_pool_in_use_slots gauge\n")
        out.write("\n".join(series["in_use"]) + "\n")
        for family, _ in GAUGES:
            out.write(f"# TYPE {family} gauge\n")
            out.write("\n".join(s for s in series["gauges"] if s.startswith(family)) + "\n")
        out.write("# EOF\n")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    with backfilled_past(tmp_path_factory.mktemp("arrivals"), write_openmetrics) as (url, t0):
        # the window begins an hour before the day's data: no node has a sample there
        window = Window(datetime.fromtimestamp(t0 - HOUR, UTC),
                        datetime.fromtimestamp(t0 + DAY, UTC), STEP)  # fmt: skip
        source = PrometheusHistory(PrometheusSource(url), MetricsSource.EXPORTER, window)
        yield source.load(Mode.ROUTE_ENI)


@pytest.mark.parametrize("node", sorted(FIRST))
def test_pods_at_a_nodes_first_sample_are_its_existing_pods(history: History, node: str) -> None:
    k = history.nodes.index(node)
    assert history.existing[k] == EXISTING
    _, kinds = history.trace.node_rows(k)
    running = EXISTING + np.cumsum(np.where(kinds == START, 1, -1))
    assert running.min() == 0  # every stop is of a pod the history holds
    assert int((kinds == START).sum()) == 15 * 6  # the pods before the first scrape are no starts
    assert int((kinds != START).sum()) == EXISTING + 15 * 6


def test_a_late_nodes_history_begins_at_its_first_step(history: History) -> None:
    """Found to the step, not to the first-sample subquery's resolution (the window / 250:
    6 minutes here), so a node that came late is not given less history than it has."""
    assert history.first is not None
    truth = HOUR + FIRST["late"]  # seconds from the window's start
    late = history.first[history.nodes.index("late")]
    assert truth <= late < truth + STEP
