"""Where the churn history comes from: a trace file, or Prometheus over a time window.

Either is a frozen value with one method, :meth:`load`, returning a
:class:`tuner.history.History`; :mod:`tuner.options` builds them from
``--trace`` or ``--prometheus-url`` and its window and connection flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pool_engine.config import Mode
from tuner.history import History, load_history
from tuner.queries import MetricsSource, churn_queries, state_queries
from tuner.window import Window

if TYPE_CHECKING:  # the Prometheus client (and pandas) load when a history is pulled
    from tuner.prometheus import PrometheusSource


@dataclass(frozen=True)
class TraceHistory:
    """History from a churn trace file (``--trace``)."""

    path: Path
    """CSV or Parquet time,node,event."""

    def load(self, mode: Mode) -> History:
        """The trace's rows of ``mode``'s pool, its pods at the first instant set aside."""
        return load_history(self.path, mode)


@dataclass(frozen=True)
class PrometheusHistory:
    """History from Prometheus range queries (``--prometheus-url``)."""

    server: PrometheusSource
    """How to reach the server."""
    metrics: MetricsSource
    """Which metrics hold the churn."""
    window: Window
    """Which span of history, at what step."""

    def load(self, mode: Mode) -> History:
        """Churn per node of ``mode``'s pool; HistoryUnavailable if it cannot be read."""
        queries = churn_queries(self.metrics, self.window.step, mode.value)
        t0, t1 = self.window.bounds()
        seconds = max(int(t1 - t0), self.window.step)
        state = state_queries(self.metrics, seconds, self.window.step, mode.value)
        from tuner import prometheus

        return prometheus.load(self.server, queries, self.window, state=state, pool=mode.value)


HistorySource = TraceHistory | PrometheusHistory
"""One of the two; callers use :meth:`load`."""
