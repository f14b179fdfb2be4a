"""A schedule in force (a targets file's rows with hours) against what
``recommend --schedule`` fits (docs/contracts/schedules.md, ``current``): the analysis
keeps it where no all-day pair does better (:func:`tuner.analysis.schedule_holds`, the
objective first); the search then fits around the best pair of the node's history
(:func:`around_best`) and the fit replaces the schedule in force only where it does
better over the whole history (:func:`against_kept`); else the schedule, kept."""

from __future__ import annotations

from dataclasses import replace

from tuner.analysis import schedule_holds
from tuner.objective import AnalysisSettings
from tuner.recommendation import Recommendation
from tuner.schedule_advice import ScheduleAdvice, ScheduleStatus
from tuner.schedule_fit import FitSettings


def around_best(rec: Recommendation) -> Recommendation:
    """A node keeping its schedule in force, as the search sees it: its best pair of its
    own history as the all-day pair (itself, where it has none)."""
    if rec.recommended.schedule is None or rec.best is None:
        return rec
    return replace(rec, recommended=rec.best, after=rec.best_expected)


def against_kept(rec: Recommendation, advice: ScheduleAdvice,
                 settings: AnalysisSettings) -> ScheduleAdvice:  # fmt: skip
    """The advice for a node whose schedule in force is kept by the analysis: a fitted
    schedule only where, over the whole history, the schedule in force does not hold
    against it (:func:`tuner.analysis.schedule_holds`: the objective first, then idle)
    and, the objective met by both, it saves :attr:`FitSettings.min_saving` of the idle;
    else the schedule in force."""
    if rec.recommended.schedule is None or advice.status is ScheduleStatus.CURRENT:
        return advice
    before, fitted = rec.before, advice.expected
    if not advice.scheduled() or before is None or fitted is None:
        return kept(rec, rec.reason)
    within = before.cold_rate <= settings.objective.max_cold_start_rate
    saves = fitted.idle_slot_seconds <= (1.0 - FitSettings.min_saving) * before.idle_slot_seconds
    if not schedule_holds(before, fitted, settings) and (
        settings.objective.explicit_costs or not within or saves
    ):
        return advice
    return kept(rec, "a schedule fitted on the history does no better than the one in force "
                     f"({fitted.idle_slots:.1f} idle slots, {fitted.cold_rate:.2%} cold starts "
                     f"against {before.idle_slots:.1f} and {before.cold_rate:.2%})")  # fmt: skip


def kept(rec: Recommendation, why: str) -> ScheduleAdvice:
    """The schedule in force, kept (``current``): the all-day figures are the best pair's."""
    schedule = rec.recommended.schedule
    assert schedule is not None
    return ScheduleAdvice(rec.node, ScheduleStatus.CURRENT, schedule,
                          f"the schedule in force, kept: {why}", expected=rec.before,
                          all_day=rec.best_expected, current=rec.before)  # fmt: skip
