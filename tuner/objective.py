"""What the analysis aims at, and how it weighs the history it replays.

A good pool keeps the cold-start rate under the objective with the fewest idle slots,
or, with explicit costs, minimises idle slot-hours x their cost + cold starts x theirs.
Cold starts are counted per fold of history and weighted by recency (an hour
``half_life_hours`` old counts half), as VPA weighs its samples; the choice is checked
on folds it did not see (:mod:`tuner.validation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

Amount = TypeVar("Amount", float, np.ndarray)


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

    def cost(self, idle_hours: Amount, cold_starts: Amount) -> Amount:
        """Idle slot-hours x their cost + cold starts x theirs (explicit costs only)."""
        assert self.idle_slot_hour_cost is not None and self.cold_start_cost is not None
        return idle_hours * self.idle_slot_hour_cost + cold_starts * self.cold_start_cost

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
    safety: float = 0.8
    """The validated cold-start rate (choices checked on history they did not see)
    aims at this fraction of the objective: what is left covers the difference
    between a few checked days and the weeks ahead."""
    min_history_hours: float = 1.0
    """A node with fewer hours of its own history gets no recommendation of its own."""
    min_arrivals: int = 30
    """Pod starts below which a node's own history counts only if it proves the node
    quiet (:mod:`tuner.evidence`); also the least weight, in pod starts, of a node's
    group when do-no-harm compares rates."""
    bands: tuple[int, ...] = (0, 1, 2, 4)
    """Max-minus-min warm bands tried."""
    search_cap: int = 96
    """Largest min warm considered (below C)."""
