"""tuner.prometheus: answers that are no counts are dropped and counted, never expanded;
tuner.prometheus_counts: a history too big is refused; tuner.prometheus_reads: a
counter's level is read where it went back, for the nodes that went back alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from prometheus_api_client import PrometheusConnect

from pool_engine.errors import HistoryUnavailable
from tuner import prometheus_counts
from tuner.prometheus_answers import Dropped
from tuner.prometheus_reads import went_back
from tuner.queries import exporter


def test_values_that_are_no_counts_are_dropped_and_counted() -> None:
    dropped = Dropped()
    bad = ["NaN", "+Inf", "-Inf", "-1", "1e300", "many", None, float("nan")]
    assert [dropped.number(v, 1500.0) for v in bad] == [None] * len(bad)
    assert dropped.values == len(bad)
    assert [dropped.number(v, 1500.0) for v in ("3", 0, "1500")] == [3.0, 0.0, 1500.0]
    assert dropped.values == len(bad)


def test_a_history_too_big_to_hold_is_refused_before_it_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prometheus_counts, "MAX_EVENTS", 10)
    starts = {"a": [(60.0, 6.0), (120.0, 6.0)]}
    with pytest.raises(HistoryUnavailable, match="12 pod starts and stops in the window"):
        prometheus_counts.counts_history(
            starts, {}, {}, 0.0, 180.0, datetime(2024, 1, 1, tzinfo=UTC)
        )


def test_a_counters_level_is_read_for_the_nodes_that_went_back_alone() -> None:
    """Found by an adversarial review (session 8): each instant where a counter went back
    read every node's level (9.4 ms a query on 1,000 nodes, 1.7 ms for two: every
    exporter restarting every 6 h made a day's history 30.7 s to read, 15.0 s before
    the levels were read apart), and a busy node's level, far above a step's count,
    was dropped and counted."""
    asked: list[tuple[str, float]] = []

    class Prom:
        def custom_query(self, query: str, params: dict[str, float]) -> list[dict[str, Any]]:
            at = params["time"]
            asked.append((query, at))
            return [{"metric": {"node": node}, "value": [at, value]}
                    for node, value in (("ip-10.0.0.1", "4"), ("busy", "10000"))]  # fmt: skip

    dropped = Dropped()
    back = {"starts": {120.0: ["ip-10.0.0.1"]}}
    prom = cast(PrometheusConnect, Prom())
    got = list(went_back(prom, exporter(60).levels, back, 1, dropped, 3000.0))
    assert got == [("starts", "ip-10.0.0.1", (120.0, 4.0))]
    assert dropped.values == 0
    counter = r'eni_pool_pod_starts_total{mode="route-eni",node=~"ip\\-10\\.0\\.0\\.1"}'
    assert asked == [(f"max by (node) ({counter})", 120.0)]
