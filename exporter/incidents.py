"""Exceptions the exporter survived: each one is logged, counted by where it struck
(``eni_pool_engine_errors_total{where}``, docs/contracts/metrics.md), and the loop,
thread or write it struck goes on. Nothing in cluster mode lets an exception end the
engine loop, a watch, the Lease loop or the writer of Events and node records.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

from prometheus_client import Counter

from pool_engine.errors import PoolEngineError

log = logging.getLogger(__name__)


class Where(enum.StrEnum):
    """Where an exception struck: the ``where`` label."""

    WATCH = "watch"
    """A list or watch of Nodes, Pods or NEC objects failed, or an object was unreadable."""
    STEP = "step"
    """Applying a change to the pools, or an engine step, raised."""
    EVENT = "event"
    """A Kubernetes Event could not be posted."""
    PERSIST = "persist"
    """A node's record could not be written to its NEC object."""
    LEASE = "lease"
    """Reading or writing the Lease failed."""


class Incidents:
    """Counts what the exporter survived; every label value exists from the start at 0."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        for where in Where:
            counter.labels(where.value)

    def survived(self, where: Where, error: BaseException, doing: str = "") -> None:
        """Log ``error`` (ours on one line, a foreign one with its traceback) and count it."""
        context = f" while {doing}" if doing else ""
        if isinstance(error, PoolEngineError):
            log.warning("%s error%s: %s", where, context, error)
        else:
            log.error("%s error%s: %r", where, context, error, exc_info=error)
        self.count(where)

    def count(self, where: Where) -> None:
        """Count a failure that was already logged where it happened."""
        self._counter.labels(where.value).inc()

    def reporter(self, where: Where) -> Callable[[BaseException], None]:
        """``survived`` for one place, as a callback."""
        return lambda error: self.survived(where, error)

    def counter(self, where: Where) -> Callable[[BaseException], None]:
        """``count`` for one place that logs its own failures, as a callback."""
        return lambda error: self.count(where)
