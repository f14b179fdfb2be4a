"""The daily workload: routines that recur at their UTC hour on the days they should,
drawn the same for a seed however the run is cut into chunks, mixed with the steady
background churn without changing it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pool_engine.daily_load import (
    DAY,
    HOUR,
    MINUTE,
    DailyJob,
    RngOfDay,
    Routine,
    Window,
    is_weekend,
    routines,
)
from pool_engine.events import START
from pool_engine.workload import Workload, WorkloadSpec, generate, node_sizes

TWO_WEEKS = 14 * DAY


def _starts_by_day(starts: np.ndarray, lo: float, hi: float) -> list[int]:
    """Per day of two weeks: starts whose time of day lies in [lo, hi)."""
    day, second = starts // DAY, starts % DAY
    inside = (second >= lo) & (second < hi)
    return [int(((day == d) & inside).sum()) for d in range(14)]


def test_a_nightly_job_starts_at_its_hour_every_day_and_a_weekday_job_skips_weekends() -> None:
    nightly = DailyJob(2 * HOUR, pods=20, duration=30 * MINUTE, jitter=0.0,
                       weekdays_only=False)  # fmt: skip
    weekday = DailyJob(14 * HOUR + 30 * MINUTE, pods=12, duration=10 * MINUTE, jitter=0.0,
                       weekdays_only=True)  # fmt: skip
    pods = Routine((nightly, weekday), ()).pods(RngOfDay(3, 0), 0.0, TWO_WEEKS)
    assert _starts_by_day(pods.starts, 2 * HOUR, 2 * HOUR + 10) == [20] * 14
    weekdays = [0 if is_weekend(d) else 12 for d in range(14)]
    assert _starts_by_day(pods.starts, 14.5 * HOUR, 14.5 * HOUR + 10) == weekdays
    assert weekdays[2:4] == [0, 0] and weekdays[9:11] == [0, 0]  # 1970-01-03 is a Saturday
    assert pods.starts.shape[0] == 20 * 14 + 12 * 10  # nothing else
    run = pods.stops - pods.starts  # each pod runs 80-100 % of its job's duration
    nightly_rows = pods.starts % DAY < 3 * HOUR
    assert np.all((run[nightly_rows] >= 0.8 * 30 * MINUTE - 1e-3)
                  & (run[nightly_rows] <= 30 * MINUTE + 1e-3))  # fmt: skip
    assert np.all((run[~nightly_rows] >= 0.8 * 10 * MINUTE - 1e-3)
                  & (run[~nightly_rows] <= 10 * MINUTE + 1e-3))  # fmt: skip


def test_jitter_makes_a_job_late_by_at_most_its_jitter_and_varies_by_day() -> None:
    job = DailyJob(HOUR, pods=10, duration=20 * MINUTE, jitter=4 * MINUTE,
                   weekdays_only=False)  # fmt: skip
    pods = Routine((job,), ()).pods(RngOfDay(5, 2), 0.0, TWO_WEEKS)
    assert _starts_by_day(pods.starts, HOUR, HOUR + 4 * MINUTE + 10) == [10] * 14
    firsts = [pods.starts[pods.starts // DAY == d].min() % DAY for d in range(14)]
    assert len(set(np.round(firsts))) > 7  # late by a different amount on different days


def test_a_business_hours_service_runs_on_weekdays_between_its_hours_only() -> None:
    ci = Window(
        8 * HOUR, 19 * HOUR, replicas=6, ramp=10 * MINUTE, weekdays_only=True, ci_per_hour=20.0
    )
    pods = Routine((), (ci,)).pods(RngOfDay(1, 0), 0.0, TWO_WEEKS)
    day, second = pods.starts // DAY, pods.starts % DAY
    assert not any(is_weekend(int(d)) for d in day)  # quiet at weekends
    assert np.all((second >= 8 * HOUR) & (second < 19 * HOUR + 10 * MINUTE))
    stop_second = pods.stops - day * DAY
    assert np.all(stop_second <= 19 * HOUR + 15 * MINUTE)  # quiet at night
    for d in range(14):
        noon = d * DAY + 12 * HOUR
        running = int(((pods.starts <= noon) & (pods.stops > noon)).sum())
        if is_weekend(d):
            assert running == 0
        else:
            assert running >= 6
    per_weekday = np.bincount(day.astype(int), minlength=14)
    assert all(per_weekday[d] >= 6 + 20 * 11 * 0.6 for d in range(14) if not is_weekend(d))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), cut=st.integers(1, 13))
def test_a_routines_pods_do_not_depend_on_how_the_run_is_cut(seed: int, cut: int) -> None:
    cores = node_sizes(WorkloadSpec(nodes=3, seed=seed))
    for k, routine in enumerate(routines(seed, cores)):
        whole = routine.pods(RngOfDay(seed, k), 0.0, TWO_WEEKS)
        head = routine.pods(RngOfDay(seed, k), 0.0, cut * DAY)
        tail = routine.pods(RngOfDay(seed, k), cut * DAY, (14 - cut) * DAY)
        joined = np.sort(np.concatenate((head.starts, tail.starts + cut * DAY)))
        np.testing.assert_allclose(joined, np.sort(whole.starts), atol=2e-3)


def test_routines_are_drawn_from_the_seed_and_cover_every_kind() -> None:
    cores = node_sizes(WorkloadSpec(nodes=200, seed=9))
    drawn = routines(9, cores)
    assert drawn == routines(9, cores) and drawn != routines(10, cores)
    jobs = [job for r in drawn for job in r.jobs]
    windows = [w for r in drawn for w in r.windows]
    assert 0.5 < sum(1 for r in drawn if r.jobs) / 200 < 0.85
    assert all(10 <= j.pods <= 40 or j.pods == max(3, 4 * int(c))
               for r, c in zip(drawn, cores, strict=True) for j in r.jobs)  # fmt: skip
    # the drawn jobs' simulated run times and start jitter, in minutes (no clock involved)
    run_minutes = [j.duration / MINUTE for j in jobs]
    jitter_minutes = [j.jitter / MINUTE for j in jobs]
    assert all(10 <= m <= 60 for m in run_minutes) and all(m <= 5 for m in jitter_minutes)
    assert sum(j.at < 6 * HOUR for j in jobs) > len(jobs) / 2  # mostly at night
    assert any(j.weekdays_only for j in jobs) and any(j.jitter == 0 for j in jobs)
    assert any(w.ci_per_hour > 0 for w in windows)  # business-hours CI services
    assert any(w.ci_per_hour == 0 for w in windows)  # morning scale-ups


@pytest.mark.parametrize("seed", [0, 7])
def test_the_daily_workload_is_the_steady_one_plus_the_routines(seed: int) -> None:
    steady = generate(WorkloadSpec(nodes=6, days=3, seed=seed))
    daily = generate(WorkloadSpec(nodes=6, days=3, seed=seed, workload=Workload.DAILY))
    again = generate(WorkloadSpec(nodes=6, days=3, seed=seed, workload=Workload.DAILY))
    drawn = routines(seed, node_sizes(WorkloadSpec(nodes=6, seed=seed)))
    for k, (s, d, a) in enumerate(zip(steady, daily, again, strict=True)):
        np.testing.assert_array_equal(d.times, a.times)  # deterministic per seed
        np.testing.assert_array_equal(d.pods, a.pods)
        assert not s.routine_rows().any() and d.routine is not None
        extra = drawn[k].pods(RngOfDay(seed, k), 0.0, 3 * DAY)
        d_starts = np.sort(d.times[d.kinds == START])
        expected = np.sort(np.concatenate((s.times[s.kinds == START], extra.starts)))
        np.testing.assert_array_equal(d_starts, expected)
        routine_starts = np.sort(d.times[(d.kinds == START) & d.routine_rows()])
        np.testing.assert_array_equal(routine_starts, np.sort(extra.starts))
        assert len(set(d.pods[d.kinds == START].tolist())) == d_starts.shape[0]


def test_the_flat_workload_has_no_hour_of_day_structure_where_steady_has_its_curve() -> None:
    """Afternoon against night pod starts: the steady churn's daily curve (1.6 at 15:00,
    0.4 at 03:00) shows; the flat workload's services arrive at one rate."""

    def afternoon_over_night(workload: Workload) -> float:
        churn = generate(WorkloadSpec(nodes=30, days=14, seed=2, workload=workload))
        starts = np.concatenate([c.times[c.kinds == START] for c in churn])
        hour = (starts % DAY) // HOUR
        return float(((hour >= 13) & (hour < 17)).sum() / ((hour >= 1) & (hour < 5)).sum())

    assert afternoon_over_night(Workload.STEADY) > 1.8
    assert 0.85 < afternoon_over_night(Workload.FLAT) < 1.15
    flat = generate(WorkloadSpec(nodes=3, days=2, seed=2, workload=Workload.FLAT))
    assert all(c.routine is None for c in flat)  # no routines either
