"""What reads as a daily routine (tuner/recurrence.py): a recurring burst only where
chance would rarely put it at its hour on so many days, and hours that rank alike from
day to day beyond chance (Friedman). A busy node's noise is neither."""

from __future__ import annotations

import numpy as np

from tuner.recurrence import Recurrence, follows_hour_of_day

DAYS = 7


def bursts(table: np.ndarray) -> Recurrence:
    return Recurrence(table, np.zeros_like(table), np.arange(DAYS) % 7)


def test_a_job_at_two_every_day_recurs() -> None:
    table = np.full((DAYS, 24), 2)
    table[:, 2] = 20
    assert [(h, size, hits) for h, size, hits, _ in bursts(table).recurring(
        np.ones((DAYS, 24), dtype=bool))] == [(2, 20, DAYS)]  # fmt: skip


def test_a_burst_that_lands_anywhere_does_not_recur_where_it_happened_to_land() -> None:
    """Big bursts in one cell in seven, at random hours, and at 15:00 on four days of
    seven (the half the old rule asked for): chance puts them there too often."""
    rng = np.random.default_rng(7)
    table = np.where(rng.random((DAYS, 24)) < 1 / 7, 12, 5)
    table[:4, 15], table[4:, 15] = 12, 5
    seen = np.ones((DAYS, 24), dtype=bool)
    assert bursts(table).recurring(seen) == []
    table[:, 15] = 12  # every day: no longer chance
    assert [h for h, *_ in bursts(table).recurring(seen)] == [15]


def test_hours_of_day_are_told_from_noise() -> None:
    rng = np.random.default_rng(3)
    seen = np.ones((DAYS, 24), dtype=bool)
    flat = rng.poisson(40, (DAYS, 24))
    assert follows_hour_of_day(flat, seen) is False
    curve = rng.poisson(10 + 30 * (np.arange(24) >= 9) * (np.arange(24) < 18), (DAYS, 24))
    assert follows_hour_of_day(curve, seen) is True
    assert follows_hour_of_day(np.zeros((DAYS, 24), dtype=np.int64), seen) is False


def test_too_few_whole_days_give_no_verdict() -> None:
    seen = np.ones((DAYS, 24), dtype=bool)
    seen[2:, 5] = False  # only two whole days
    assert follows_hour_of_day(np.ones((DAYS, 24), dtype=np.int64), seen) is None


def test_fewer_than_three_hours_give_no_verdict() -> None:
    """Friedman ranks three hours or more; the search asks it about the hours beside a
    node's recurring bursts, which could be fewer (scipy raised "at least 3 samples")."""
    starts = np.array([[1.0, 2.0], [3.0, 1.0], [2.0, 5.0], [0.0, 1.0]])
    assert follows_hour_of_day(starts, np.ones_like(starts, dtype=bool)) is None
