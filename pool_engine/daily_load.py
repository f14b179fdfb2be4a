"""Daily structure in the workload: recurring jobs, business-hours services and morning
scale-ups, the load a time-of-day schedule is for (``eni-exporter simulate --workload
daily``, mixed with the background churn of :mod:`pool_engine.background`).

Time is seconds from 00:00 UTC of day 0, so the hour of day of ``t`` is
``floor((t mod 86400) / 3600)``. Day 0 is the epoch's, a Thursday, as the tuner reads a
numeric trace (:func:`tuner.recurrence.weekdays`): days 2, 3, 9, 10, ... are the weekend.
(The background churn's milder weekend dip falls on days 5 and 6 of each week; it is
kept as it was so that the steady workload is unchanged.) Each node's :class:`Routine`
is drawn once from the seed and holds every day of the run; only jitter and per-day
counts are drawn per day, from (seed, node, day), so a day's pods do not depend on how
the run is cut into chunks: a chunk has the pods that start in it, each with its own
stop, also when that falls in a later chunk.

- **Daily jobs** (70 % of nodes, one or two each): a job of 10–40 pods (at most four a
  core) starting at a fixed UTC time each day — mostly at night, e.g. a 02:00 ETL —
  all its pods launched within 10 s, running 10–60 minutes. Half the jobs start a few
  minutes late some days (jitter up to 1–5 minutes); 30 % skip weekends.
- **Business-hours services** (35 % of nodes): a CI/dev service that scales up at
  07:00–09:00 on weekdays (4 plus up to 2 a core replicas, within 10 minutes), runs CI pods
  of 3–15 minutes at 10–40 an hour while open, and scales down at 18:00–20:00: quiet at
  night and at weekends.
- **Morning scale-ups** (30 % of nodes): a deployment that adds 5–20 replicas at
  06:00–09:00 (within 5 minutes) and removes them at 21:00–23:00; half of them on
  weekdays only.

A routine's pods run on their node (a node selector on a pool whose room is kept for
them): the scheduler model of :mod:`pool_engine.placement` places only the background
churn, so the daily workload is the steady one, pod for pod, plus the routines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY = 86400.0
HOUR = 3600.0
MINUTE = 60.0


def is_weekend(day: int) -> bool:
    """Saturday or Sunday, day 0 being 1970-01-01, a Thursday."""
    return (day + 3) % 7 >= 5


@dataclass(frozen=True)
class DailyJob:
    """A job that starts at ``at`` seconds past 00:00 UTC every day it runs."""

    at: float
    pods: int
    duration: float
    """Seconds its pods run (each pod 80–100 % of it)."""
    jitter: float
    """Its start is up to this many seconds late, drawn per day (0: always on time)."""
    weekdays_only: bool


@dataclass(frozen=True)
class Window:
    """A set of replicas up from ``up`` to ``down`` seconds past 00:00 UTC each day."""

    up: float
    down: float
    replicas: int
    ramp: float
    """The replicas start (and stop) spread over this many seconds."""
    weekdays_only: bool
    ci_per_hour: float = 0.0
    """Short CI pods (3–15 minutes) arriving while the window is up."""


@dataclass(frozen=True)
class Routine:
    """One node's daily structure."""

    jobs: tuple[DailyJob, ...]
    windows: tuple[Window, ...]

    def pods(self, rng_of_day: RngOfDay, origin: float, horizon: float) -> DailyPods:
        """Every pod that starts in [origin, origin + horizon), in local time (seconds
        from ``origin``), with its stop, which may come after the horizon (the next
        chunk's rows hold it: :mod:`pool_engine.podtable`)."""
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        first, last = int(origin // DAY), int((origin + horizon) // DAY)
        for day in range(first, last + 1):
            rng = rng_of_day(day)
            midnight = day * DAY - origin
            for job in self.jobs:
                if not (job.weekdays_only and is_weekend(day)):
                    parts.append(_job_pods(rng, job, midnight))
            for window in self.windows:
                if not (window.weekdays_only and is_weekend(day)):
                    parts.append(_window_pods(rng, window, midnight))
        if not parts:
            return DailyPods(np.empty(0), np.empty(0))
        starts = np.concatenate([p[0] for p in parts])
        stops = np.concatenate([p[1] for p in parts])
        keep = (starts >= 0.0) & (starts < horizon)
        return DailyPods(np.round(starts[keep], 3), np.round(stops[keep], 3))


@dataclass(frozen=True)
class DailyPods:
    """(start, stop) of each pod."""

    starts: np.ndarray
    stops: np.ndarray


class RngOfDay:
    """The generator of one node's draws on one absolute day."""

    def __init__(self, seed: int, node: int) -> None:
        self.seed, self.node = seed, node

    def __call__(self, day: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, 8, self.node, day])


