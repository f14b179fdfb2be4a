"""Targets that hold on history the choice did not see: shrinkage, rolling-origin
validation and do-no-harm.

1. **Shrinkage.** A node's cold-start rate under a candidate pair, counted on few pod
   starts, is noisy; it is pulled towards its group's rate (:mod:`tuner.evidence`)
   with a weight of ``k`` pod starts: ``(cold + k * group rate) / (starts + k)``.
   ``k = 0`` trusts the node alone, ``k = inf`` its group alone. The cheapest pair
   whose shrunk rate stays under ``aim x objective`` wins (with explicit costs: the
   least idle-hours x cost + expected cold starts x cost).
2. **Rolling-origin validation** picks ``(aim, k)``: for every fold ``j >= 1`` the
   choice is fitted on folds ``< j`` (recency-weighted) and checked on fold ``j``;
   the pair of settings whose checked cold-start rate over all nodes stays under
   ``safety x objective`` with the fewest idle slots wins (with costs: the least
   checked cost). When the scheduler packs pods, one node's past says little about
   its next burst and validation picks a large ``k``; when each node keeps its own
   workload, a small one.
3. **Do-no-harm.** A change is held back when its validated cold-start rate (the
   node's checked folds, shrunk towards its group's with at least
   ``min_arrivals`` pod starts of weight) is worse than max(objective, the current
   targets' rate on the same folds) beyond chance (its lower confidence bound is
   above); with costs, when its checked cost is higher than the current targets'. A
   change that lowers neither target is never held back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tuner.evidence import LEVEL, fold_weights
from tuner.objective import AnalysisSettings
from tuner.search import Candidates

AIMS = (0.25, 0.4, 0.6, 0.8, 1.0)
"""Fractions of the objective a fitted choice aims at on its history."""
WEIGHTS = (0.0, 10.0, 30.0, 100.0, 300.0, 1000.0, math.inf)
"""Shrinkage weights tried, in pod starts."""
NEAR = 0.01
"""Settings whose checked idle (or cost) is within this fraction of the best tie."""
DEFAULT = (0.6, 30.0)
"""(aim, k) when the history is too short to validate (fewer than two folds)."""


@dataclass(frozen=True)
class Validated:
    """The chosen settings and what they give each node."""

    aim: float
    weight: float
    choice: np.ndarray
    """Per node, the chosen candidate column (-1: none)."""
    held: np.ndarray
    """Per node, True when do-no-harm holds the change back."""
    rate: np.ndarray
    """Per node, the validated (shrunk) cold-start rate of the change (NaN: not checked)."""
    current_rate: np.ndarray
    """Per node, the current targets' rate on the same folds, shrunk alike."""
    checked_folds: int
    """Folds the choice was checked on (0: too short a history to validate)."""


@dataclass(frozen=True)
class Fit:
    """The table a fit reads: one window of the history, recency-weighted."""

    cold: np.ndarray
    """(nodes, candidates) weighted cold starts."""
    starts: np.ndarray
    """(nodes,) weighted pod starts."""
    idle_hours: np.ndarray
    """(nodes, candidates) idle slot-hours over the window."""


