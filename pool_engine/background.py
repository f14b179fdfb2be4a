"""The background churn of one node over one chunk of time: the four kinds of pods
:mod:`pool_engine.workload` gives every node (rates scale with node size, ``churn`` and
the node's :class:`Profile`):

- **services** under an HPA: Poisson arrivals whose rate follows a daily curve
  (peak in the afternoon, trough at night, weekends at 60 %), log-normal lifetimes
  (median 25 min, so an 8-core node runs ~20 of them at a time);
- **rollouts**: the node hosts two replicas each of a few deployments; a rollout
  replaces a deployment's pods in surge waves of one (a new pod every 45 s, the old
  one stopping 30 s later), about once a day per deployment;
- **batch bursts**: 10–40 pods inside 20 s, running 5–30 minutes;
- **cron fan-outs**: on the hour, 3–8 pods inside 5 s, running 30–120 s.

Times are seconds from the chunk's start, ``origin`` seconds into the history: the
daily curve and the cron's hours follow the history's clock, not the chunk's. What
begins in the chunk (an arrival, a burst, a rollout, a fan-out) is drawn whole, so
some pods start or stop after the chunk's end; the caller keeps them for the next
chunk. A chunk that continues a history takes the deployments' replicas running at its
start (``since``: when each started) and decides when a rollout replaces them; the
chunk that begins the history starts them at its time 0 and has no fan-out there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY = 86400.0
HOUR = 3600.0


@dataclass(frozen=True)
class Profile:
    """What a node mostly runs: multipliers on the churn components."""

    name: str
    services: float
    bursts: float
    cron: float
    rollouts: float = 1.0


PROFILES = (
    (Profile("steady", services=0.1, bursts=0.0, cron=0.0), 0.4),
    (Profile("mixed", services=1.0, bursts=1.0, cron=1.0), 0.4),
    (Profile("batch", services=1.0, bursts=3.0, cron=1.0), 0.2),
)


QUIET = Profile("quiet", services=0.0015, bursts=0.0, cron=0.0, rollouts=0.1)
"""A dedicated node: about one service pod a day and a rollout every few weeks."""


@dataclass(frozen=True)
class Background:
    """One node's background pods of a chunk: start and stop, seconds from the chunk's
    start (a stop is inf for a deployment's replica that no rollout replaced)."""

    starts: np.ndarray
    stops: np.ndarray
    replicas: np.ndarray
    """Indices of the replicas there at the chunk's start, slot by slot (two slots a
    deployment); their starts are ``since`` (or 0)."""
    holders: np.ndarray
    """Indices of the pods holding the slots at the chunk's end, slot by slot."""


def _replica_slots(cores: int) -> int:
    """Replicas of deployments a node of ``cores`` cores hosts (two each)."""
    return 2 * max(1, max(2, cores // 2) // 2)


def draw_background(rng: np.random.Generator, cores: int, profile: Profile, *,
                    horizon: float, origin: float, churn: float, curve: bool = True,
                    since: np.ndarray | None = None) -> Background:  # fmt: skip
    """A node's background pods of a chunk of ``horizon`` seconds. ``since``: when the
    replicas running at the chunk's start started (None: the history begins here)."""
    scale = churn * (cores / 8.0) ** 0.5
    begins = since is None
    if since is None:
        since = np.zeros(_replica_slots(cores))
    services = _services(rng, horizon, 0.5 / 60.0 * scale * profile.services, origin, curve)
    rollouts = _rollouts(rng, horizon, since, churn * profile.rollouts)
    parts = [
        services,
        rollouts[:2],
        _bursts(rng, horizon, per_day=2.0 * scale * profile.bursts),
        _cron(rng, horizon, min(1.0, 0.8 * churn * profile.cron), origin, begins),
    ]
    first = services[0].shape[0]  # the rollouts' pods come after the services'
    starts = np.concatenate([p[0] for p in parts])
    stops = np.concatenate([p[1] for p in parts])
    return Background(np.round(starts, 3), np.round(stops, 3),
                      first + np.arange(since.shape[0]), first + rollouts[2])  # fmt: skip


WEEKLY_MEAN_RATE = (5 + 2 * 0.6) / 7
"""The mean of :func:`_daily_rate` over a week (its hour curve averages 1)."""


def _daily_rate(t: np.ndarray) -> np.ndarray:
    """Relative arrival rate: 1.6 at 15:00, 0.4 at 03:00, weekends (days 5, 6) x 0.6."""
    hour_curve = 1.0 + 0.6 * np.sin(2 * np.pi * (t / DAY - 0.375))
    weekend = np.where((t // DAY) % 7 >= 5, 0.6, 1.0)
    return hour_curve * weekend


def _services(rng: np.random.Generator, horizon: float, rate: float, origin: float,
              curve: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Arrivals thinned by the daily curve, or (``curve=False``) at its weekly mean."""
    peak = rate * 1.6
    n = rng.poisson(peak * horizon)
    t = np.sort(rng.uniform(0.0, horizon, n))
    keep = _daily_rate(t + origin) if curve else np.full(n, WEEKLY_MEAN_RATE)
    t = t[rng.uniform(0.0, 1.6, n) < keep]
    life = rng.lognormal(np.log(25 * 60.0), 1.0, t.shape[0])
    return t, t + life


def _rollouts(
    rng: np.random.Generator, horizon: float, since: np.ndarray, per_day: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The node hosts two replicas each of ``len(since) // 2`` deployments, there from
    ``since``. A rollout of one deployment replaces its pods here in surge waves of one:
    a new pod every 45 s, the old one stopping 30 s after its successor starts (or as it
    starts, if it is a wave of the chunk before still to come). Returns the starts, the
    stops and which pod holds each slot at the end."""
    deployments = since.shape[0] // 2
    slot_pods: list[int] = list(range(2 * deployments))  # each replica's current pod
    all_starts = since.tolist()
    all_stops = [np.inf] * (2 * deployments)
    n_rollouts = rng.poisson(per_day * deployments * horizon / DAY)
    for t0, dep in sorted(zip(rng.uniform(0.0, horizon, n_rollouts),
                              rng.integers(0, deployments, n_rollouts), strict=True)):  # fmt: skip
        for wave, slot in enumerate((2 * dep, 2 * dep + 1)):
            t_new = t0 + 45.0 * wave
            old = slot_pods[slot]
            all_stops[old] = min(all_stops[old], max(t_new + 30.0, all_starts[old]))
            slot_pods[slot] = len(all_starts)
            all_starts.append(t_new)
            all_stops.append(np.inf)
    return np.array(all_starts), np.array(all_stops), np.array(slot_pods, dtype=np.int64)


def _bursts(
    rng: np.random.Generator, horizon: float, per_day: float
) -> tuple[np.ndarray, np.ndarray]:
    when = rng.uniform(0.0, horizon, rng.poisson(per_day * horizon / DAY))
    sizes = rng.integers(10, 41, when.shape[0])
    t = np.repeat(when, sizes) + rng.uniform(0.0, 20.0, int(sizes.sum()))
    duration = np.repeat(rng.uniform(300.0, 1800.0, when.shape[0]), sizes)
    return t, t + duration * rng.uniform(0.9, 1.1, t.shape[0])


def _cron(rng: np.random.Generator, horizon: float, probability: float, origin: float,
          begins: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """On each of the history's full hours in the chunk (none at its first instant)."""
    first = -origin % HOUR
    if first == 0.0 and begins:
        first = HOUR
    hours = np.arange(first, horizon, HOUR)
    hours = hours[rng.uniform(0.0, 1.0, hours.shape[0]) < probability]
    sizes = rng.integers(3, 9, hours.shape[0])
    t = np.repeat(hours, sizes) + rng.uniform(0.0, 5.0, int(sizes.sum()))
    return t, t + rng.uniform(30.0, 120.0, t.shape[0])
