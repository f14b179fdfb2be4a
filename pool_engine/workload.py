"""Synthetic pod churn: the workload behind benchmarks, demos and the simulated cluster.

Per node, four kinds of churn are mixed (rates scale with node size and ``churn``):

- **services** under an HPA: Poisson arrivals whose rate follows a daily curve
  (peak in the afternoon, trough at night, weekends at 60 %), log-normal lifetimes
  (median 25 min, so an 8-core node runs ~20 of them at a time);
- **rollouts** of the node's deployment replicas in surge waves: every 45 s a wave
  starts ~25 % of the replicas and, 30 s later, stops as many old ones;
- **batch bursts**: 10–40 pods inside 20 s, running 5–30 minutes;
- **cron fan-outs**: on the hour, 3–8 pods inside 5 s, running 30–120 s.

Replicas present at time 0 appear as ``start`` rows at time 0 (pods that already
existed when the history begins). Everything is drawn from one seeded generator,
so a (nodes, days, seed, churn) tuple always gives the same trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pool_engine.kernel import START, STOP

DAY = 86400.0
CORE_MIX = ((2, 0.2), (4, 0.3), (8, 0.3), (16, 0.15), (32, 0.05))


@dataclass(frozen=True)
class NodeChurn:
    """One node's churn as rows: time, event (START/STOP) and pod id, sorted by time."""

    name: str
    cores: int
    times: np.ndarray
    kinds: np.ndarray
    pods: np.ndarray


@dataclass(frozen=True)
class WorkloadSpec:
    """What to generate."""

    nodes: int = 10
    days: float = 1.0
    seed: int = 0
    churn: float = 1.0
    """Multiplier on every arrival rate (1.0 is ~900 pod starts per 8-core node-day)."""


def node_sizes(spec: WorkloadSpec) -> np.ndarray:
    """CPU cores of every node, drawn from a typical instance mix."""
    rng = np.random.default_rng([spec.seed, 1])
    cores, weights = zip(*CORE_MIX, strict=True)
    return rng.choice(np.array(cores), size=spec.nodes, p=np.array(weights))


def generate(spec: WorkloadSpec) -> list[NodeChurn]:
    """Every node's churn; pod ids are unique across the cluster."""
    sizes = node_sizes(spec)
    out: list[NodeChurn] = []
    next_pod = 0
    for k in range(spec.nodes):
        rng = np.random.default_rng([spec.seed, 2, k])
        starts, stops = _node_pods(rng, int(sizes[k]), spec.days * DAY, spec.churn)
        n = starts.shape[0]
        ids = np.arange(next_pod, next_pod + n, dtype=np.int64)
        next_pod += n
        ended = np.isfinite(stops)
        times = np.concatenate((starts, stops[ended]))
        kinds = np.concatenate(
            (np.full(n, START, np.int8), np.full(int(ended.sum()), STOP, np.int8))
        )
        pods = np.concatenate((ids, ids[ended]))
        order = np.lexsort((kinds, times))  # at a tie, starts before stops
        name = f"node-{k:04d}"
        out.append(NodeChurn(name, int(sizes[k]), times[order], kinds[order], pods[order]))
    return out


def _node_pods(
    rng: np.random.Generator, cores: int, horizon: float, churn: float
) -> tuple[np.ndarray, np.ndarray]:
    """(start, stop) of every pod on one node; stop is inf for pods still running."""
    scale = churn * (cores / 8.0) ** 0.5
    parts = [
        _services(rng, horizon, 0.5 / 60.0 * scale),
        _rollouts(rng, horizon, replicas=max(2, cores // 2), per_day=3.0 * churn),
        _bursts(rng, horizon, per_day=2.0 * scale),
        _cron(rng, horizon, probability=min(1.0, 0.8 * churn)),
    ]
    starts = np.concatenate([p[0] for p in parts])
    stops = np.concatenate([p[1] for p in parts])
    stops[stops > horizon] = np.inf
    keep = starts <= horizon
    return np.round(starts[keep], 3), np.round(stops[keep], 3)


def _daily_rate(t: np.ndarray) -> np.ndarray:
    """Relative arrival rate: 1.6 at 15:00, 0.4 at 03:00, weekends (days 5, 6) x 0.6."""
    hour_curve = 1.0 + 0.6 * np.sin(2 * np.pi * (t / DAY - 0.375))
    weekend = np.where((t // DAY) % 7 >= 5, 0.6, 1.0)
    return hour_curve * weekend


def _services(
    rng: np.random.Generator, horizon: float, rate: float
) -> tuple[np.ndarray, np.ndarray]:
    peak = rate * 1.6
    n = rng.poisson(peak * horizon)
    t = np.sort(rng.uniform(0.0, horizon, n))
    t = t[rng.uniform(0.0, 1.6, n) < _daily_rate(t)]
    life = rng.lognormal(np.log(25 * 60.0), 1.0, t.shape[0])
    return t, t + life


def _rollouts(
    rng: np.random.Generator, horizon: float, replicas: int, per_day: float
) -> tuple[np.ndarray, np.ndarray]:
    """Replicas exist from time 0; each rollout replaces all of them in surge waves."""
    starts = [np.zeros(replicas)]
    stops: list[np.ndarray] = []
    when = np.sort(rng.uniform(0.0, horizon, rng.poisson(per_day * horizon / DAY)))
    wave = max(1, int(np.ceil(replicas * 0.25)))
    old_stop = np.full(replicas, np.inf)
    for t0 in when:
        new_start = np.empty(replicas)
        for j in range(0, replicas, wave):
            t_wave = t0 + 45.0 * (j // wave)
            new_start[j : j + wave] = t_wave
            old_stop[j : j + wave] = t_wave + 30.0
        stops.append(old_stop.copy())
        starts.append(new_start)
    stops.append(np.full(replicas, np.inf))
    return np.concatenate(starts), np.concatenate(stops)


def _bursts(
    rng: np.random.Generator, horizon: float, per_day: float
) -> tuple[np.ndarray, np.ndarray]:
    when = rng.uniform(0.0, horizon, rng.poisson(per_day * horizon / DAY))
    sizes = rng.integers(10, 41, when.shape[0])
    t = np.repeat(when, sizes) + rng.uniform(0.0, 20.0, int(sizes.sum()))
    duration = np.repeat(rng.uniform(300.0, 1800.0, when.shape[0]), sizes)
    return t, t + duration * rng.uniform(0.9, 1.1, t.shape[0])


def _cron(
    rng: np.random.Generator, horizon: float, probability: float
) -> tuple[np.ndarray, np.ndarray]:
    hours = np.arange(3600.0, horizon, 3600.0)
    hours = hours[rng.uniform(0.0, 1.0, hours.shape[0]) < probability]
    sizes = rng.integers(3, 9, hours.shape[0])
    t = np.repeat(hours, sizes) + rng.uniform(0.0, 5.0, int(sizes.sum()))
    return t, t + rng.uniform(30.0, 120.0, t.shape[0])
