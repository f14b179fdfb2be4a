"""Churn history for analysis: a trace, with pods present at its first instant set aside.

docs/contracts/trace.md: for analysis (not for ``simulate``), ``start`` rows at the trace's
first instant are pods that already existed when the history begins, not arrivals.
They become each node's initial holders, and the replays start from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pool_engine.events import START
from pool_engine.trace import Trace, load_trace


@dataclass(frozen=True)
class History:
    """Per node: arrivals and stops after the first instant, and the pods already there."""

    trace: Trace
    existing: np.ndarray
    """Pods present at the first instant, per node (index as ``trace.nodes``)."""

    @property
    def nodes(self) -> list[str]:
        return self.trace.nodes

    @property
    def hours(self) -> float:
        return self.trace.end / 3600.0

    def arrivals(self) -> np.ndarray:
        """Pod starts per node, existing pods excluded."""
        starts = np.concatenate(([0], np.cumsum(self.trace.kinds == START)))
        per_node: np.ndarray = starts[self.trace.offsets[1:]] - starts[self.trace.offsets[:-1]]
        return per_node


def from_trace(trace: Trace) -> History:
    """Split a trace into existing pods (start rows at its first instant) and the rest."""
    if trace.events == 0:
        return History(trace, np.zeros(len(trace.nodes), dtype=np.int64))
    first = float(trace.times.min())
    existing_row = (trace.times == first) & (trace.kinds == START)
    keep = ~existing_row
    node_of_row = np.repeat(np.arange(len(trace.nodes)), np.diff(trace.offsets))
    existing = np.bincount(node_of_row[existing_row], minlength=len(trace.nodes))
    kept_per_node = np.bincount(node_of_row[keep], minlength=len(trace.nodes))
    offsets = np.concatenate(([0], np.cumsum(kept_per_node))).astype(np.int64)
    rest = Trace(
        trace.nodes, trace.times[keep], trace.kinds[keep], offsets, trace.end, trace.origin
    )
    return History(rest, existing.astype(np.int64))


def load_history(path: str | Path) -> History:
    return from_trace(load_trace(path))
