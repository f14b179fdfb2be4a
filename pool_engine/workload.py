"""Synthetic pod churn: the workload behind benchmarks, demos and the simulated cluster.

Per node, four kinds of churn are mixed (rates scale with node size and ``churn``, and
with the node's profile: 40 % of nodes run steady long-lived services with little
churn, 40 % a mix, 20 % are batch-heavy):

- **services** under an HPA: Poisson arrivals whose rate follows a daily curve
  (peak in the afternoon, trough at night, weekends at 60 %), log-normal lifetimes
  (median 25 min, so an 8-core node runs ~20 of them at a time);
- **rollouts**: the node hosts two replicas each of a few deployments; a rollout
  replaces a deployment's pods in surge waves of one (a new pod every 45 s, the old
  one stopping 30 s later), about once a day per deployment;
- **batch bursts**: 10–40 pods inside 20 s, running 5–30 minutes;
- **cron fan-outs**: on the hour, 3–8 pods inside 5 s, running 30–120 s.

With ``quiet`` > 0 that share of nodes is dedicated to a few long-lived services
(a node selector keeps other pods off): a few pod starts a week. Every pod asks for
CPU (``requests``, millicores; log-normal, median 200m), so a scheduler model
(:mod:`pool_engine.placement`) can re-place the cluster's arrivals onto nodes.

With ``workload=Workload.DAILY`` each node also runs its daily routine
(:mod:`pool_engine.daily_load`: recurring daily jobs, business-hours services, morning
scale-ups); its pods run on their node, outside the scheduler model (``routine``).
``Workload.STEADY`` (the default) is the churn above alone; ``Workload.FLAT`` is it with
services at their mean rate all week, so nothing recurs by hour of day.

Replicas present at time 0 appear as ``start`` rows at time 0 (pods that already
existed when the history begins). Everything is drawn from one seeded generator,
so a (nodes, days, seed, churn) tuple always gives the same trace; node sizes, profiles
and routines from ``routine_seed`` when given (the simulated cluster's, fixed while
each week's seed varies).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import assert_never

import numpy as np

from pool_engine.daily_load import RngOfDay, Routine, routines
from pool_engine.events import START, STOP

DAY = 86400.0
ROUTINE_REQUEST = 100
"""CPU millicores each pod of a daily routine asks for."""
CORE_MIX = ((2, 0.2), (4, 0.3), (8, 0.3), (16, 0.15), (32, 0.05))


@dataclass(frozen=True)
class NodeChurn:
    """One node's churn as rows: time, event (START/STOP) and pod id, sorted by time."""

    name: str
    cores: int
    times: np.ndarray
    kinds: np.ndarray
    pods: np.ndarray
    requests: np.ndarray | None = None
    """CPU millicores each row's pod asks for (the same on its start and stop)."""
    quiet: bool = False
    """A dedicated quiet node (its pods are pinned to it)."""
    routine: np.ndarray | None = None
    """bool per row: the pod belongs to the node's daily routine (it runs on this node,
    in room kept for it, so a scheduler model leaves it out); None: no routine."""

    def routine_rows(self) -> np.ndarray:
        """bool per row: the pod is of the node's daily routine."""
        if self.routine is not None:
            return self.routine
        return np.zeros(self.times.shape[0], dtype=bool)


class Workload(enum.StrEnum):
    """Which churn (``eni-exporter simulate --workload``)."""

    STEADY = "steady"
    """The background churn alone."""
    DAILY = "daily"
    """The background churn plus each node's daily routine."""
    FLAT = "flat"
    """The background churn without its daily curve: services arrive at their mean
    rate at every hour and day, so nothing recurs by hour of day."""

    def has_routines(self) -> bool:
        match self:
            case Workload.STEADY | Workload.FLAT:
                return False
            case Workload.DAILY:
                return True
            case _:
                assert_never(self)

    def has_daily_curve(self) -> bool:
        """Service arrivals follow the hour of day and the weekend."""
        match self:
            case Workload.STEADY | Workload.DAILY:
                return True
            case Workload.FLAT:
                return False
            case _:
                assert_never(self)


