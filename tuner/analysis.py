"""Per-node warm targets from churn history: pure analysis, data in, recommendations out.

For every node with enough history:

1. the demand the pool must absorb is summarised — arrivals per bind latency (the
   base-stock view: min warm covers lead-time demand), the peak hour, churn rate;
2. for each band M - m in ``bands``, a binary search over m finds the smallest min
   warm whose replay of the node's history through pool_engine (the same policy
   code, in the cluster's release mode) keeps the recency-weighted cold-start rate
   under the objective (hourly buckets, ``half_life_hours`` decay, as VPA does);
3. the cheapest candidate (fewest idle slot-seconds, or least total cost with
   explicit costs) wins; never above the node's max-attach, never 0 for TKE.

Nodes with little history are not guessed at: they get "not enough history" and keep
their targets, or borrow from nodes with a similar churn profile (``peers``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pool_engine.config import DEFAULT_ROUTE_ENI_TARGETS, Targets
from pool_engine.events import START
from pool_engine.policy import UNLIMITED
from pool_engine.simulator import NodeTargets, ReplayStats, Run, SimulationSettings, replay
from tuner import peers
from tuner.history import History

BUCKET_SECONDS = 3600.0


@dataclass(frozen=True)
class Objective:
    """What a good pool is."""

    max_cold_start_rate: float = 0.01
    """Cold starts per pod start to stay under (the default objective)."""
    idle_slot_hour_cost: float | None = None
    """With ``cold_start_cost``: minimise idle-hours x this + cold starts x that instead."""
    cold_start_cost: float | None = None

    @property
    def explicit_costs(self) -> bool:
        return self.idle_slot_hour_cost is not None and self.cold_start_cost is not None


@dataclass(frozen=True)
class AnalysisSettings:
    objective: Objective = field(default_factory=Objective)
    min_warm_floor: int = 1
    """1 for TKE's agent (it cannot run with min warm 0), 0 for our engine."""
    quick_release: bool = False
    """The release mode the cluster runs; replays use it."""
    bind_latency: float = 2.0
    release_interval: float = 120.0
    default_max_slots: int | None = None
    """Max-attach C of nodes whose current targets do not say; None: unlimited."""
    half_life_hours: float = 168.0
    """Recency weighting of cold starts: an hour this old counts half. Longer than
    VPA's 24 h: cold starts are rare, bursty events and a day holds too few of them
    (on the half/half protocol in bench/RESULTS.md, 24 h overshot the objective)."""
    safety: float = 0.6
    """Aim at this fraction of the allowed cold-start rate on the history."""
    min_history_hours: float = 1.0
    min_arrivals: int = 30
    bands: tuple[int, ...] = (0, 1, 2, 4)
    """Max-minus-min warm bands tried."""
    search_cap: int = 96
    """Largest min warm considered (below C)."""


@dataclass(frozen=True)
class Expected:
    """What a pair of targets did over the history."""

    pod_starts: int
    cold_starts: int
    idle_slot_seconds: float
    hours: float

    @property
    def cold_rate(self) -> float:
        return self.cold_starts / self.pod_starts if self.pod_starts else 0.0

    @property
    def idle_slots(self) -> float:
        """Average idle slots."""
        return self.idle_slot_seconds / (self.hours * 3600.0) if self.hours > 0 else 0.0


@dataclass(frozen=True)
class Recommendation:
    node: str
    status: str
    """``recommended``, ``unchanged`` (already the best), ``borrowed`` (little history:
    from similar nodes) or ``insufficient_history`` (none to speak of: keeps its targets)."""
    current: NodeTargets
    recommended: NodeTargets
    before: Expected | None
    after: Expected | None
    history_hours: float
    arrivals: int
    confidence: float
    reason: str
    lead_time_demand_p99: float = 0.0
    peak_hour: int = 0

    @property
    def changed(self) -> bool:
        return (self.current.min_warm, self.current.max_warm) != (
            self.recommended.min_warm,
            self.recommended.max_warm,
        )


