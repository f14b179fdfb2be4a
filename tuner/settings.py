"""The settings of ``eni-tuner``'s commands: typed, frozen, grouped by concern.

:mod:`tuner.options` builds them from the command line (one builder per group, the
group's only validation); :mod:`tuner.pipeline` reads them. Where the history comes
from is :mod:`tuner.sources`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import assert_never

from kube_adapter.logs import LogFormat
from pool_engine.config import DEFAULT_DIRECT_ENI_TARGETS, DEFAULT_ROUTE_ENI_TARGETS, Mode, Targets
from pool_engine.overrides import load_overrides
from pool_engine.replay import NodeTargets, SimulationSettings
from tuner.apply import Guardrails
from tuner.objective import AnalysisSettings, Objective

DEFAULT_TARGETS = {Mode.ROUTE_ENI: DEFAULT_ROUTE_ENI_TARGETS,
                   Mode.DIRECT_ENI: DEFAULT_DIRECT_ENI_TARGETS}  # fmt: skip
"""TKE's targets of each pool when nothing says otherwise."""
DEFAULT_BIND_LATENCY = {Mode.ROUTE_ENI: 2.0, Mode.DIRECT_ENI: 20.0}
"""Seconds to a usable slot: an IP on an attached ENI, or an ENI attach (10-30 s)."""


class TargetAgent(enum.StrEnum):
    """Which agent will run the recommended targets (``--target``)."""

    TKE = "tke"
    """TKE's own agent: it cannot run with min warm 0."""
    ENGINE = "engine"
    """Our engine: min warm 0 is allowed."""

    def min_warm_floor(self) -> int:
        """The smallest min warm this agent accepts."""
        match self:
            case TargetAgent.TKE:
                return 1
            case TargetAgent.ENGINE:
                return 0
            case _:
                assert_never(self)


@dataclass(frozen=True)
class ReplaySettings:
    """How the pool policy is replayed: targets in force and the cluster's engine flags.

    The same for ``simulate``, ``recommend``, ``apply`` and ``backtest``."""

    min_warm: int | None = None
    """Min warm target m of nodes the targets file does not cover; None: the pool's
    default (TKE's: 5 route-eni, 1 direct-eni)."""
    max_warm: int | None = None
    """Max warm target M of nodes the targets file does not cover; None: the pool's
    default (5 route-eni, 1 direct-eni), and never below ``min_warm``."""
    max_slots: int | None = None
    """Max bindable slots C (max-attach) of nodes whose targets do not say; None: no limit."""
    targets_file: Path | None = None
    """CSV node,min_warm,max_warm[,max_slots][,from_hour,to_hour] of per-node targets."""
    quick_release: bool = False
    """Release every excess idle slot per round (the cluster's --enable-quick-release)."""
    bind_latency: float | None = None
    """Seconds from a bind request to a usable slot; None: the history's (a trace: 2 s,
    as ``simulate`` replays it; Prometheus: the exporter's measured latency), else the
    pool's default (2 s route-eni, 20 s direct-eni: an ENI attach)."""
    release_interval: float = 120.0
    """Seconds between release rounds."""

    def simulation(self) -> SimulationSettings:
        """The simulator's settings: these defaults and engine flags (route-eni's)."""
        return SimulationSettings(
            defaults=NodeTargets(self.default_targets().targets, self.max_slots),
            quick_release=self.quick_release,
            bind_latency=self.latency(Mode.ROUTE_ENI),
            release_interval=self.release_interval,
        )

    def default_targets(self, mode: Mode = Mode.ROUTE_ENI) -> NodeTargets:
        """Targets of a node the targets file does not cover (its max-attach aside). A
        lone ``--min-warm`` above the default max raises it, a lone ``--max-warm`` below
        the default min lowers it (both given, m > M is refused by the command line)."""
        pool = DEFAULT_TARGETS[mode]
        low = pool.min_warm if self.min_warm is None else self.min_warm
        high = pool.max_warm if self.max_warm is None else self.max_warm
        if self.min_warm is None:
            low = min(low, high)
        return NodeTargets(Targets(low, max(low, high)))

    def latency(self, mode: Mode, measured: float | None = None) -> float:
        """The bind latency of ``mode``'s pool: the flag, else the history's
        (``measured``), else the pool's default."""
        if self.bind_latency is not None:
            return self.bind_latency
        return measured if measured is not None else DEFAULT_BIND_LATENCY[mode]

    def overrides(self) -> dict[str, NodeTargets]:
        """The targets file's per-node targets; empty without one."""
        return dict(self._overrides)

    @cached_property
    def _overrides(self) -> dict[str, NodeTargets]:
        """Read once: checked before any history, used after it (a pipe reads once)."""
        return load_overrides(self.targets_file) if self.targets_file else {}