@dataclass(frozen=True)
class WorkloadSpec:
    """What to generate."""

    nodes: int = 10
    days: float = 1.0
    seed: int = 0
    churn: float = 1.0
    """Multiplier on every arrival rate (1.0 is ~900 pod starts per 8-core node-day)."""
    quiet: float = 0.0
    """Share of nodes dedicated to a few long-lived services (a few starts a week)."""
    workload: Workload = Workload.STEADY
    origin: float = 0.0
    """Seconds from 00:00 UTC of day 0 to this churn's time 0 (where daily routines
    fall; the simulated cluster generates a week at a time)."""
    routine_seed: int | None = None
    """Seed of what belongs to the cluster rather than to one draw of its churn: node
    sizes, profiles and daily routines (None: ``seed``). The simulated cluster draws a
    week at a time with a seed per week and keeps this one, so a node keeps its size
    and what it runs, and a job its hour, all run."""

    def node_routines(self) -> list[Routine] | None:
        """Each node's daily routine (sized for the nodes of the routine seed: the
        simulated cluster's), or None for the steady workload."""
        if not self.workload.has_routines():
            return None
        seed = self._routine_seed()
        return routines(seed, node_sizes(WorkloadSpec(nodes=self.nodes, seed=seed)))

    def cluster(self) -> WorkloadSpec:
        """The spec of the cluster's own draws (node sizes and profiles)."""
        return WorkloadSpec(nodes=self.nodes, seed=self._routine_seed(), quiet=self.quiet)

    def rng_of_day(self, node: int) -> RngOfDay:
        return RngOfDay(self._routine_seed(), node)

    def _routine_seed(self) -> int:
        return self.seed if self.routine_seed is None else self.routine_seed


def node_sizes(spec: WorkloadSpec) -> np.ndarray:
    """CPU cores of every node, drawn from a typical instance mix."""
    rng = np.random.default_rng([spec.seed, 1])
    cores, weights = zip(*CORE_MIX, strict=True)
    return rng.choice(np.array(cores), size=spec.nodes, p=np.array(weights))


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


def node_profiles(spec: WorkloadSpec) -> list[Profile]:
    """Per node: steady long-lived services (40 %), a mix (40 %) or batch-heavy (20 %);
    with ``spec.quiet``, that share of nodes quiet instead."""
    rng = np.random.default_rng([spec.seed, 3])
    weights = np.array([weight for _, weight in PROFILES])
    picks = rng.choice(len(PROFILES), size=spec.nodes, p=weights)
    profiles = [PROFILES[int(j)][0] for j in picks]
    if spec.quiet > 0:
        quiet = np.random.default_rng([spec.seed, 4]).uniform(0.0, 1.0, spec.nodes) < spec.quiet
        profiles = [QUIET if q else p for p, q in zip(profiles, quiet, strict=True)]
    return profiles


def generate(spec: WorkloadSpec) -> list[NodeChurn]:
    """Every node's churn; pod ids are unique across the cluster."""
    sizes = node_sizes(spec.cluster())
    profiles = node_profiles(spec.cluster())
    daily = spec.node_routines()
    out: list[NodeChurn] = []
    next_pod = 0
    for k in range(spec.nodes):
        rng = np.random.default_rng([spec.seed, 2, k])
        starts, stops = _node_pods(rng, int(sizes[k]), spec.days * DAY, spec.churn, profiles[k],
                                   spec.workload.has_daily_curve())  # fmt: skip
        background = starts.shape[0]
        routine = None
        if daily is not None:
            extra = daily[k].pods(spec.rng_of_day(k), spec.origin, spec.days * DAY)
            starts = np.concatenate((starts, extra.starts))
            stops = np.concatenate((stops, extra.stops))
            routine = np.arange(starts.shape[0]) >= background
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
        cpu = _requests(np.random.default_rng([spec.seed, 5, k]), background)
        cpu = np.concatenate((cpu, np.full(n - background, ROUTINE_REQUEST, np.int64)))
        requests = np.concatenate((cpu, cpu[ended]))[order]
        rows = None if routine is None else np.concatenate((routine, routine[ended]))[order]
        out.append(NodeChurn(name, int(sizes[k]), times[order], kinds[order], pods[order],
                             requests, profiles[k] is QUIET, rows))  # fmt: skip
    return out


