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
    table: np.ndarray
    """The run's row of ``hourly`` when its targets follow a schedule; -1 when
    ``min_warm``/``max_warm`` hold all day."""
    hourly: np.ndarray
    """(schedules, 24, 2): (min_warm, max_warm) per UTC hour of day of each schedule
    the runs share (docs/contracts/schedules.md)."""
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
    """With ``n_buckets > 0``, fill :attr:`Replayed.buckets` per ``bucket_seconds``."""
    bucket_offset: float
    """Bucket b covers replay times [b * bucket_seconds - bucket_offset, (b + 1) *
    bucket_seconds - bucket_offset): 0 counts from time 0, the day offset with
    ``bucket_seconds`` 3600 aligns buckets to UTC hours."""
    day_offset: float
    """Seconds past 00:00 UTC of time 0 (:meth:`pool_engine.trace.Trace.day_offset`):
    where the hours of day of schedules fall."""
    count_from: float = 0.0
    """Statistics count from this replay time on (docs/contracts/simulation.md,
    ``--count-from``): what comes before it still shapes the pool but is not counted."""


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
    """(runs, buckets, 4) float64, per time bucket: pod starts, cold starts, idle
    slot-seconds and seconds waited by the pods that started in it and got a slot
    (:data:`BUCKET_COLUMNS`)."""


BUCKET_COLUMNS = ("pod_starts", "cold_starts", "idle_slot_seconds", "wait_seconds")
"""What the columns of :attr:`Replayed.buckets` count, in order."""
