"""Synthetic pod churn: the workload behind benchmarks, demos and the simulated cluster.

Every node runs the background churn of :mod:`pool_engine.background` (services under
an HPA, rollouts, batch bursts, cron fan-outs; rates scale with node size and
``churn``, and with the node's profile: 40 % of nodes run steady long-lived services
with little churn, 40 % a mix, 20 % are batch-heavy).

With ``quiet`` > 0 that share of nodes is dedicated to a few long-lived services
(a node selector keeps other pods off): a few pod starts a week. Every pod asks for
CPU (``requests``, millicores; log-normal, median 200m), so a scheduler model
(:mod:`pool_engine.placement`) can re-place the cluster's arrivals onto nodes.

With ``workload=Workload.DAILY`` each node also runs its daily routine
(:mod:`pool_engine.daily_load`: recurring daily jobs, business-hours services, morning
scale-ups); its pods run on their node, outside the scheduler model (``routine``).
``Workload.STEADY`` (the default) is the churn above alone; ``Workload.FLAT`` is it with
services at their mean rate all week, so nothing recurs by hour of day.

:func:`generate` draws one history: replicas present at time 0 appear as ``start`` rows
at time 0 (pods that already existed when the history begins); pods still running at
its end have no stop, and pods drawn to start after it are left out.
:func:`generate_chunk` draws a long history a chunk at a time (the simulated cluster:
a week): each chunk goes on from the :class:`Carry` of the chunk before, the pods
running at its end, each with the stop the model drew for it (or none: a replica no
rollout has replaced yet, whose stop the next chunk's rollouts decide), and the pods
drawn to start after it (:mod:`pool_engine.podtable`). The next chunk starts none of
them again, so no boundary shows in the rows.
Everything is drawn from seeded generators, so a (nodes, days, seed, churn) tuple
always gives the same trace; node sizes, profiles and routines from ``routine_seed``
when given (the simulated cluster's, fixed while each week's seed varies).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import assert_never

import numpy as np

from pool_engine.background import PROFILES, QUIET, Profile, draw_background
from pool_engine.daily_load import RngOfDay, Routine, routines
from pool_engine.podtable import PodTable

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
    """Seconds from 00:00 UTC of day 0 to this churn's time 0 (where daily routines,
    the services' daily curve and the cron's hours fall; the simulated cluster
    generates a week at a time)."""
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


@dataclass(frozen=True)
class Carry:
    """What a chunk of churn leaves the next (:func:`generate_chunk`)."""

    nodes: tuple[PodTable, ...]
    """Per node, the pods alive after the chunk's end, in the next chunk's time."""
    next_pod: int
    """The first id the next chunk gives a pod."""


def generate(spec: WorkloadSpec) -> list[NodeChurn]:
    """Every node's churn; pod ids are unique across the cluster."""
    return generate_chunk(spec)[0]


def generate_chunk(spec: WorkloadSpec, carry: Carry | None = None) -> tuple[list[NodeChurn], Carry]:
    """Every node's churn over ``spec``'s span and what it leaves the next chunk;
    ``carry`` from the chunk before (None: the history begins with this one)."""
    if carry is not None and len(carry.nodes) != spec.nodes:
        raise ValueError(f"a carry of {len(carry.nodes)} nodes for a spec of {spec.nodes}")
    sizes = node_sizes(spec.cluster())
    profiles = node_profiles(spec.cluster())
    daily = spec.node_routines()
    horizon = spec.days * DAY
    out: list[NodeChurn] = []
    left: list[PodTable] = []
    next_pod = 0 if carry is None else carry.next_pod
    for k in range(spec.nodes):
        before = None if carry is None else carry.nodes[k]
        routine = None if daily is None else daily[k]
        table = _node_pods(spec, k, int(sizes[k]), profiles[k], routine, before)
        table, next_pod = table.numbered(horizon, next_pod)
        times, kinds, pods, requests, rows = table.rows(horizon)
        out.append(NodeChurn(f"node-{k:04d}", int(sizes[k]), times, kinds, pods, requests,
                             profiles[k] is QUIET, None if daily is None else rows))  # fmt: skip
        left.append(table.after(horizon))
    return out, Carry(tuple(left), next_pod)


def _node_pods(spec: WorkloadSpec, k: int, cores: int, profile: Profile,
               routine: Routine | None, before: PodTable | None) -> PodTable:  # fmt: skip
    """Node ``k``'s pods of the chunk: those ``before`` left it, its background churn
    (the replicas running at the start carried over, not started again) and its
    routine's pods."""
    horizon = spec.days * DAY
    replicas = np.empty(0, np.int64) if before is None else before.replicas()
    drawn = draw_background(np.random.default_rng([spec.seed, 2, k]), cores, profile,
                            horizon=horizon, origin=spec.origin, churn=spec.churn,
                            curve=spec.workload.has_daily_curve(),
                            since=None if before is None else before.starts[replicas])  # fmt: skip
    ours = PodTable.of(drawn.starts, drawn.stops, 0, routine=False)
    fresh = np.ones(drawn.starts.shape[0], dtype=bool)
    carried = []
    if before is not None:
        ours.ids[drawn.replicas] = before.ids[replicas]
        ours.requests[drawn.replicas] = before.requests[replicas]
        fresh[drawn.replicas] = False
        carried.append(before.without(replicas))
    ours.slots[drawn.holders] = np.arange(drawn.holders.shape[0])
    # requests: first of the pods that start in the chunk (as a history of one chunk
    # draws them), then of those drawn to start after it
    cpu = np.random.default_rng([spec.seed, 5, k])
    for due in (drawn.starts <= horizon, drawn.starts > horizon):
        ours.requests[fresh & due] = _requests(cpu, int((fresh & due).sum()))
    tables = [*carried, ours]
    if routine is not None:
        extra = routine.pods(spec.rng_of_day(k), spec.origin, horizon)
        tables.append(PodTable.of(extra.starts, extra.stops, ROUTINE_REQUEST, routine=True))
    return PodTable.join(tables)


def _requests(rng: np.random.Generator, n: int) -> np.ndarray:
    """CPU requests of ``n`` pods, millicores: log-normal, median 200m, 50m..4000m."""
    return np.clip(np.round(rng.lognormal(np.log(200.0), 0.7, n)), 50, 4000).astype(np.int64)
