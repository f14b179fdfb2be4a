"""kube-state-metrics lists every node running any pod in each pool (a node's pool is
known only by its pods' requests): `recommend` without --mode puts a node in a pool it
had a pod of in the window; a node with pods of neither stays a quiet route-eni node.
Session 9: every node of a cluster with any direct-eni pod came out in both pools."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pool_engine.config import Mode
from pool_engine.events import START
from pool_engine.trace import Trace
from tuner.history import History
from tuner.prometheus import PrometheusSource
from tuner.queries import MetricsSource
from tuner.settings import ObjectiveSettings
from tuner.sources import PrometheusHistory
from tuner.steps import pools
from tuner.window import Window

NODES = ["both", "direct", "idle", "route"]


def history(active: set[str]) -> History:
    """Every node listed; a start at 60 s on the ``active`` ones."""
    rows = [1 if n in active else 0 for n in NODES]
    trace = Trace(list(NODES), np.full(sum(rows), 60.0), np.full(sum(rows), START, np.int8),
                  np.concatenate(([0], np.cumsum(rows))).astype(np.int64), 3600.0)  # fmt: skip
    return History(trace, np.zeros(len(NODES), dtype=np.int64))


@pytest.mark.parametrize("metrics", list(MetricsSource))
def test_a_node_is_in_the_pools_it_had_pods_of(
    monkeypatch: pytest.MonkeyPatch, metrics: MetricsSource
) -> None:
    by_mode = {Mode.ROUTE_ENI: history({"both", "route"}),
               Mode.DIRECT_ENI: history({"both", "direct"})}  # fmt: skip
    monkeypatch.setattr(PrometheusHistory, "load", lambda self, mode: by_mode[mode])
    now = datetime.now(UTC)
    window = Window(now - timedelta(hours=1), now, 60)
    source = PrometheusHistory(PrometheusSource("http://127.0.0.1:9"), metrics, window)
    got = {o.mode: h.nodes if h else None for o, h in pools(source, ObjectiveSettings())}
    if metrics is MetricsSource.KUBE_STATE_METRICS:
        assert got == {
            Mode.ROUTE_ENI: ["both", "idle", "route"],
            Mode.DIRECT_ENI: ["both", "direct"],
        }
    else:  # the exporter publishes a pool's series only where the pool is
        assert got == {Mode.ROUTE_ENI: NODES, Mode.DIRECT_ENI: NODES}


def test_a_history_of_some_nodes_keeps_their_rows() -> None:
    whole = history({"both", "route"})
    part = whole.only(np.array([False, True, True, True]))
    assert part.nodes == ["direct", "idle", "route"]
    assert part.trace.offsets.tolist() == [0, 0, 0, 1] and part.arrivals().tolist() == [0, 0, 1]
    assert part.existing.tolist() == [0, 0, 0]