class Validation:
    """Fits and checks choices on a :class:`tuner.search.Candidates` table."""

    def __init__(self, cands: Candidates, groups: np.ndarray, searched: np.ndarray,
                 settings: AnalysisSettings, fold: float, end: float) -> None:  # fmt: skip
        self.cands, self.groups, self.settings = cands, groups, settings
        self.searched = searched
        """bool per node: chosen for (the others take no part in group rates)."""
        self.fold, self.end = fold, end
        self.n_folds = cands.starts.shape[1]
        self.limit = settings.objective.max_cold_start_rate
        self.n_groups = int(groups.max()) + 1 if groups.size else 0

    def run(self) -> Validated:
        """Pick the settings by validation, fit on the whole history, apply do-no-harm."""
        origins = list(range(1, self.n_folds))
        grid = [(a, k) for a in self._aims() for k in WEIGHTS] if origins else [DEFAULT]
        scores: dict[tuple[float, float], tuple[float, float, float]] = {}
        checked: dict[tuple[float, float], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for aim, k in grid:
            v_cold, v_starts, v_idle = self._check(aim, k, origins)
            checked[(aim, k)] = (v_cold, v_starts, v_idle)
            scores[(aim, k)] = self._score(v_cold, v_starts, v_idle)
        aim, k = self._pick(scores)
        # the whole history, recency-weighted and plain: a choice meets both
        whole = self._window(self.n_folds, self.end)
        plain = self._window(self.n_folds, self.end, weighted=False)
        choice = self._choose(whole, aim, k, plain)
        held, rate, current = self._harm(choice, k, origins, checked.get((aim, k)))
        return Validated(aim, k, choice, held, rate, current, len(origins))

    @staticmethod
    def _pick(scores: dict[tuple[float, float], tuple[float, float, float]]) -> tuple[float, float]:
        """The best-scoring settings; among those within :data:`NEAR` of the best, the
        least shrinkage (a node's own history, where trusting it costs nothing)."""
        best = min(scores.values())
        near = [key for key, score in scores.items()
                if score[0] == best[0] and score[1] <= best[1] * (1 + NEAR) + 1e-12]  # fmt: skip
        return min(near, key=lambda key: (key[1], scores[key]))

    # --- fitting ---------------------------------------------------------------------

    def _aims(self) -> tuple[float, ...]:
        return (1.0,) if self.settings.objective.explicit_costs else AIMS

    def _window(self, folds: int, end: float, weighted: bool = True) -> Fit:
        """Folds ``< folds``, weighted by recency at ``end`` (or not)."""
        w = fold_weights(self.n_folds, self.fold, end, self.settings.half_life_hours)
        if not weighted:
            w = np.ones(self.n_folds)
        w[folds:] = 0.0
        lengths = np.minimum(
            self.fold, np.maximum(0.0, self.end - np.arange(self.n_folds) * self.fold)
        )
        seconds = float(w @ lengths)
        idle_hours = self.cands.idle / max(self.end, 1e-9) * seconds / 3600.0
        return Fit(self.cands.cold @ w, self.cands.starts @ w, idle_hours)

    def _group_rate(self, cold: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(groups, ...) rates over the searched nodes of each group."""
        use = self.searched
        g_cold = np.zeros((self.n_groups, *cold.shape[1:]))
        np.add.at(g_cold, self.groups[use], cold[use])
        g_starts = np.bincount(self.groups[use], starts[use], minlength=self.n_groups)
        g_starts = g_starts.reshape((-1,) + (1,) * (cold.ndim - 1))
        rate: np.ndarray = np.divide(g_cold, g_starts, out=np.zeros_like(g_cold),
                                     where=g_starts > 0)  # fmt: skip
        return rate

    def _shrunk(self, cold: np.ndarray, starts: np.ndarray, k: float) -> np.ndarray:
        group: np.ndarray = self._group_rate(cold, starts)[self.groups]
        if math.isinf(k):
            return group
        s = starts.reshape((-1,) + (1,) * (cold.ndim - 1))
        denominator = s + k
        out: np.ndarray = np.divide(cold + k * group, denominator, out=np.zeros_like(cold),
                                    where=denominator > 0)  # fmt: skip
        return out

    def _choose(self, fit: Fit, aim: float, k: float, also: Fit | None = None) -> np.ndarray:
        """Per node the chosen candidate column, -1 where none is allowed; with ``also``,
        the higher of the two windows' rates counts."""
        allowed = self.cands.allowed
        rate = self._shrunk(fit.cold, fit.starts, k)
        if also is not None:
            rate = np.maximum(rate, self._shrunk(also.cold, also.starts, k))
        objective = self.settings.objective
        if objective.explicit_costs:
            cost = objective.cost(fit.idle_hours, rate * fit.starts[:, None])
            cost = np.where(allowed, cost, np.inf)
        else:
            meets = allowed & (rate <= aim * self.limit + 1e-12)
            lowest = np.where(allowed, rate, np.inf).min(axis=1, keepdims=True)
            fallback = allowed & (rate <= lowest + 1e-12)
            usable = np.where(meets.any(axis=1, keepdims=True), meets, fallback)
            cost = np.where(usable, fit.idle_hours, np.inf)
        choice: np.ndarray = np.argmin(cost, axis=1)
        choice[~allowed.any(axis=1)] = -1
        return choice

    # --- checking ----------------------------------------------------------------------

    def _check(self, aim: float, k: float,
               origins: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """Per node: cold starts, pod starts and idle slot-hours on the checked folds."""
        n = self.cands.starts.shape[0]
        cold, starts, idle = np.zeros(n), np.zeros(n), np.zeros(n)
        rows = np.arange(n)
        for j in origins:
            choice = self._choose(self._window(j, j * self.fold), aim, k)
            picked = np.maximum(choice, 0)
            fold_cold = np.where(choice >= 0, self.cands.cold[rows, picked, j],
                                 self.cands.current_cold[:, j])  # fmt: skip
            length = min(self.fold, self.end - j * self.fold)
            cold += fold_cold
            starts += self.cands.starts[:, j]
            idle += self.cands.idle[rows, picked] / max(self.end, 1e-9) * length / 3600.0
        return cold, starts, idle

    def _score(self, cold: np.ndarray, starts: np.ndarray,
               idle: np.ndarray) -> tuple[float, float, float]:  # fmt: skip
        """Smaller is better: (misses the aim, idle or cost, cold-start rate)."""
        use = self.searched
        total_cold, total_starts = float(cold[use].sum()), float(starts[use].sum())
        rate = total_cold / total_starts if total_starts else 0.0
        total_idle = float(idle[use].sum())
        objective = self.settings.objective
        if objective.explicit_costs:
            cost = objective.cost(total_idle, total_cold)
            return (0.0, cost, rate)
        # evidence, not luck: the checked rate's upper confidence bound must meet the aim
        from scipy.stats import gamma  # scipy loads with the analysis, not the command line

        bound = float(gamma.ppf(LEVEL, total_cold + 1.0)) / total_starts if total_starts else 0.0
        if bound <= self.settings.safety * self.limit:
            return (0.0, total_idle, rate)
        return (1.0, bound, total_idle)

    def _harm(self, choice: np.ndarray, k: float, origins: list[int],
              checked: tuple[np.ndarray, np.ndarray, np.ndarray] | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """Do-no-harm: which changes to hold back, and the rates it compared."""
        n = choice.shape[0]
        nan = np.full(n, np.nan)
        if checked is None or not origins:
            return np.zeros(n, dtype=bool), nan, nan
        v_cold, v_starts, v_idle = checked
        u_cold = self.cands.current_cold[:, origins].sum(axis=1)
        weight = max(k, float(self.settings.min_arrivals))
        rate = self._shrunk(v_cold, v_starts, weight)
        current = self._shrunk(u_cold, v_starts, weight)
        objective = self.settings.objective
        if objective.explicit_costs:
            seconds = sum(min(self.fold, self.end - j * self.fold) for j in origins)
            u_idle = self.cands.runs[:n, 2] / max(self.end, 1e-9)
            u_idle = u_idle * seconds / 3600.0
            cost = objective.cost(v_idle, rate * v_starts)
            cost_now = objective.cost(u_idle, current * v_starts)
            return cost > cost_now + 1e-9, rate, current
        # worse beyond chance: even the rate's lower confidence bound is above the allowance
        from scipy.stats import gamma

        pseudo_starts = v_starts + (0.0 if math.isinf(weight) else weight)
        pseudo_cold = rate * pseudo_starts
        low = np.divide(gamma.ppf(1.0 - LEVEL, np.maximum(pseudo_cold, 1e-12)), pseudo_starts,
                        out=np.zeros_like(rate), where=pseudo_starts > 0)  # fmt: skip
        held = (low > np.maximum(self.limit, current) + 1e-12) & (v_starts > 0)
        return held, rate, current