def recommend(
    history: History,
    settings: AnalysisSettings,
    current: Mapping[str, NodeTargets] | None = None,
    default: NodeTargets | None = None,
) -> list[Recommendation]:
    """One recommendation per node of ``history``; ``current`` targets per node, else
    ``default`` (TKE's 5/5)."""
    trace = history.trace
    current = current or {}
    default = default or NodeTargets(DEFAULT_ROUTE_ENI_TARGETS)
    nodes = trace.nodes
    arrivals = history.arrivals()
    targets_now = [_with_cap(current.get(n, default), settings) for n in nodes]
    caps = np.array([_cap(t) for t in targets_now], dtype=np.int64)
    eligible = [
        k
        for k in range(len(nodes))
        if arrivals[k] >= settings.min_arrivals and history.hours >= settings.min_history_hours
    ]
    sim = SimulationSettings(
        NodeTargets(Targets(0, 0)),
        settings.quick_release,
        settings.bind_latency,
        settings.release_interval,
    )
    chosen: dict[int, tuple[int, int]] = {}
    if eligible:
        search = _Search(history, settings, sim, caps)
        chosen = search.best(eligible)
    before_after = _evaluate(history, sim, targets_now, chosen)
    demand = _lead_time_demand(trace, settings.bind_latency)
    peaks, shares = _peak_hours(trace)
    few = [k for k in range(len(nodes)) if k not in chosen and arrivals[k] >= 3]
    borrowed = peers.borrow(
        peers.features(arrivals, history.hours, demand, shares), list(chosen), few, chosen
    )
    out = []
    for k, node in enumerate(nodes):
        now = targets_now[k]
        before, after = before_after[k]
        if k in chosen:
            m, big_m = chosen[k]
            rec = NodeTargets(Targets(m, big_m), now.max_slots)
            status = "recommended"
            why = _reason(before, after, demand[k], settings, rec, caps[k])
        elif k in borrowed:
            (m, big_m), size = borrowed[k]
            m = min(max(m, settings.min_warm_floor), int(caps[k]))
            big_m = min(max(big_m, m), int(caps[k]))
            rec = NodeTargets(Targets(m, big_m), now.max_slots)
            status = "borrowed"
            why = (
                f"little history ({int(arrivals[k])} pod starts): borrowed the median of "
                f"{size} nodes with a similar churn profile"
            )
        else:
            rec, status = now, "insufficient_history"
            why = (
                f"not enough history: {int(arrivals[k])} pod starts in "
                f"{history.hours:.1f} h (need {settings.min_arrivals} in "
                f"{settings.min_history_hours:g} h)"
            )
        if status != "insufficient_history" and (rec.min_warm, rec.max_warm) == (
            now.min_warm,
            now.max_warm,
        ):
            status = "unchanged"
        conf = _confidence(history.hours, int(arrivals[k]))
        out.append(
            Recommendation(
                node,
                status,
                now,
                rec,
                before,
                after,
                history.hours,
                int(arrivals[k]),
                conf,
                why,
                demand[k],
                peaks[k],
            )
        )
    return out


