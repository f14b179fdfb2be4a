"""What the analysis says about a node: the result, its status and its explanation.

"Not enough history" is a status of the result, not an exception: such a node keeps
its targets (or borrows from similar nodes, :mod:`tuner.peers`) and says why.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any, assert_never

from pool_engine.config import Targets
from pool_engine.replay import NodeTargets
from pool_engine.warm_schedule import WarmSchedule
from tuner.objective import AnalysisSettings


class RecommendationStatus(enum.StrEnum):
    """How a node's recommendation came about (the ``status`` of ``recommend -o json``)."""

    RECOMMENDED = "recommended"
    """Found by replaying the node's own history."""
    UNCHANGED = "unchanged"
    """The targets in force are already the best."""
    BORROWED = "borrowed"
    """Little history: the median of nodes with a similar churn profile."""
    INSUFFICIENT_HISTORY = "insufficient_history"
    """Not enough history to speak of: the node keeps its targets."""

    def settled(self, changed: bool) -> RecommendationStatus:
        """This status once the pair is known: a found pair equal to the node's is UNCHANGED."""
        match self:
            case RecommendationStatus.RECOMMENDED | RecommendationStatus.BORROWED:
                return self if changed else RecommendationStatus.UNCHANGED
            case RecommendationStatus.UNCHANGED | RecommendationStatus.INSUFFICIENT_HISTORY:
                return self
            case _:
                assert_never(self)


@dataclass(frozen=True)
class Expected:
    """What a pair of targets did over the history."""

    pod_starts: int
    """Pod starts replayed (pods present at the first instant excluded)."""
    cold_starts: int
    """Pod starts that found no idle slot."""
    idle_slot_seconds: float
    """Idle slots integrated over the history."""
    hours: float
    """Length of the history."""

    @property
    def cold_rate(self) -> float:
        return self.cold_starts / self.pod_starts if self.pod_starts else 0.0

    @property
    def idle_slots(self) -> float:
        """Average idle slots."""
        return self.idle_slot_seconds / (self.hours * 3600.0) if self.hours > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The figures ``-o json`` shows (recommend's expected before/after, a schedule's
        forecast)."""
        return {
            "pod_starts": self.pod_starts,
            "cold_starts": self.cold_starts,
            "cold_start_rate": round(self.cold_rate, 6),
            "idle_slot_seconds": round(self.idle_slot_seconds, 3),
            "idle_slots_avg": round(self.idle_slots, 3),
        }


@dataclass(frozen=True)
class Recommendation:
    """The analysis' answer for one node."""

    node: str
    """The node (and its NEC object) this is about."""
    status: RecommendationStatus
    """How the recommendation came about."""
    current: NodeTargets
    """The targets in force."""
    recommended: NodeTargets
    """The targets to set (``current`` when there is nothing to say)."""
    before: Expected | None
    """The current targets replayed over the history."""
    after: Expected | None
    """The recommended targets replayed over the history (None unless searched)."""
    history_hours: float
    """Hours of history analysed."""
    arrivals: int
    """Pod starts in the history (pods present at its first instant excluded)."""
    confidence: float
    """0..1, grows with hours and pod starts (:func:`confidence`)."""
    reason: str
    """Why, in one line."""
    lead_time_demand_p99: float = 0.0
    """p99 of pod starts within one bind latency after each start."""
    peak_hour: int = 0
    """Hour of day (UTC) with the most pod starts."""
    schedule: WarmSchedule | None = None
    """Targets by UTC hour of day (``recommend --schedule``); None: the all-day pair
    ``recommended`` (no schedule, or one that collapsed to it)."""
    best: NodeTargets | None = None
    """The pair the search found best on the node's own history, whatever became of it
    (None: not searched): a schedule in force that it does not beat is kept, and
    ``recommend --schedule`` fits around this pair."""
    best_expected: Expected | None = None
    """``best`` replayed over the history."""

    def all_day(self) -> Targets | None:
        """The all-day pair: the recommended one, or, where a schedule in force is kept,
        the best pair of its history (None: none searched)."""
        if self.recommended.schedule is None:
            return self.recommended.targets
        return None if self.best is None else self.best.targets

    @property
    def changed(self) -> bool:
        return not same_targets(self.current, self.recommended)


def same_targets(a: NodeTargets, b: NodeTargets) -> bool:
    """The same pair in every hour (max-attach aside): a schedule is never the pair of
    its hour 0."""
    return a.targets == b.targets and a.schedule == b.schedule


def confidence(hours: float, arrivals: int) -> float:
    """Grows with history: a day of history and a few hundred starts make ~0.8."""
    return round((1 - math.exp(-hours / 24.0)) * (1 - math.exp(-arrivals / 150.0)), 3)


def explain(
    before: Expected | None,
    after: Expected | None,
    demand: float,
    settings: AnalysisSettings,
    rec: NodeTargets,
    cap: int,
    folds: int = 0,
    validated: float = math.nan,
) -> str:
    """The reason of a searched recommendation: demand, objective, validation, idle slots."""
    if after is None or before is None:
        return ""
    limit = settings.objective.max_cold_start_rate
    parts = [f"{demand:.0f} pod starts within a {settings.bind_latency:.3g} s bind (p99)"]
    if settings.objective.explicit_costs:
        parts.append("cheapest idle-hours plus cold-start cost")
    elif after.cold_rate > limit:
        parts.append(
            f"even m={rec.min_warm} leaves {after.cold_rate:.2%} cold starts"
            + (" (capped by max-attach)" if rec.max_warm >= cap else "")
        )
    else:
        parts.append(
            f"m={rec.min_warm} keeps cold starts at {after.cold_rate:.2%} (objective {limit:.2%})"
        )
    if folds and math.isfinite(validated):
        parts.append(f"{validated:.2%} on {folds} unseen fold(s)")
    delta = after.idle_slots - before.idle_slots
    parts.append(f"idle slots {before.idle_slots:.1f} -> {after.idle_slots:.1f} ({delta:+.1f})")
    return "; ".join(parts)


def held_reason(rec: NodeTargets, rate: float, current: float, settings: AnalysisSettings) -> str:
    """Why a change was held back by do-no-harm."""
    if settings.objective.explicit_costs:
        return (f"held back: {rec.min_warm}/{rec.max_warm} costs more than the current "
                f"targets on history it did not see")  # fmt: skip
    limit = settings.objective.max_cold_start_rate
    return (
        f"held back: {rec.min_warm}/{rec.max_warm} had {rate:.2%} cold starts on history it "
        f"did not see, worse than max(objective {limit:.2%}, current {current:.2%})"
    )


def capped_reason(cap: int, floor: int) -> str:
    """Why a node with history gets nothing: its max-attach leaves no pair to choose."""
    return f"max-attach {cap} is below the floor {floor}: nothing to change"


def borrowed_reason(arrivals: int, peers: int) -> str:
    return (
        f"little history ({arrivals} pod starts): borrowed the median of "
        f"{peers} nodes with a similar churn profile"
    )


def insufficient_reason(arrivals: int, hours: float, settings: AnalysisSettings) -> str:
    if hours < settings.min_history_hours:
        return (f"not enough history: {hours:.1f} h of its own "
                f"(need {settings.min_history_hours:g} h)")  # fmt: skip
    return (
        f"not enough history: {arrivals} pod starts in {hours:.1f} h "
        f"(need {settings.min_arrivals}, or a history long enough to show a quiet node)"
    )
