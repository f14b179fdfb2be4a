"""What a backtest found: per set of targets (``current`` first, the baseline, then
each set tested against it) the cluster's hourly series and totals; per node its
targets and totals; the headline; and the nodes worth a panel of their own, and why.

A list of named series, not a fixed pair: a third set (e.g. a time-of-day schedule)
is one more entry everywhere, and the figure (:mod:`tuner.plots`) and the page
(:mod:`tuner.backtest_page`) draw and table however many there are. Computed by
:func:`tuner.backtest.run`; the numbers' meaning is docs/contracts/simulation.md
("The backtest report").
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Outcome:
    """What one set of targets did over the history, for a node or the whole cluster."""

    pod_starts: int
    cold_starts: int
    idle_slot_hours: float
    """Idle slots integrated over the history (a late node from its first sample)."""

    def cold_start_rate(self) -> float:
        return self.cold_starts / self.pod_starts if self.pod_starts else 0.0

    def to_json(self) -> dict[str, Any]:
        """The document of docs/contracts/simulation.md (``backtest -o json``)."""
        return {
            "pod_starts": self.pod_starts,
            "cold_starts": self.cold_starts,
            "cold_start_rate": self.cold_start_rate(),
            "idle_slot_hours": self.idle_slot_hours,
        }


@dataclass(frozen=True)
class Series:
    """One set of targets hour by hour."""

    name: str
    """``current``, ``recommended``, ...: the set of targets."""
    idle: np.ndarray
    """Average idle slots in each hour (over the part of it the history covers)."""
    cold: np.ndarray
    """Cold starts in each hour."""


@dataclass(frozen=True)
class NodeResult:
    """One node under every set of targets (index as :attr:`Backtest.names`)."""

    node: str
    targets: tuple[str, ...]
    """Each set's targets as text: ``5/5`` (min/max warm)."""
    outcomes: tuple[Outcome, ...]
    status: str
    """The recommendation's status, or ``changed``/``unchanged`` for given targets."""

    def idle_saved(self) -> float:
        """Idle slot-hours the tested targets (the second set) save on this node."""
        return self.outcomes[0].idle_slot_hours - self.outcomes[1].idle_slot_hours

    def cold_added(self) -> int:
        """Cold starts the tested targets add on this node (negative: remove)."""
        return self.outcomes[1].cold_starts - self.outcomes[0].cold_starts


@dataclass(frozen=True)
class Headline:
    """The figures a reader takes away: one tested set against the current targets."""

    name: str
    hours: float
    before: Outcome
    after: Outcome

    def idle_saved(self) -> float:
        return self.before.idle_slot_hours - self.after.idle_slot_hours

    def idle_saved_share(self) -> float:
        """The saving as a share of today's idle slot-hours (0 when there were none)."""
        before = self.before.idle_slot_hours
        return self.idle_saved() / before if before > 0 else 0.0

    def idle_text(self) -> str:
        saved, share = self.idle_saved(), self.idle_saved_share()
        verb = "save" if saved >= 0 else "add"
        return (
            f"{self.name.capitalize()} targets {verb} {abs(saved):,.1f} of "
            f"{self.before.idle_slot_hours:,.1f} idle slot-hours ({abs(share):.1%}) "
            f"over {self.hours:,.1f} h"
        )

    def cold_text(self) -> str:
        return (
            f"cold starts {self.before.cold_starts:,} -> {self.after.cold_starts:,} "
            f"(rate {self.before.cold_start_rate():.2%} -> {self.after.cold_start_rate():.2%} "
            f"of {self.after.pod_starts:,} pod starts)"
        )


class Why(enum.StrEnum):
    """Why a node gets a panel of its own."""

    SAVES = "saves the most idle"
    """Among the nodes where the tested targets save the most idle slot-hours."""
    COLDER = "cold starts grow"
    """The tested targets add cold starts there."""
    COSTLIER = "adds the most idle"
    """Among the nodes where the tested targets add the most idle slot-hours (the price
    of fewer cold starts, usually)."""


@dataclass(frozen=True)
class Panel:
    """A node drawn on its own: its row, why it is drawn and its hourly series."""

    row: NodeResult
    why: Why
    series: tuple[Series, ...]

    def tags(self) -> list[str]:
        """Why it is drawn; a node drawn for its saving says so if cold starts grow too."""
        grows = self.why is Why.SAVES and self.row.cold_added() > 0
        return [str(self.why), *([str(Why.COLDER)] if grows else [])]

    def title(self) -> str:
        """Two lines: ``node-a [saves the most idle]``, then ``current 5/5 -> recommended
        2/4: saves 40.0 idle slot-hours (60.0%), cold starts 3 -> 3``."""
        row = self.row
        pairs = " -> ".join(f"{s.name} {t}" for s, t in zip(self.series, row.targets, strict=True))
        saved, (before, after) = row.idle_saved(), row.outcomes[:2]
        share = saved / before.idle_slot_hours if before.idle_slot_hours > 0 else 0.0
        return (
            f"{row.node}  [{'; '.join(self.tags())}]\n{pairs}: "
            f"{'saves' if saved >= 0 else 'adds'} {abs(saved):,.1f} idle slot-hours "
            f"({abs(share):.1%}), cold starts {before.cold_starts:,} -> {after.cold_starts:,}"
        )


def choose_panels(rows: Iterable[NodeResult], worst: int) -> list[tuple[NodeResult, Why]]:
    """Up to ``worst`` nodes of each kind, each node once: where the tested targets save
    the most idle slot-hours, where they add the most cold starts, where they add the
    most idle slot-hours."""
    rows = list(rows)
    kinds = (
        (Why.SAVES, lambda r: r.idle_saved()),
        (Why.COLDER, lambda r: float(r.cold_added())),
        (Why.COSTLIER, lambda r: -r.idle_saved()),
    )
    chosen: list[tuple[NodeResult, Why]] = []
    taken: set[str] = set()
    for why, score in kinds:
        ranked = sorted((r for r in rows if score(r) > 0), key=lambda r: (-score(r), r.node))
        chosen += [(r, why) for r in ranked if r.node not in taken][:worst]
        taken |= {r.node for r, _ in chosen}
    return chosen


@dataclass(frozen=True)
class Backtest:
    """Every set of targets over the same history, hour by hour and in total."""

    edges: np.ndarray
    """Hour boundaries, hours from the history's start; the last is its end."""
    cluster: tuple[Series, ...]
    """All nodes summed, one series per set of targets, ``current`` first."""
    outcomes: tuple[Outcome, ...]
    """All nodes' totals, one per set of targets."""
    nodes: tuple[NodeResult, ...]
    """Every node of the history, the most idle saved first."""
    panels: tuple[Panel, ...]
    """The nodes worth drawing, with their hourly series."""
    origin: str | None = None
    """Wall-clock time of the history's start, if the source has one."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.cluster)

    @property
    def hours(self) -> float:
        return float(self.edges[-1])

    @property
    def totals(self) -> dict[str, dict[str, Any]]:
        """``backtest -o json``: per set of targets, its totals."""
        return {s.name: o.to_json() for s, o in zip(self.cluster, self.outcomes, strict=True)}

    def headlines(self) -> list[Headline]:
        """Each tested set against the current targets."""
        base = self.outcomes[0]
        return [
            Headline(s.name, self.hours, base, o)
            for s, o in zip(self.cluster[1:], self.outcomes[1:], strict=True)
        ]
