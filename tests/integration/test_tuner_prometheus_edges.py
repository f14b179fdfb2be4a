"""Two edges of the exporter history backfilled into a real Prometheus (three hours):

- a window that starts off the whole second (``--start -7d`` is now minus seven days,
  microseconds included): the pods at its start are read there, but the client sends
  the range queries' bounds rounded to the second, so a scrape between the two
  instants was counted twice (its pod as existing and as a start) or not at all;
- a node whose name holds a double quote, arriving inside the window: its name went
  unescaped into the arrivals query's PromQL string, which Prometheus refused (400),
  and the whole history was unavailable for one label.

Each node runs 3 pods from before its first scrape; one more starts 5 s before the
window's start (scraped 0.1 s before it, after its whole second) and one at 2.5 h.
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
HOUR = 3600
SCRAPE = 15
START_AT = 2 * HOUR + 0.3
"""The window's start, seconds into the data: off the whole second."""
FIRST = {"early": 0.2, 'q"uote\\d': 2 * HOUR + 600.2}
"""Each node's first scrape (a fifth of a second past the second, as real scrapes are)."""
STARTS = (2 * HOUR - 5.0, 2.5 * HOUR)
PODS = 3
GAUGES = (("eni_pool_min_warm_target", 5), ("eni_pool_max_warm_target", 5),
          ("eni_pool_waiting_pods", 0))  # fmt: skip


def write_openmetrics(path: Path, t0: int) -> None:
    rows: dict[str, list[str]] = {}
    for node, first in FIRST.items():
        name = node.replace("\\", "\\\\").replace('"', '\\"')
        labels = f'node="{name}",mode="route-eni"'
        t = first
        while t <= 3 * HOUR:
            started = sum(1 for s in STARTS if first < s <= t)  # counted from the first scrape
            pods = PODS + sum(1 for s in STARTS if s <= t)
            values = [("eni_pool_pod_starts_total", started), ("eni_pool_pod_stops_total", 0),
                      ("eni_pool_in_use_slots", pods), *GAUGES]  # fmt: skip
            for family, value in values:
                rows.setdefault(family, []).append(f"{family}{{{labels}}} {value} {t0 + t:.3f}")
            t += SCRAPE
    with path.open("w") as out:
        for family, lines in rows.items():
            kind = "counter" if family.endswith("_total") else "gauge"
            out.write(f"# TYPE {family.removesuffix('_total')} {kind}\n")
            out.write("\n".join(lines) + "\n")
        out.write("# EOF\n")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    with backfilled_past(tmp_path_factory.mktemp("edges"), write_openmetrics) as (url, t0):
        window = Window(datetime.fromtimestamp(t0 + START_AT, UTC),
                        datetime.fromtimestamp(t0 + 3 * HOUR, UTC), 30)  # fmt: skip
        source = PrometheusHistory(PrometheusSource(url), MetricsSource.EXPORTER, window)
        yield source.load(Mode.ROUTE_ENI)


@pytest.mark.parametrize("node", sorted(FIRST))
def test_each_pod_is_existing_or_a_start_never_both(history: History, node: str) -> None:
    k = history.nodes.index(node)
    _, kinds = history.trace.node_rows(k)
    starts = int((kinds == START).sum())
    assert int(history.existing[k]) + starts == PODS + len(STARTS)
    assert starts >= 1  # the one at 2.5 h
    assert not (kinds != START).any()


def test_the_history_starts_on_a_whole_second(history: History) -> None:
    assert history.trace.origin.microsecond == 0
    assert np.all(history.trace.times >= 0)
