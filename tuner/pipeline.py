"""What each ``eni-tuner`` command does, as a script: load -> analyse -> act -> render.

Every step is timed and logged on stderr (:mod:`tuner.steps`, the steps these scripts
share with :mod:`tuner.schedule_pipeline`), as the VPA recommender's ``RunOnce`` does. The
command line (:mod:`tuner.cli`) parses, calls one function here with the settings
and the renderer of the chosen output format, and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from kube_adapter.client import ClientSettings, connect
from pool_engine.config import Mode, Targets
from pool_engine.errors import InputError
from pool_engine.overrides import load_overrides
from pool_engine.replay import NodeTargets, SimulationSettings
from pool_engine.simulator import SimulationResult
from pool_engine.simulator import simulate as replay_trace
from pool_engine.trace import load_trace
from tuner import apply as applying
from tuner import backtest as backtesting
from tuner import rollback
from tuner.apply import Change
from tuner.changes import PREVIOUS_KEY, Result
from tuner.output_files import distinct, writing
from tuner.recommendation import Recommendation
from tuner.render import write_timeline
from tuner.schedule_advice import ScheduleAdvice
from tuner.schedule_render import HourDisplay
from tuner.settings import ApplySettings, BacktestSettings, ObjectiveSettings, ReplaySettings
from tuner.sources import HistorySource
from tuner.steps import (
    Stopwatch,
    analyse,
    current_from,
    load_history,
    paced,
    pools,
    pools_to_roll_back,
    recommendations,
    recorded_necs,
    render,
    search_schedules,
)

log = logging.getLogger(__name__)


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


def recommend(
    source: HistorySource,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    min_history_hours: float,
    renderer: Callable[[list[RecommendReport]], None],
) -> list[RecommendReport]:
    """``eni-tuner recommend``: one report per pool (:func:`tuner.steps.pools`)."""
    replay.overrides()  # a bad targets file: its one line, before any history's
    reports = []
    for pool, history in pools(source, objective):
        recs = recommendations(source, replay, pool, min_history_hours, history)
        reports.append(RecommendReport(recs, pool.mode, pool.objective.describe()))
        del history  # not held while the next pool is read (a comprehension's would be)
    return render(reports, renderer)


def recommend_schedules(
    source: HistorySource,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    min_history_hours: float,
    zone: ZoneInfo,
    renderer: Callable[[list[ScheduleReport]], None],
) -> list[ScheduleReport]:
    """``eni-tuner recommend --schedule``: per pool, the all-day analysis, then each
    node's schedule around its all-day pair (:mod:`tuner.schedule_search`)."""
    replay.overrides()
    reports = []
    for pool, loaded in pools(source, objective):
        history, recs, schedules = search_schedules(source, replay, pool, min_history_hours,
                                                    loaded)  # fmt: skip
        origin = history.trace.origin or datetime.fromtimestamp(0, UTC)
        display = HourDisplay.of(zone, origin + timedelta(seconds=history.trace.end))
        recommend = RecommendReport(recs, pool.mode, pool.objective.describe())
        reports.append(ScheduleReport(recommend, schedules, display))
        del history, loaded  # not held while the next pool is read
    return render(reports, renderer)


def apply(
    source: HistorySource | None,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    settings: ApplySettings,
    renderer: Callable[[ApplyReport], None],
) -> ApplyReport:
    """``eni-tuner apply``: the cluster's client first (fail fast), then, pool by pool
    (every pool the history has churn of, route-eni first, or the ``--mode`` given), the
    analysis (or, with --rollback, the recorded previous pairs) and one guarded patch per
    NEC to change, ``--max-changes`` counted over the pools. Exit 4 at the end if any
    NEC could not be written."""
    api = connect(ClientSettings(settings.kubeconfig, settings.context))
    necs = applying.list_necs(api)  # also checks the API and our access before any analysis
    selected = applying.selected_nodes(api, settings.selector) if settings.selector else None
    guard = settings.guardrails(selected)
    watch = Stopwatch()
    done: list[Change] = []
    room = guard.max_changes  # over every pool of the run, route-eni's first
    if settings.rollback:
        for mode in pools_to_roll_back(objective):
            scope = recorded_necs(necs, PREVIOUS_KEY, mode, objective)
            planned = rollback.plan(scope, replace(guard, max_changes=room), mode)
            room -= sum(c.result is Result.CHANGED for c in planned)
            how = rollback.writing(mode, settings.dry_run, guard)
            written = applying.write_changes(api, planned, how)
            done += [replace(c, mode=mode) for c in written]
        log.debug(f"rolled back in {watch.seconds():.2f}s")
    else:
        assert source is not None  # the command line demands one without --rollback
        for pool, history in pools(source, objective):
            mode = pool.mode
            recs = recommendations(source, replay, pool, None, history)
            del history
            watch = Stopwatch()
            planned = applying.plan(recs, necs, replace(guard, max_changes=room), mode)
            room -= sum(c.result is Result.CHANGED for c in planned)
            log.debug(f"planned {len(planned):,} {mode.value} nodes in {watch.seconds():.2f}s")
            by_node = {r.node: r for r in recs}
            written = applying.write(api, planned, by_node, guard, mode, settings.dry_run)
            done += [replace(c, mode=mode) for c in written]
    for change in done:
        if change.wrote():
            before, after = _pair(change.before), _pair(change.after)
            log.info(f"{change.outcome}: {change.node} ({change.mode}) {before} -> {after}")
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
    distinct(
        {"--png": settings.png_file, "--html": settings.html_file},
        {"--trace": getattr(source, "path", None), "--targets": replay.targets_file,
         "--recommended": settings.recommended_file},
    )  # fmt: skip
    overrides = replay.overrides()  # bad targets files: their one line, before the history's
    given = None if settings.recommended_file is None else load_overrides(settings.recommended_file)
    history = load_history(source, objective.mode)
    backtesting.require_an_hour(history)  # before any analysis: exit 3, one line
    current = {**current_from(history), **overrides}
    default = replay.default_targets(objective.mode)
    status: dict[str, str] = {}
    scheduled: dict[str, NodeTargets] | None = None
    if given is not None:
        recommended = given
    else:
        analysis_settings = objective.analysis(replay, None, history.bind_latency, history.pace)
        paced(history, analysis_settings)
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
    latency = replay.latency(objective.mode, history.bind_latency) / history.pace
    simulation = replace(replay.simulation(), bind_latency=latency,
                         release_interval=replay.release_interval / history.pace)  # fmt: skip
    result = backtesting.run(
        history, simulation, current, recommended, default, settings.worst, status, scheduled
    )
    log.debug(f"replayed {len(history.nodes):,} nodes twice in {watch.seconds():.2f}s")
    if settings.png_file is not None:
        from tuner import plots  # matplotlib loads only when a figure is drawn

        writing(settings.png_file, lambda path: plots.write_png(result, path))
        log.info(f"wrote {settings.png_file}")
    if settings.html_file is not None:
        from tuner import backtest_page  # matplotlib too

        writing(settings.html_file, lambda path: backtest_page.write_html(result, path))
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
    distinct({"--timeline": timeline_file}, {"TRACE": trace, "--targets": replay.targets_file})
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
        writing(timeline_file, lambda path: write_timeline(path, result.timeline))
        log.info(f"wrote {result.timeline.num_rows:,} timeline rows to {timeline_file}")
    return render(SimulationReport(result, settings), renderer)


def _pair(targets: Targets | None) -> str:
    return "-" if targets is None else f"{targets.min_warm}/{targets.max_warm}"
