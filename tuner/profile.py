"""A node's churn profile, beyond its pod-start count: how bursty, and when.

These describe the demand a pool must absorb (the base-stock view: min warm covers
the pod starts arriving within one bind latency) and feed the peer grouping of
:mod:`tuner.peers` for nodes with too little history of their own.
"""

from __future__ import annotations

import numpy as np

from pool_engine.events import START
from pool_engine.trace import Trace


def lead_time_demand(trace: Trace, latency: float) -> list[float]:
    """p99 of pod starts within one bind latency after each start, per node."""
    out = []
    for k in range(len(trace.nodes)):
        times, kinds = trace.node_rows(k)
        starts = times[kinds == START]
        if starts.size == 0:
            out.append(0.0)
            continue
        within = np.searchsorted(starts, starts + latency, side="right") - np.arange(starts.size)
        out.append(float(np.percentile(within, 99)))
    return out


def peak_hours(trace: Trace) -> tuple[list[int], list[float]]:
    """Per node: the hour of day with the most pod starts, and its share of them."""
    offset = 0.0
    if trace.origin is not None:
        origin = trace.origin
        offset = origin.hour * 3600.0 + origin.minute * 60.0 + origin.second
    peaks, shares = [], []
    for k in range(len(trace.nodes)):
        times, kinds = trace.node_rows(k)
        hours = (((times[kinds == START] + offset) // 3600.0) % 24).astype(np.int64)
        counts = np.bincount(hours, minlength=24)
        peaks.append(int(counts.argmax()) if hours.size else 0)
        shares.append(float(counts.max() / hours.size) if hours.size else 0.0)
    return peaks, shares