def _node_pods(rng: np.random.Generator, cores: int, horizon: float, churn: float,
               profile: Profile, curve: bool = True) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(start, stop) of every pod on one node; stop is inf for pods still running."""
    scale = churn * (cores / 8.0) ** 0.5
    parts = [
        _services(rng, horizon, 0.5 / 60.0 * scale * profile.services, curve),
        _rollouts(rng, horizon, replicas=max(2, cores // 2), per_day=churn * profile.rollouts),
        _bursts(rng, horizon, per_day=2.0 * scale * profile.bursts),
        _cron(rng, horizon, probability=min(1.0, 0.8 * churn * profile.cron)),
    ]
    starts = np.concatenate([p[0] for p in parts])
    stops = np.concatenate([p[1] for p in parts])
    stops[stops > horizon] = np.inf
    keep = starts <= horizon
    return np.round(starts[keep], 3), np.round(stops[keep], 3)


def _requests(rng: np.random.Generator, n: int) -> np.ndarray:
    """CPU requests of ``n`` pods, millicores: log-normal, median 200m, 50m..4000m."""
    return np.clip(np.round(rng.lognormal(np.log(200.0), 0.7, n)), 50, 4000).astype(np.int64)


WEEKLY_MEAN_RATE = (5 + 2 * 0.6) / 7
"""The mean of :func:`_daily_rate` over a week (its hour curve averages 1)."""


def _daily_rate(t: np.ndarray) -> np.ndarray:
    """Relative arrival rate: 1.6 at 15:00, 0.4 at 03:00, weekends (days 5, 6) x 0.6."""
    hour_curve = 1.0 + 0.6 * np.sin(2 * np.pi * (t / DAY - 0.375))
    weekend = np.where((t // DAY) % 7 >= 5, 0.6, 1.0)
    return hour_curve * weekend


def _services(
    rng: np.random.Generator, horizon: float, rate: float, curve: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Arrivals thinned by the daily curve, or (``curve=False``) at its weekly mean."""
    peak = rate * 1.6
    n = rng.poisson(peak * horizon)
    t = np.sort(rng.uniform(0.0, horizon, n))
    keep = _daily_rate(t) if curve else np.full(n, WEEKLY_MEAN_RATE)
    t = t[rng.uniform(0.0, 1.6, n) < keep]
    life = rng.lognormal(np.log(25 * 60.0), 1.0, t.shape[0])
    return t, t + life


def _rollouts(
    rng: np.random.Generator, horizon: float, replicas: int, per_day: float
) -> tuple[np.ndarray, np.ndarray]:
    """The node hosts two replicas each of ``replicas // 2`` deployments, from time 0.
    A rollout of one deployment replaces its pods here in surge waves of one: a new pod
    every 45 s, the old one stopping 30 s after its successor starts."""
    deployments = max(1, replicas // 2)
    slot_pods: list[int] = list(range(2 * deployments))  # each replica's current pod
    all_starts = [0.0] * (2 * deployments)
    all_stops = [np.inf] * (2 * deployments)
    n_rollouts = rng.poisson(per_day * deployments * horizon / DAY)
    for t0, dep in sorted(zip(rng.uniform(0.0, horizon, n_rollouts),
                              rng.integers(0, deployments, n_rollouts), strict=True)):  # fmt: skip
        for wave, slot in enumerate((2 * dep, 2 * dep + 1)):
            t_new = t0 + 45.0 * wave
            all_stops[slot_pods[slot]] = min(all_stops[slot_pods[slot]], t_new + 30.0)
            slot_pods[slot] = len(all_starts)
            all_starts.append(t_new)
            all_stops.append(np.inf)
    return np.array(all_starts), np.array(all_stops)


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