@dataclass(frozen=True)
class ObjectiveSettings:
    """What to recommend for: the objective, the agent and pool, how to weigh history."""

    objective: Objective = field(default_factory=Objective)
    """What a good pool is."""
    agent: TargetAgent = TargetAgent.TKE
    """Which agent will run the targets; sets the floor of min warm."""
    mode: Mode = Mode.ROUTE_ENI
    """Which pool, hence which annotation pair and which exporter series."""
    every_pool: bool = True
    """No ``--mode`` given: ``recommend`` analyses every pool the source has churn of,
    each as with its ``--mode`` (other commands: ``mode``'s pool)."""
    half_life_hours: float = 168.0
    """Hours after which a cold start in the history counts half."""
    min_pod_starts: int = 30
    """Pod starts below which a node has not enough history of its own."""

    def analysis(
        self,
        replay: ReplaySettings,
        min_history_hours: float | None = None,
        measured_latency: float | None = None,
        pace: float = 1.0,
    ) -> AnalysisSettings:
        """The analysis' settings; ``min_history_hours`` None keeps the analysis' default;
        ``measured_latency``: the bind latency the history source measured; ``pace``: the
        engine's seconds per second of the history (:attr:`tuner.history.History.pace`),
        which the bind latency and the release interval are divided by."""
        settings = AnalysisSettings(
            objective=self.objective,
            min_warm_floor=self.agent.min_warm_floor(),
            quick_release=replay.quick_release,
            bind_latency=replay.latency(self.mode, measured_latency) / pace,
            release_interval=replay.release_interval / pace,
            default_max_slots=replay.max_slots,
            min_arrivals=self.min_pod_starts,
            half_life_hours=self.half_life_hours,
        )
        if min_history_hours is None:
            return settings
        return replace(settings, min_history_hours=min_history_hours)


@dataclass(frozen=True)
class ApplySettings:
    """Where and how ``apply`` writes: the cluster, the guardrails, the logs."""

    kubeconfig: Path | None = None
    """Kubeconfig file; None: in-cluster config, then $KUBECONFIG or ~/.kube/config."""
    context: str | None = None
    """A context of the kubeconfig; None: its current-context."""
    dry_run: bool = False
    """Validate every patch with the API server (dryRun=All), change nothing."""
    max_step: int | None = None
    """Move each target by at most this much per run; None: no limit."""
    selector: str | None = None
    """Only nodes whose NEC objects match this label selector; None: all."""
    min_history_hours: float = 24.0
    """Leave nodes with fewer hours of history alone."""
    max_changes: int = 50
    """Change at most this many nodes per run, the most useful first."""
    apply_borrowed: bool = False
    """Write ``borrowed`` recommendations too (nodes whose own history is short)."""
    rollback: bool = False
    """Restore the pairs recorded before the tuner's last write instead; no history."""
    schedule: bool = False
    """Store each node's time-of-day schedule (``eni-pool.io/warm-schedule``) instead of
    its pair; with ``rollback``, restore the recorded schedule."""
    log_format: LogFormat = LogFormat.TEXT
    """How log lines look on stderr."""

    def guardrails(self, selected: frozenset[str] | None) -> Guardrails:
        """The guardrails of a run; ``selected``: the nodes ``selector`` matched."""
        return Guardrails(
            max_step=self.max_step,
            min_history_hours=self.min_history_hours,
            max_changes=self.max_changes,
            selected=selected,
            apply_borrowed=self.apply_borrowed,
        )


@dataclass(frozen=True)
class SwitchSettings:
    """Where and how ``switch`` writes the pair of the block in force."""

    kubeconfig: Path | None = None
    """Kubeconfig file; None: in-cluster config, then $KUBECONFIG or ~/.kube/config."""
    context: str | None = None
    """A context of the kubeconfig; None: its current-context."""
    dry_run: bool = False
    """Validate every patch with the API server (dryRun=All), change nothing."""
    selector: str | None = None
    """Only nodes whose NEC objects match this label selector; None: all."""
    now: datetime | None = None
    """The instant whose block is put in force; None: the clock."""
    log_format: LogFormat = LogFormat.TEXT
    """How log lines look on stderr."""


@dataclass(frozen=True)
class BacktestSettings:
    """What ``backtest`` compares with today's targets, and the figures it draws."""

    recommended_file: Path | None = None
    """Targets to test (CSV node,min_warm,max_warm); None: recommend from the history."""
    png_file: Path | None = None
    """Where to draw idle slots and cold starts over time as a PNG."""
    html_file: Path | None = None
    """Where to write the same as a self-contained HTML report."""
    worst: int = 3
    """Node panels of each kind: the biggest idle savings, the most added cold starts,
    the most added idle."""
    schedule: bool = False
    """Also replay each node's recommended schedule (``recommend --schedule``'s)."""