def routines(seed: int, cores: np.ndarray) -> list[Routine]:
    """Each node's routine (``cores`` per node), drawn from the seed alone."""
    out = []
    for k, size in enumerate(cores):
        rng = np.random.default_rng([seed, 7, k])
        most = max(3, 4 * int(size))
        jobs = tuple(_draw_job(rng, most) for _ in range(_job_count(rng)))
        windows: list[Window] = []
        if rng.uniform() < 0.35:
            up = float(rng.integers(7, 10)) * HOUR
            windows.append(Window(up, float(rng.integers(18, 21)) * HOUR,
                                  replicas=min(most, int(rng.integers(4, 2 * size + 5))),
                                  ramp=10 * MINUTE, weekdays_only=True,
                                  ci_per_hour=float(rng.uniform(10.0, 40.0))))  # fmt: skip
        if rng.uniform() < 0.3:
            windows.append(Window(float(rng.integers(6 * 4, 9 * 4)) * 15 * MINUTE,
                                  float(rng.integers(21, 24)) * HOUR,
                                  replicas=min(most, int(rng.integers(5, 21))),
                                  ramp=5 * MINUTE,
                                  weekdays_only=bool(rng.uniform() < 0.5)))  # fmt: skip
        out.append(Routine(jobs, tuple(windows)))
    return out


def _job_count(rng: np.random.Generator) -> int:
    return int(rng.choice(3, p=[0.3, 0.5, 0.2]))


NIGHT_HOURS = np.arange(0, 6)


def _draw_job(rng: np.random.Generator, most: int) -> DailyJob:
    """Mostly at night (60 %: 00:00–05:59), else any hour; on a quarter hour."""
    hour = int(rng.choice(NIGHT_HOURS)) if rng.uniform() < 0.6 else int(rng.integers(0, 24))
    at = hour * HOUR + float(rng.integers(0, 4)) * 15 * MINUTE
    jitter = float(rng.uniform(1.0, 5.0)) * MINUTE if rng.uniform() < 0.5 else 0.0
    return DailyJob(at, pods=min(most, int(rng.integers(10, 41))),
                    duration=float(rng.uniform(10.0, 60.0)) * MINUTE, jitter=jitter,
                    weekdays_only=bool(rng.uniform() < 0.3))  # fmt: skip


def _job_pods(
    rng: np.random.Generator, job: DailyJob, midnight: float
) -> tuple[np.ndarray, np.ndarray]:
    begin = midnight + job.at + (rng.uniform(0.0, job.jitter) if job.jitter else 0.0)
    starts = begin + rng.uniform(0.0, 10.0, job.pods)
    stops = starts + job.duration * rng.uniform(0.8, 1.0, job.pods)
    return starts, stops


def _window_pods(
    rng: np.random.Generator, window: Window, midnight: float
) -> tuple[np.ndarray, np.ndarray]:
    up, down = midnight + window.up, midnight + window.down
    starts = up + rng.uniform(0.0, window.ramp, window.replicas)
    stops = down + rng.uniform(0.0, window.ramp, window.replicas)
    if window.ci_per_hour > 0:
        n = int(rng.poisson(window.ci_per_hour * (down - up) / HOUR))
        ci = np.sort(rng.uniform(up, down, n))
        starts = np.concatenate((starts, ci))
        stops = np.concatenate((stops, ci + rng.uniform(3.0, 15.0, n) * MINUTE))
    return starts, stops
