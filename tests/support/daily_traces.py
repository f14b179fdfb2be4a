"""Churn traces with (and without) daily structure, for the schedule search's tests and
for measuring it: recurring daily jobs, business-hours services, random bursts.

Times are numeric seconds from 00:00 UTC of day 0; day 0 is a Thursday (numeric traces
count from the epoch, 1970-01-01, a Thursday), so days 2, 3, 9, 10 are weekend days.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DAY = 86400.0
HOUR = 3600.0
Row = tuple[float, str, str]


def weekend(day: int) -> bool:
    """Saturday or Sunday, day 0 being a Thursday."""
    return (3 + day) % 7 >= 5


def pods(node: str, starts: np.ndarray, lives: np.ndarray) -> list[Row]:
    rows: list[Row] = []
    for t, life in zip(starts, lives, strict=True):
        rows += [(float(t), node, "start"), (float(t + life), node, "stop")]
    return rows


def background(node: str, rng: np.random.Generator, days: int, per_hour: float = 2.0) -> list[Row]:
    """Steady churn: pods arriving at random, living about 40 minutes."""
    n = rng.poisson(per_hour * 24 * days)
    return pods(node, rng.uniform(0, days * DAY, n), rng.exponential(2400.0, n) + 60.0)


def daily_job(node: str, rng: np.random.Generator, days: int, hour: float, size: int,
              skip: tuple[int, ...] = (), spread: float = 10.0,
              weekdays_only: bool = False, late: float = 2.0) -> list[Row]:  # fmt: skip
    """``size`` pods started within ``spread`` seconds, up to ``late`` seconds past
    ``hour`` (UTC), every day but ``skip`` (and weekends with ``weekdays_only``), running
    20-30 minutes."""
    rows: list[Row] = []
    for day in range(days):
        if day in skip or (weekdays_only and weekend(day)):
            continue
        at = day * DAY + hour * HOUR + rng.uniform(0, late)
        rows += pods(node, at + np.sort(rng.uniform(0, spread, size)),
                     rng.uniform(1200.0, 1800.0, size))  # fmt: skip
    return rows


def office(node: str, rng: np.random.Generator, days: int, peak: int = 12,
           start: float = 8.5, end: float = 17.0) -> list[Row]:  # fmt: skip
    """A business-hours service: on weekdays it scales up from 2 pods at ``start`` to
    ``peak`` over 90 minutes, with a rolling restart of a third of its pods at noon, and
    scales down after ``end``; on weekends 2 pods all day."""
    rows: list[Row] = []
    for day in range(days):
        if weekend(day):
            continue
        base = day * DAY
        ups = base + start * HOUR + np.sort(rng.uniform(0, 5400.0, peak - 2))
        downs = base + end * HOUR + rng.uniform(0, 3600.0, peak - 2)
        rows += pods(node, ups, downs - ups)
        restart = base + 12 * HOUR + np.arange(peak // 3) * 20.0
        rows += pods(node, restart, np.full(restart.size, end * HOUR - 12 * HOUR))
    return rows


def business_churn(node: str, rng: np.random.Generator, days: int, level: int = 10,
                   start: float = 8.0, end: float = 18.0) -> list[Row]:  # fmt: skip
    """Business-hours CI: on weekdays ``level`` pods from about ``start`` to ``end``,
    each replaced 1-30 s after it ends (pods live about 40 minutes); nothing at night or
    on weekends."""
    rows: list[Row] = []
    for day in range(days):
        if weekend(day):
            continue
        opens = day * DAY + start * HOUR + rng.uniform(-900.0, 900.0)
        closes = day * DAY + end * HOUR + rng.uniform(-900.0, 900.0)
        for t in opens + rng.uniform(0.0, 60.0, level):
            while t < closes:
                life = min(rng.exponential(2400.0) + 60.0, closes - t + rng.uniform(0.0, 600.0))
                rows += pods(node, np.array([t]), np.array([life]))
                t += life + rng.uniform(1.0, 30.0)
    return rows


def daily_curve(node: str, rng: np.random.Generator, days: int,
                per_hour: float = 6.0) -> list[Row]:  # fmt: skip
    """Pods arriving along a daily sine (``per_hour`` on average, peak at 06:00 UTC),
    about 30 minutes each."""
    at = rng.uniform(0, days * DAY, rng.poisson(2 * per_hour * 24 * days))
    at = at[rng.uniform(0, 1, at.size) < 0.5 * (1 + np.sin(2 * np.pi * at / DAY))]
    return pods(node, at, rng.exponential(1800.0, at.size) + 30.0)


def random_bursts(node: str, rng: np.random.Generator, days: int, per_day: float = 2.0,
                  size: int = 15) -> list[Row]:  # fmt: skip
    """Bursts of about ``size`` pods at random times: no daily structure."""
    rows: list[Row] = []
    for at in rng.uniform(0, days * DAY, rng.poisson(per_day * days)):
        n = int(rng.integers(size // 2, size + 1))
        rows += pods(node, at + np.sort(rng.uniform(0, 5.0, n)), rng.uniform(600.0, 1800.0, n))
    return rows


def job_node(node: str, seed: int = 0, days: int = 14) -> list[Row]:
    """A 20-pod job at 02:00 on 13 of 14 days, over steady background churn."""
    rng = np.random.default_rng(seed)
    return background(node, rng, days) + daily_job(node, rng, days, 2.0, 20, skip=(5,))


def office_node(node: str, seed: int = 0, days: int = 14) -> list[Row]:
    """A business-hours service on weekdays, over light background churn."""
    rng = np.random.default_rng(seed)
    return background(node, rng, days, 0.5) + office(node, rng, days)


def random_node(node: str, seed: int = 0, days: int = 14) -> list[Row]:
    """Random bursts and background churn: no daily structure."""
    rng = np.random.default_rng(seed)
    return background(node, rng, days) + random_bursts(node, rng, days)


def mixed(nodes: int, seed: int, days: int = 14) -> list[Row]:
    """``nodes`` nodes of every kind with random hours, sizes and rates (for measuring)."""
    rng = np.random.default_rng(seed)
    rows: list[Row] = []
    for k in range(nodes):
        node = f"node-{k:03d}"
        rows += background(node, rng, days, float(rng.uniform(0.5, 6.0)))
        kind = k % 5
        if kind in (0, 1):
            hour = float(rng.integers(0, 24)) + (0.0 if rng.random() < 0.7 else rng.uniform(0, 0.8))
            rows += daily_job(node, rng, days, hour, int(rng.integers(8, 33)),
                              skip=tuple(rng.choice(days, 1)), spread=float(rng.uniform(2, 60)),
                              weekdays_only=bool(rng.random() < 0.3))  # fmt: skip
            if kind == 1:
                rows += daily_job(node, rng, days, float(rng.integers(0, 24)) + 0.5,
                                  int(rng.integers(4, 12)))  # fmt: skip
        elif kind == 2:
            rows += office(node, rng, days, int(rng.integers(6, 24)),
                           float(rng.choice([7.0, 8.0, 8.5, 9.0])))  # fmt: skip
        elif kind == 3:
            rows += random_bursts(node, rng, days, float(rng.uniform(0.5, 4.0)),
                                  int(rng.integers(6, 25)))  # fmt: skip
        else:
            rows += office(node, rng, days, int(rng.integers(4, 12)), 9.0)
            rows += random_bursts(node, rng, days, 1.0, 8)
    return rows


def write(path: Path, rows: list[Row]) -> Path:
    """The rows as a trace CSV, sorted by time; the last row's time is the trace's end."""
    rows = sorted(rows, key=lambda r: r[0])
    with path.open("w") as out:
        out.write("time,node,event\n")
        out.writelines(f"{t:.3f},{n},{e}\n" for t, n, e in rows)
    return path
