"""A batch of replay runs as the compiled kernel takes and returns it.

A *run* replays one node's rows of the trace under one set of targets; the kernel
(:func:`pool_engine.kernel.run_all`) takes a batch of them as named tuples of
arrays (numba compiles them like plain arguments) and returns every run's
statistics by name.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Rows(NamedTuple):
    """The trace rows, grouped by node; within a node sorted by time, ties in file order."""

    times: np.ndarray
    """float64 seconds from trace start."""
    kinds: np.ndarray
    """int8 :data:`pool_engine.events.START` or :data:`pool_engine.events.STOP`."""


class Runs(NamedTuple):
    """One element per run (int64 arrays): its slice of the rows and its pool."""

    lo: np.ndarray
    hi: np.ndarray
    """The run replays rows ``lo:hi``."""
    min_warm: np.ndarray
    max_warm: np.ndarray
    capacity: np.ndarray
    """C, the max bindable slots (:data:`pool_engine.policy.UNLIMITED` for none)."""
    holding: np.ndarray
    """Pods already holding slots when the run starts (history that begins mid-flight)."""
    wait_offset: np.ndarray
    """Where each run's waits go in the shared array (:func:`wait_offsets`; one
    element more than runs)."""


class Knobs(NamedTuple):
    """What every run shares."""

    bind_latency: float
    interval: float
    """Seconds between release rounds."""
    quick: bool
    """Quick release (every excess idle slot per round) or slow (one)."""
    end: float
    """The replay stops at this time."""
    record: bool
    """Record the timeline."""
    bucket_seconds: float
    n_buckets: int
    """With ``n_buckets > 0``, count starts and cold starts per ``bucket_seconds``."""


class RunStats(NamedTuple):
    """Statistics of every run, one array element per run (the names of simulate's JSON)."""

    pod_starts: np.ndarray
    warm_hits: np.ndarray
    cold_starts: np.ndarray
    wait_seconds_sum: np.ndarray
    wait_seconds_max: np.ndarray
    wait_seconds_p99: np.ndarray
    idle_slot_seconds: np.ndarray
    bound_slot_seconds: np.ndarray
    bind_ops: np.ndarray
    release_ops: np.ndarray
    peak_bound: np.ndarray
    ignored_events: np.ndarray
    served: np.ndarray
    """Cold-started pods that got a slot by the end (their waits are recorded)."""


class Replayed(NamedTuple):
    """What :func:`run_all` returns."""

    stats: RunStats
    waits: np.ndarray
    """Run r's sorted waits are ``waits[wait_offset[r]:wait_offset[r] + served[r]]``."""
    timeline_t: np.ndarray
    """With ``record``: the time of every change, ..."""
    timeline_i: np.ndarray
    """... and (run, bound, in_use, waiting) then."""
    buckets: np.ndarray
    """(runs, buckets, 2): pod starts and cold starts per time bucket."""
