"""Churn traces of daily routines written directly, not by `eni-exporter simulate`: the
kinds of node an outside check names for schedules (long-quiet nodes with a nightly job,
business-hours CI, busy nodes with daily jobs), each its own shape.

Kinds (``--kinds``, comma-separated, taken in turn node by node):

- ``quiet``: a pod every few hours, and a job of 12-25 pods started within 3 s at one
  UTC hour every day (on weekdays only on two nodes in five), each running 20-60 min;
- ``business``: about a pod an hour all day, and on weekdays 6-15 pods from about 08:00
  to 18:00 UTC (15 min either way), each replaced 1-30 s after it ends (pods live about
  40 min); nothing of it at night or on weekends;
- ``mixed``: four pods an hour all day, and two daily jobs of 5-14 pods each;
- ``jobburst``: a daily job of 25 pods within 10 s, and bursts of 7-15 pods at random
  times (one or two a day) over background churn (a review's case: schedules must not
  lower the hours the bursts happened to miss);
- ``curveburst``: pods arriving along a daily sine (6 an hour on average), and two
  random bursts of 7-15 pods a day: daily structure, but no recurring burst.

Day 0 is a Thursday (numeric times count from the epoch), so days 2, 3, 9, 10 are
Saturday and Sunday.

    python bench/routine_trace.py --kinds business --seed 21 -o bench/out/business.csv
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pandas as pd

DAY = 86400.0
HOUR = 3600.0
KINDS = ("quiet", "business", "mixed", "jobburst", "curveburst")


class Rows:
    """Start and stop rows of one trace."""

    def __init__(self, rng: np.random.Generator, days: int) -> None:
        self.rng, self.days = rng, days
        self.times: list[float] = []
        self.nodes: list[str] = []
        self.events: list[str] = []

    def pod(self, node: str, start: float, life: float) -> None:
        self.times += [start, start + life]
        self.nodes += [node, node]
        self.events += ["start", "stop"]

    def background(self, node: str, per_hour: float, life: float) -> None:
        """Pods arriving at random all day, living about ``life`` seconds."""
        for at in self.rng.uniform(0, self.days * DAY, self.rng.poisson(per_hour * 24 * self.days)):
            self.pod(node, float(at), float(self.rng.exponential(life)) + 30.0)

    def job(self, node: str, hour: int, size: int, runs: tuple[float, float], spread: float,
            weekdays_only: bool = False) -> None:  # fmt: skip
        """``size`` pods within ``spread`` seconds of ``hour`` (plus up to 5 min) each day."""
        for day in range(self.days):
            if weekdays_only and weekend(day):
                continue
            at = day * DAY + hour * HOUR + self.rng.uniform(0, 300.0)
            for _ in range(size):
                self.pod(node, at + self.rng.uniform(0, spread), float(self.rng.uniform(*runs)))

    def random_bursts(self, node: str, per_day: float, size: int) -> None:
        """Bursts of ``size`` // 2 to ``size`` pods within 5 s at random times."""
        for at in self.rng.uniform(0, self.days * DAY, self.rng.poisson(per_day * self.days)):
            for _ in range(int(self.rng.integers(size // 2, size + 1))):
                self.pod(node, float(at + self.rng.uniform(0, 5.0)),
                         float(self.rng.uniform(600.0, 1800.0)))  # fmt: skip

    def curve(self, node: str, per_hour: float) -> None:
        """Pods arriving along a daily sine (peak at 06:00 UTC), about 30 min each."""
        n = self.rng.poisson(2 * per_hour * 24 * self.days)
        at = self.rng.uniform(0, self.days * DAY, n)
        keep = self.rng.uniform(0, 1, n) < 0.5 * (1 + np.sin(2 * np.pi * at / DAY))
        for t in at[keep]:
            self.pod(node, float(t), float(self.rng.exponential(1800.0)) + 30.0)

    def business(self, node: str, level: int) -> None:
        for day in range(self.days):
            if weekend(day):
                continue
            opens = day * DAY + 8 * HOUR + self.rng.uniform(-900.0, 900.0)
            closes = day * DAY + 18 * HOUR + self.rng.uniform(-900.0, 900.0)
            for t in opens + self.rng.uniform(0.0, 60.0, level):
                while t < closes:
                    life = min(float(self.rng.exponential(2400.0)) + 60.0,
                               closes - t + float(self.rng.uniform(0.0, 600.0)))  # fmt: skip
                    self.pod(node, float(t), life)
                    t += life + self.rng.uniform(1.0, 30.0)

    def frame(self) -> pd.DataFrame:
        rows = pd.DataFrame({"time": self.times, "node": self.nodes, "event": self.events})
        rows = rows[rows["time"] < self.days * DAY]
        # a stop before a start at the same instant, as a replay takes them
        rows = rows.assign(order=(rows["event"] == "start").astype(int))
        return rows.sort_values(["time", "order"], kind="stable").drop(columns="order")


def weekend(day: int) -> bool:
    """Saturday or Sunday, day 0 being a Thursday."""
    return (3 + day) % 7 >= 5


def node_rows(rows: Rows, node: str, kind: str) -> None:
    rng = rows.rng
    if kind == "quiet":
        rows.background(node, 0.3, 1800.0)
        rows.job(node, int(rng.integers(0, 24)), int(rng.integers(12, 26)),
                 (1200.0, 3600.0), 3.0, weekdays_only=bool(rng.random() < 0.4))  # fmt: skip
    elif kind == "business":
        rows.background(node, 1.0, 3600.0)
        rows.business(node, int(rng.integers(6, 16)))
    elif kind == "mixed":
        rows.background(node, 4.0, 1200.0)
        for hour in rng.choice(24, 2, replace=False):
            rows.job(node, int(hour), int(rng.integers(5, 15)), (300.0, 1500.0), 5.0)
    elif kind == "jobburst":
        rows.background(node, float(rng.choice([0.3, 1.0, 3.0])), 2400.0)
        rows.random_bursts(node, float(rng.choice([1.0, 2.0])), 15)
        rows.job(node, int(rng.integers(0, 24)), 25, (600.0, 1800.0), 10.0)
    else:
        rows.curve(node, 6.0)
        rows.random_bursts(node, 2.0, 15)


@click.command()
@click.option("--kinds", default="quiet,business,mixed", show_default=True,
              help=f"Comma-separated, taken in turn node by node: {', '.join(KINDS)}.")  # fmt: skip
@click.option("--nodes", type=click.IntRange(1), default=30, show_default=True)
@click.option("--days", type=click.IntRange(1), default=14, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def main(kinds: str, nodes: int, days: int, seed: int, output: Path) -> None:
    """Write a trace (time,node,event) of daily routines."""
    chosen = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = sorted(set(chosen) - set(KINDS))
    if not chosen or unknown:
        raise click.BadParameter(f"unknown kind(s) {unknown or kinds!r}; kinds: {KINDS}",
                                 param_hint="--kinds")  # fmt: skip
    rows = Rows(np.random.default_rng(seed), days)
    for k in range(nodes):
        node_rows(rows, f"node-{k:02d}", chosen[k % len(chosen)])
    frame = rows.frame()
    frame.to_csv(output, index=False, float_format="%.3f")
    click.echo(f"wrote {len(frame):,} rows of {nodes} nodes, {days} days to {output}", err=True)


if __name__ == "__main__":
    main()
