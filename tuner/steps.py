"""The steps the ``eni-tuner`` command scripts are made of: load the history, take the
targets in force, analyse, search schedules, render.

Each step is timed and logged on stderr (INFO: what was loaded or done and how long it
took; DEBUG: the rest), as the VPA recommender's ``RunOnce`` does. :mod:`tuner.pipeline`
and :mod:`tuner.schedule_pipeline` read as scripts of these steps.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

import numpy as np

from kube_adapter.logs import writing_output
from pool_engine.config import Mode, Targets
from pool_engine.errors import NoChurn
from pool_engine.replay import NodeTargets
from tuner import analysis
from tuner.changes import has_record
from tuner.history import History, load_pools
from tuner.objective import AnalysisSettings
from tuner.queries import MetricsSource
from tuner.recommendation import Recommendation
from tuner.schedule_advice import ScheduleAdvice
from tuner.settings import ObjectiveSettings, ReplaySettings
from tuner.sources import HistorySource, PrometheusHistory, TraceHistory

log = logging.getLogger(__name__)
R = TypeVar("R")


class Stopwatch:
    """Seconds since it was made."""

    def __init__(self) -> None:
        self._began = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self._began


def load_history(source: HistorySource, mode: Mode, pool: str = "") -> History:
    watch = Stopwatch()
    history = source.load(mode)
    if not history.nodes:  # a trace cannot be empty (exit 2); Prometheus can answer nothing
        raise NoChurn("the history source holds no pod churn for the window")
    _loaded(history, watch, pool)
    others = history.trace.other_mode_nodes
    if others:
        other = next(m for m in Mode if m is not mode)
        log.warning(f"note: {others:,} node(s) have {other.value} rows only and are not "
                    f"analysed here (--mode {other.value} recommends their pairs)")  # fmt: skip
    return history


def pools(
    source: HistorySource, objective: ObjectiveSettings
) -> Iterator[tuple[ObjectiveSettings, History | None]]:
    """Each pool to analyse: its objective and, where already read, its history. The
    ``--mode`` given (``objective.every_pool`` False); without it every pool the source
    has churn of, route-eni first, each read when its turn comes: a trace's pools (a
    pipe read once), or each pool Prometheus answers churn for (:class:`NoChurn` only
    when neither has any)."""
    if not objective.every_pool:
        yield objective, None
        return
    if isinstance(source, PrometheusHistory) and source.metrics is MetricsSource.KUBE_STATE_METRICS:
        yield from _ksm_pools(source, objective)
        return
    if not isinstance(source, TraceHistory):  # Prometheus: each pool it has churn of
        for mode, history in _with_churn(source):
            yield dataclasses.replace(objective, mode=mode), history
            del history  # not held while the next pool is read
        return
    watch = Stopwatch()
    for mode, history in load_pools(source.path):
        _loaded(history, watch, f"{mode.value} ")
        yield dataclasses.replace(objective, mode=mode), history
        del history  # not held while the next pool is read
        watch = Stopwatch()


def _ksm_pools(
    source: PrometheusHistory, objective: ObjectiveSettings
) -> Iterator[tuple[ObjectiveSettings, History | None]]:
    """kube-state-metrics tells a node's pool only by its pods' requests, and lists
    every node running any pod in each pool: a node belongs to a pool it had a pod of
    in the window; one with pods of neither stays a quiet node of route-eni's."""
    loaded = dict(_with_churn(source))
    active = {m: dict(zip(h.nodes, h.active(), strict=True)) for m, h in loaded.items()}
    for mode, history in loaded.items():
        others = [a for m, a in active.items() if m is not mode]
        keep = np.array([
            mine or (mode is Mode.ROUTE_ENI and not any(o.get(n, False) for o in others))
            for n, mine in zip(history.nodes, history.active(), strict=True)
        ], dtype=bool)  # fmt: skip
        if keep.any():
            yield dataclasses.replace(objective, mode=mode), history.only(keep)


def _with_churn(source: PrometheusHistory) -> Iterator[tuple[Mode, History]]:
    """Each pool Prometheus answers churn for, read in turn; :class:`NoChurn` only when
    neither has any."""
    found = False
    for mode in Mode:
        try:
            history = load_history(source, mode, f"{mode.value} ")
        except NoChurn as error:
            if found or mode is not Mode.DIRECT_ENI:
                continue
            raise NoChurn(f"{error} (of either pool)") from None
        found = True
        yield mode, history
        del history


def _loaded(history: History, watch: Stopwatch, pool: str = "") -> None:
    log.info(
        f"loaded {history.trace.events:,} events of {len(history.nodes):,} {pool}nodes "
        f"({history.hours:.1f} h) in {watch.seconds():.2f}s"
    )


def analyse(
    history: History,
    settings: AnalysisSettings,
    current: Mapping[str, NodeTargets],
    default: NodeTargets,
) -> list[Recommendation]:
    watch = Stopwatch()
    recs = analysis.recommend(history, settings, current, default)
    log.info(
        f"analysed {len(recs):,} nodes in {watch.seconds():.2f}s: "
        f"{sum(r.changed for r in recs):,} to change"
    )
    return recs


