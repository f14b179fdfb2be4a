"""What the analysis aims at, and how it weighs the history it replays.

A good pool keeps the cold-start rate under the objective with the fewest idle slots,
or, with explicit costs, minimises idle slot-hours x their cost + cold starts x theirs.
Cold starts are counted per hour of history and weighted by recency (an hour
``half_life_hours`` old counts half), as VPA weighs its samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BUCKET_SECONDS = 3600.0
"""Cold starts are counted per hour of history, then weighted by age."""


@dataclass(frozen=True)
class Objective:
    """What a good pool is."""

    max_cold_start_rate: float = 0.01
    """Cold starts per pod start to stay under (the default objective)."""
    idle_slot_hour_cost: float | None = None
    """With ``cold_start_cost``: minimise idle-hours x this + cold starts x that instead."""
    cold_start_cost: float | None = None
    """The cost of one cold start, with ``idle_slot_hour_cost``."""

    @property
    def explicit_costs(self) -> bool:
        return self.idle_slot_hour_cost is not None and self.cold_start_cost is not None

    def describe(self) -> str:
        """One line for a table's title."""
        if self.explicit_costs:
            return "explicit costs"
        return f"cold starts <= {self.max_cold_start_rate:.2%}"


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything :func:`tuner.analysis.recommend` needs besides the history."""

    objective: Objective = field(default_factory=Objective)
    """What a good pool is."""
    min_warm_floor: int = 1
    """1 for TKE's agent (it cannot run with min warm 0), 0 for our engine."""
    quick_release: bool = False
    """The release mode the cluster runs; replays use it."""
    bind_latency: float = 2.0
    """Seconds from a bind request to a usable slot, in the replays."""
    release_interval: float = 120.0
    """Seconds between release rounds, in the replays."""
    default_max_slots: int | None = None
    """Max-attach C of nodes whose current targets do not say; None: unlimited."""
    half_life_hours: float = 168.0
    """Recency weighting of cold starts: an hour this old counts half. Longer than
    VPA's 24 h: cold starts are rare, bursty events and a day holds too few of them
    (on the half/half protocol in bench/RESULTS.md, 24 h overshot the objective)."""
    safety: float = 0.6
    """Aim at this fraction of the allowed cold-start rate on the history."""
    min_history_hours: float = 1.0
    """Hours of history below which no node gets a recommendation of its own."""
    min_arrivals: int = 30
    """Pod starts below which a node has not enough history of its own."""
    bands: tuple[int, ...] = (0, 1, 2, 4)
    """Max-minus-min warm bands tried."""
    search_cap: int = 96
    """Largest min warm considered (below C)."""

    def aim(self) -> float:
        """The weighted cold-start rate a candidate must stay under on the history."""
        return self.safety * self.objective.max_cold_start_rate


def recency_weights(end: float, half_life_hours: float) -> np.ndarray:
    """Weight of each hourly bucket of a history ending at ``end`` seconds."""
    n_buckets = int(end // BUCKET_SECONDS) + 1
    centres = (np.arange(n_buckets) + 0.5) * BUCKET_SECONDS
    age_h = np.maximum(0.0, end - centres) / 3600.0
    weights: np.ndarray = 0.5 ** (age_h / half_life_hours)
    return weights


def weighted_rate(weights: np.ndarray, buckets: np.ndarray) -> float:
    """Recency-weighted cold starts per pod start; ``buckets`` rows are (starts, cold)."""
    starts = float(np.dot(weights, buckets[:, 0]))
    cold = float(np.dot(weights, buckets[:, 1]))
    return cold / starts if starts > 0 else 0.0
