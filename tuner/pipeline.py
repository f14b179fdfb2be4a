"""What each ``eni-tuner`` command does, as a script: load -> analyse -> act -> render.

Every step is timed and logged on stderr (INFO: what was loaded or done and how
long it took; DEBUG: the rest), as the VPA recommender's ``RunOnce`` does. The
command line (:mod:`tuner.cli`) parses, calls one function here with the settings
and the renderer of the chosen output format, and nothing else.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from kube_adapter.client import ClientSettings, connect
from pool_engine.config import Mode, Targets
from pool_engine.errors import HistoryUnavailable, InputError
from pool_engine.overrides import load_overrides
from pool_engine.simulator import NodeTargets, SimulationResult, SimulationSettings
from pool_engine.simulator import simulate as replay_trace
from pool_engine.trace import load_trace
from tuner import analysis, rollback
from tuner import apply as applying
from tuner import backtest as backtesting
from tuner.apply import Change
from tuner.history import History
from tuner.objective import AnalysisSettings
from tuner.recommendation import Recommendation
from tuner.render import write_timeline
from tuner.schedule_advice import ScheduleAdvice
from tuner.schedule_render import HourDisplay
from tuner.settings import ApplySettings, BacktestSettings, ObjectiveSettings, ReplaySettings
from tuner.sources import HistorySource

log = logging.getLogger(__name__)
R = TypeVar("R")


@dataclass(frozen=True)
class RecommendReport:
    """What ``recommend`` prints."""

    recommendations: list[Recommendation]
    """One per node of the history."""
    mode: Mode
    """The pool, for the annotation keys."""
    objective: str
    """The objective in a few words."""


@dataclass(frozen=True)
class ScheduleReport:
    """What ``recommend --schedule`` prints."""

    recommend: RecommendReport
    """The all-day recommendations (each node's fallback)."""
    schedules: list[ScheduleAdvice]
    """One per recommendation, same order."""
    display: HourDisplay
    """How the table shows hours of day (``--timezone``)."""


@dataclass(frozen=True)
class SimulationReport:
    """What ``simulate`` prints."""

    result: SimulationResult
    """Per node and in total."""
    settings: SimulationSettings
    """The replay's settings, for the table's title."""


@dataclass(frozen=True)
class ApplyReport:
    """What ``apply`` prints."""

    changes: list[Change]
    """One per node, with its outcome."""
    dry_run: bool
    """Whether nothing was written."""


class Stopwatch:
    """Seconds since it was made."""

    def __init__(self) -> None:
        self._began = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self._began


def load_history(source: HistorySource, mode: Mode) -> History:
    watch = Stopwatch()
    history = source.load(mode)
    if not history.nodes:  # a trace cannot be empty (exit 2); Prometheus can answer nothing
        raise HistoryUnavailable("the history source holds no pod churn for the window")
    log.info(
        f"loaded {history.trace.events:,} events of {len(history.nodes):,} nodes "
        f"({history.hours:.1f} h) in {watch.seconds():.2f}s"
    )
    return history


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


def render(report: R, renderer: Callable[[R], None]) -> R:
    watch = Stopwatch()
    renderer(report)
    log.debug(f"rendered in {watch.seconds():.2f}s")
    return report


def recommendations(
    source: HistorySource,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    min_history_hours: float | None = None,
) -> list[Recommendation]:
    """Targets in force -> history -> analysis. The targets in force: the targets file's,
    else what the cluster's exporter published (Prometheus), else the pool's default."""
    return _analysed(source, replay, objective, min_history_hours)[2]


def scheduled_recommendations(
    source: HistorySource, replay: ReplaySettings, objective: ObjectiveSettings
) -> list[Recommendation]:
    """:func:`recommendations` with each node's schedule (``recommend --schedule``'s
    search) where one was found; a node whose schedule collapsed keeps ``schedule`` None.
    What ``apply --schedule`` stores."""
    _, recs, advice = _scheduled(source, replay, objective, None)
    return [
        dataclasses.replace(r, schedule=a.schedule if a.scheduled() else None)
        for r, a in zip(recs, advice, strict=True)
    ]


def _analysed(
    source: HistorySource,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    min_history_hours: float | None,
) -> tuple[History, AnalysisSettings, list[Recommendation]]:
    """The history, the analysis settings it gives, and each node's all-day pair."""
    history = load_history(source, objective.mode)
    current = {**current_from(history), **replay.overrides()}
    settings = objective.analysis(replay, min_history_hours, history.bind_latency)
    recs = analyse(history, settings, current, replay.default_targets(objective.mode))
    return history, settings, recs


def _scheduled(
    source: HistorySource,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    min_history_hours: float | None,
) -> tuple[History, list[Recommendation], list[ScheduleAdvice]]:
    """:func:`_analysed`, then each node's schedule around its all-day pair."""
    from tuner import schedule_search  # scipy: loaded when a schedule is searched

    history, settings, recs = _analysed(source, replay, objective, min_history_hours)
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


def recommend(
    source: HistorySource,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    min_history_hours: float,
    renderer: Callable[[RecommendReport], None],
) -> RecommendReport:
    """``eni-tuner recommend``."""
    recs = recommendations(source, replay, objective, min_history_hours)
    report = RecommendReport(recs, objective.mode, objective.objective.describe())
    return render(report, renderer)


def recommend_schedules(
    source: HistorySource,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    min_history_hours: float,
    zone: ZoneInfo,
    renderer: Callable[[ScheduleReport], None],
) -> ScheduleReport:
    """``eni-tuner recommend --schedule``: the all-day analysis, then each node's
    schedule around its all-day pair (:mod:`tuner.schedule_search`)."""
    history, recs, schedules = _scheduled(source, replay, objective, min_history_hours)
    origin = history.trace.origin or datetime.fromtimestamp(0, UTC)
    display = HourDisplay.of(zone, origin + timedelta(seconds=history.trace.end))
    report = ScheduleReport(
        RecommendReport(recs, objective.mode, objective.objective.describe()), schedules, display
    )
    return render(report, renderer)


def apply(
    source: HistorySource | None,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    settings: ApplySettings,
    renderer: Callable[[ApplyReport], None],
) -> ApplyReport:
    """``eni-tuner apply``: the cluster's client first (fail fast), then the analysis
    (or, with --rollback, the recorded previous pairs), then one guarded patch per NEC
    to change. Exit 4 at the end if any NEC could not be written."""
    api = connect(ClientSettings(settings.kubeconfig, settings.context))
    necs = applying.list_necs(api)  # also checks the API and our access before any analysis
    selected = applying.selected_nodes(api, settings.selector) if settings.selector else None
    guard = settings.guardrails(selected)
    mode = objective.mode
    watch = Stopwatch()
    if settings.rollback:
        planned = rollback.plan(necs, guard, mode)
        log.debug(f"planned {len(planned):,} rollbacks in {watch.seconds():.2f}s")
        done = applying.write_changes(api, planned, rollback.writing(mode, settings.dry_run, guard))
    else:
        assert source is not None  # the command line demands one without --rollback
        recs = recommendations(source, replay, objective)
        watch = Stopwatch()
        planned = applying.plan(recs, necs, guard, mode)
        log.debug(f"planned {len(planned):,} nodes in {watch.seconds():.2f}s")
        by_node = {r.node: r for r in recs}
        done = applying.write(api, planned, by_node, guard, mode, settings.dry_run)
    for change in done:
        if change.wrote():
            before, after = _pair(change.before), _pair(change.after)
            log.info(f"{change.outcome}: {change.node} {before} -> {after}")
    log.debug(f"wrote {len(done):,} nodes in {watch.seconds():.2f}s")
    rendered = render(ApplyReport(done, settings.dry_run), renderer)
    applying.raise_for_failures(done)  # after the record is out: exit 4 naming the failed
    return rendered


def backtest(
    source: HistorySource,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    settings: BacktestSettings,
    renderer: Callable[[backtesting.Backtest], None],
) -> backtesting.Backtest:
    """``eni-tuner backtest``: history -> targets to test -> replays -> figures."""
    history = load_history(source, objective.mode)
    backtesting.require_an_hour(history)  # before any analysis: exit 3, one line
    current = {**current_from(history), **replay.overrides()}
    default = replay.default_targets(objective.mode)
    status: dict[str, str] = {}
    scheduled: dict[str, NodeTargets] | None = None
    if settings.recommended_file is not None:
        recommended = load_overrides(settings.recommended_file)
    else:
        analysis_settings = objective.analysis(replay, None, history.bind_latency)
        recs = analyse(history, analysis_settings, current, default)
        recommended = {r.node: r.recommended for r in recs}
        status = {r.node: r.status.value for r in recs}
        if settings.schedule:
            from tuner import schedule_search

            scheduled = {
                a.node: NodeTargets.scheduled(a.schedule, r.recommended.max_slots)
                for r, a in zip(recs, schedule_search.search(history, analysis_settings, recs),
                                strict=True)
            }  # fmt: skip
    watch = Stopwatch()
    latency = replay.latency(objective.mode, history.bind_latency)
    simulation = replace(replay.simulation(), bind_latency=latency)
    result = backtesting.run(
        history, simulation, current, recommended, default, settings.worst, status, scheduled
    )
    log.debug(f"replayed {len(history.nodes):,} nodes twice in {watch.seconds():.2f}s")
    if settings.png_file is not None:
        from tuner import plots  # matplotlib loads only when a figure is drawn

        _writing(settings.png_file, lambda path: plots.write_png(result, path))
        log.info(f"wrote {settings.png_file}")
    if settings.html_file is not None:
        from tuner import backtest_page  # matplotlib too

        _writing(settings.html_file, lambda path: backtest_page.write_html(result, path))
        log.info(f"wrote {settings.html_file}")
    return render(result, renderer)


def simulate(
    trace: Path,
    replay: ReplaySettings,
    timeline_file: Path | None,
    renderer: Callable[[SimulationReport], None],
    count_from: float = 0.0,
) -> SimulationReport:
    """``eni-tuner simulate``: trace -> replay -> timeline file -> report; with
    ``count_from`` the statistics count from that time on."""
    settings = replace(replay.simulation(), count_from=count_from)
    overrides = replay.overrides()
    watch = Stopwatch()
    loaded = load_trace(trace)
    log.info(
        f"loaded {loaded.events:,} events of {len(loaded.nodes):,} nodes from {trace} "
        f"in {watch.seconds():.2f}s"
    )
    if count_from > loaded.end:
        raise InputError(
            str(trace), None, f"--count-from {count_from:g} is past its end ({loaded.end:g} s)"
        )
    unknown = sorted(set(overrides) - set(loaded.nodes))
    if unknown:
        log.warning(
            f"warning: {len(unknown)} node(s) in {replay.targets_file} are not in the trace "
            f"(first: {unknown[0]})"
        )
    watch = Stopwatch()
    result = replay_trace(loaded, settings, overrides, timeline=timeline_file is not None)
    log.info(f"replayed {len(loaded.nodes):,} nodes in {watch.seconds():.2f}s")
    if timeline_file is not None and result.timeline is not None:
        write_timeline(timeline_file, result.timeline)
        log.info(f"wrote {result.timeline.num_rows:,} timeline rows to {timeline_file}")
    return render(SimulationReport(result, settings), renderer)


def _pair(targets: Targets | None) -> str:
    return "-" if targets is None else f"{targets.min_warm}/{targets.max_warm}"


def _writing(path: Path, write: Callable[[Path], None]) -> None:
    """Write an output file; an OS error (disk full, permissions) is one line, exit 2."""
    try:
        write(path)
    except OSError as error:
        raise InputError(str(path), None, error.strerror or "cannot write") from None