def paced(history: History, settings: AnalysisSettings) -> None:
    """Say so when the history runs faster than its cluster's engine (a simulated
    cluster at ``--speed``): what is replayed is the engine's seconds at that pace."""
    if history.pace != 1.0:
        pace, bind, every = history.pace, settings.bind_latency, settings.release_interval
        log.info(f"the history comes from a simulated cluster at {pace:g}x: its engine's "
                 f"bind latency and release interval replayed at 1/{pace:g} ({bind:.3g} s, "
                 f"{every:.3g} s)")  # fmt: skip


def render(report: R, renderer: Callable[[R], None]) -> R:
    watch = Stopwatch()
    with writing_output():
        renderer(report)
    log.debug(f"rendered in {watch.seconds():.2f}s")
    return report


def recommendations(
    source: HistorySource,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    min_history_hours: float | None = None,
    history: History | None = None,
) -> list[Recommendation]:
    """Targets in force -> history -> analysis. The targets in force: the targets file's,
    else what the cluster's exporter published (Prometheus), else the pool's default.
    ``history``: the pool's, where :func:`pools` read it."""
    return _analysed(source, replay, objective, min_history_hours, history)[2]


def scheduled_recommendations(
    source: HistorySource,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    history: History | None = None,
) -> list[Recommendation]:
    """:func:`recommendations` with each node's schedule (``recommend --schedule``'s
    search) where one was found; a node whose schedule collapsed keeps ``schedule`` None.
    What ``apply --schedule`` stores. ``history``: the pool's, where :func:`pools` read it."""
    _, recs, advice = search_schedules(source, replay, objective, None, history)
    return with_schedules(recs, advice)


def with_schedules(recs: Sequence[Recommendation],
                   advice: Sequence[ScheduleAdvice]) -> list[Recommendation]:  # fmt: skip
    """Each recommendation with its node's schedule where it keeps one, and that
    schedule's replay as ``after`` (what ``apply --schedule`` orders nodes by under
    ``--max-changes``: the schedule's saving, not the all-day pair's)."""
    return [
        dataclasses.replace(r, schedule=a.schedule, after=a.expected or r.after)
        if a.scheduled() else dataclasses.replace(r, schedule=None)
        for r, a in zip(recs, advice, strict=True)
    ]  # fmt: skip


def _analysed(
    source: HistorySource,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    min_history_hours: float | None,
    history: History | None = None,
) -> tuple[History, AnalysisSettings, list[Recommendation]]:
    """The history, the analysis settings it gives, and each node's all-day pair."""
    overrides = replay.overrides()  # a bad targets file: its one line, before the history's
    if history is None:
        history = load_history(source, objective.mode)
    current = {**current_from(history), **overrides}
    settings = objective.analysis(replay, min_history_hours, history.bind_latency, history.pace)
    paced(history, settings)
    recs = analyse(history, settings, current, replay.default_targets(objective.mode))
    return history, settings, recs


def search_schedules(
    source: HistorySource,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    min_history_hours: float | None,
    history: History | None = None,
) -> tuple[History, list[Recommendation], list[ScheduleAdvice]]:
    """:func:`_analysed`, then each node's schedule around its all-day pair."""
    from tuner import schedule_search  # scipy: loaded when a schedule is searched

    history, settings, recs = _analysed(source, replay, objective, min_history_hours, history)
    watch = Stopwatch()
    advice = schedule_search.search(history, settings, recs)
    log.info(
        f"searched schedules of {len(recs):,} nodes in {watch.seconds():.2f}s: "
        f"{sum(a.scheduled() for a in advice):,} scheduled"
    )
    return history, recs, advice


def current_from(history: History) -> dict[str, NodeTargets]:
    """The targets and max-attach each node's exporter published, where it did."""
    out = {}
    for node, facts in history.facts.items():
        if facts.min_warm is not None and facts.max_warm is not None:
            out[node] = NodeTargets(Targets(facts.min_warm, facts.max_warm), facts.max_slots)
    return out


def pools_to_roll_back(objective: ObjectiveSettings) -> list[Mode]:
    """The ``--mode`` given, else every pool (a NEC's records are per pool)."""
    return list(Mode) if objective.every_pool else [objective.mode]


def recorded_necs(necs: Mapping[str, Mapping[str, str]], keys: Mapping[Mode, str], mode: Mode,
                  objective: ObjectiveSettings) -> Mapping[str, Mapping[str, str]]:  # fmt: skip
    """The NECs a rollback of ``mode`` looks at: every one for the ``--mode`` given or
    for route-eni (each gets its row, as ever), for another pool of an every-pool run
    only those holding its record (not a row of "nothing recorded" per NEC)."""
    if not objective.every_pool or mode is Mode.ROUTE_ENI:
        return necs
    return {node: a for node, a in necs.items() if has_record(a, keys, mode)}
