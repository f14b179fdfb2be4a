"""tuner.prometheus: answers that are no counts are dropped and counted, never expanded;
tuner.prometheus_counts: a history too big is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pool_engine.errors import HistoryUnavailable
from tuner import prometheus_counts
from tuner.prometheus_answers import Dropped


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