class _Search:
    """Vectorised binary search over min warm, per node and band, in batched replays."""

    def __init__(
        self,
        history: History,
        settings: AnalysisSettings,
        sim: SimulationSettings,
        caps: np.ndarray,
    ) -> None:
        self.history = history
        self.settings = settings
        self.sim = sim
        self.caps = caps
        n_buckets = int(history.trace.end // BUCKET_SECONDS) + 1
        centres = (np.arange(n_buckets) + 0.5) * BUCKET_SECONDS
        age_h = np.maximum(0.0, history.trace.end - centres) / 3600.0
        self.weights = 0.5 ** (age_h / settings.half_life_hours)
        self.aim = settings.safety * settings.objective.max_cold_start_rate

    def best(self, nodes: Sequence[int]) -> dict[int, tuple[int, int]]:
        if self.settings.objective.explicit_costs:
            return self._cheapest_by_cost(nodes)
        bands = self.settings.bands
        pairs = [(k, d) for k in nodes for d in bands]
        floor = self.settings.min_warm_floor
        lo = np.array([min(floor, self.caps[k]) for k, _ in pairs], dtype=np.int64)
        hi = np.array([min(self.caps[k], self.settings.search_cap) for k, _ in pairs])
        hi = np.maximum(hi, lo)
        # Binary search for the smallest m meeting the aim (cold starts fall as m grows).
        while True:
            open_ = np.nonzero(lo < hi)[0]
            if open_.size == 0:
                break
            mid = (lo[open_] + hi[open_]) // 2
            ok = self._meets([pairs[j] for j in open_], mid)
            hi[open_[ok]] = mid[ok]
            lo[open_[~ok]] = mid[~ok] + 1
        # Replay every band's answer once more and keep the cheapest per node.
        stats = self._replay([pairs[j] for j in range(len(pairs))], lo)
        best: dict[int, tuple[float, tuple[int, int]]] = {}
        for j, (k, d) in enumerate(pairs):
            m = int(lo[j])
            big_m = int(min(m + d, self.caps[k]))
            meets = self._rate(stats, j) <= self.aim
            idle = float(stats.per_run.idle_slot_seconds[j])
            score = idle if meets else math.inf
            if k not in best or score < best[k][0]:
                best[k] = (score, (m, big_m))
        return {k: pair for k, (_, pair) in best.items()}

    def _cheapest_by_cost(self, nodes: Sequence[int]) -> dict[int, tuple[int, int]]:
        objective = self.settings.objective
        assert objective.idle_slot_hour_cost is not None and objective.cold_start_cost is not None
        grid = sorted({0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64})
        floor = self.settings.min_warm_floor
        pairs, ms = [], []
        for k in nodes:
            for m in grid:
                if floor <= m <= min(self.caps[k], self.settings.search_cap):
                    for d in self.settings.bands:
                        pairs.append((k, d))
                        ms.append(m)
        stats = self._replay(pairs, np.array(ms, dtype=np.int64))
        best: dict[int, tuple[float, tuple[int, int]]] = {}
        for j, (k, d) in enumerate(pairs):
            cost = (
                stats.per_run.idle_slot_seconds[j] / 3600.0 * objective.idle_slot_hour_cost
                + stats.per_run.cold_starts[j] * objective.cold_start_cost
            )
            pair = (ms[j], int(min(ms[j] + d, self.caps[k])))
            if k not in best or cost < best[k][0]:
                best[k] = (float(cost), pair)
        return {k: pair for k, (_, pair) in best.items()}

    def _meets(self, pairs: list[tuple[int, int]], ms: np.ndarray) -> np.ndarray:
        stats = self._replay(pairs, ms)
        return np.array([self._rate(stats, j) <= self.aim for j in range(len(pairs))])

    def _rate(self, stats: ReplayStats, j: int) -> float:
        starts = float(np.dot(self.weights, stats.buckets[j, :, 0]))
        cold = float(np.dot(self.weights, stats.buckets[j, :, 1]))
        return cold / starts if starts > 0 else 0.0

    def _replay(self, pairs: list[tuple[int, int]], ms: np.ndarray) -> ReplayStats:
        runs = [
            Run(
                k,
                NodeTargets(Targets(int(m), int(min(m + d, self.caps[k]))), int(self.caps[k])),
                int(self.history.existing[k]),
            )
            for (k, d), m in zip(pairs, ms, strict=True)
        ]
        return replay(self.history.trace, runs, self.sim, bucket_seconds=BUCKET_SECONDS)


def _evaluate(
    history: History,
    sim: SimulationSettings,
    targets_now: list[NodeTargets],
    chosen: Mapping[int, tuple[int, int]],
) -> list[tuple[Expected | None, Expected | None]]:
    """Replay current and recommended targets over the history (unweighted)."""
    runs: list[Run] = []
    index: list[tuple[int, str]] = []
    for k, now in enumerate(targets_now):
        runs.append(Run(k, now, int(history.existing[k])))
        index.append((k, "before"))
        if k in chosen:
            m, big_m = chosen[k]
            runs.append(
                Run(k, NodeTargets(Targets(m, big_m), now.max_slots), int(history.existing[k]))
            )
            index.append((k, "after"))
    out: list[list[Expected | None]] = [[None, None] for _ in targets_now]
    if not runs:
        return [(None, None)]
    stats = replay(history.trace, runs, sim)
    for j, (k, which) in enumerate(index):
        expected = Expected(
            int(stats.per_run.pod_starts[j]),
            int(stats.per_run.cold_starts[j]),
            float(stats.per_run.idle_slot_seconds[j]),
            history.hours,
        )
        out[k][0 if which == "before" else 1] = expected
    return [(b, a) for b, a in out]


def _lead_time_demand(trace: object, latency: float) -> list[float]:
    """p99 of pod starts within one bind latency after each start, per node."""
    from pool_engine.trace import Trace

    assert isinstance(trace, Trace)
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


def _peak_hours(trace: object) -> tuple[list[int], list[float]]:
    """Per node: the hour of day with the most pod starts, and its share of them."""
    from pool_engine.trace import Trace

    assert isinstance(trace, Trace)
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


def _confidence(hours: float, arrivals: int) -> float:
    """Grows with history: a day of history and a few hundred starts make ~0.8."""
    return round((1 - math.exp(-hours / 24.0)) * (1 - math.exp(-arrivals / 150.0)), 3)


def _reason(
    before: Expected | None,
    after: Expected | None,
    demand: float,
    settings: AnalysisSettings,
    rec: NodeTargets,
    cap: int,
) -> str:
    if after is None or before is None:
        return ""
    limit = settings.objective.max_cold_start_rate
    parts = [f"{demand:.0f} pod starts within a {settings.bind_latency:g} s bind (p99)"]
    if settings.objective.explicit_costs:
        parts.append("cheapest idle-hours plus cold-start cost")
    elif after.cold_rate > limit:
        parts.append(
            f"even m={rec.min_warm} leaves {after.cold_rate:.2%} cold starts"
            + (" (capped by max-attach)" if rec.min_warm >= cap else "")
        )
    else:
        parts.append(
            f"m={rec.min_warm} keeps cold starts at {after.cold_rate:.2%} (objective {limit:.2%})"
        )
    delta = after.idle_slots - before.idle_slots
    parts.append(f"idle slots {before.idle_slots:.1f} -> {after.idle_slots:.1f} ({delta:+.1f})")
    return "; ".join(parts)


def _with_cap(targets: NodeTargets, settings: AnalysisSettings) -> NodeTargets:
    if targets.max_slots is None and settings.default_max_slots is not None:
        return NodeTargets(targets.targets, settings.default_max_slots)
    return targets


def _cap(targets: NodeTargets) -> int:
    return UNLIMITED if targets.max_slots is None else targets.max_slots
