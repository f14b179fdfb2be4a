"""Churn traces of daily routines written directly, not by `eni-exporter simulate`: the
kinds of node an outside check names for schedules (long-quiet nodes with a nightly job,
business-hours CI, busy nodes with daily jobs, jobs among random bursts), built from the
schedule tests' own generators (tests/support/daily_traces.py).

Kinds (``--kinds``, comma-separated, taken in turn node by node):

- ``quiet``: a pod every few hours, and a job of 12-25 pods started within 3 s at one
  UTC hour every day, 0-300 s past it (weekdays only on about two nodes in five);
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

import sys
from pathlib import Path

import click
import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from support import daily_traces as dt

KINDS = ("quiet", "business", "mixed", "jobburst", "curveburst")


def node_rows(node: str, kind: str, rng: np.random.Generator, days: int) -> list[dt.Row]:
    if kind == "quiet":
        return dt.background(node, rng, days, 0.3) + dt.daily_job(
            node, rng, days, float(rng.integers(0, 24)), int(rng.integers(12, 26)),
            spread=3.0, weekdays_only=bool(rng.random() < 0.4), late=300.0)  # fmt: skip
    if kind == "business":
        return dt.background(node, rng, days, 1.0) + dt.business_churn(
            node, rng, days, int(rng.integers(6, 16))
        )
    if kind == "mixed":
        rows = dt.background(node, rng, days, 4.0)
        for hour in rng.choice(24, 2, replace=False):
            rows += dt.daily_job(node, rng, days, float(hour), int(rng.integers(5, 15)), spread=5.0)
        return rows
    if kind == "jobburst":
        rows = dt.background(node, rng, days, float(rng.choice([0.3, 1.0, 3.0])))
        rows += dt.random_bursts(node, rng, days, float(rng.choice([1.0, 2.0])), 15)
        return rows + dt.daily_job(node, rng, days, float(rng.integers(0, 24)), 25)
    return dt.daily_curve(node, rng, days) + dt.random_bursts(node, rng, days, 2.0, 15)


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
    rng = np.random.default_rng(seed)
    rows: list[dt.Row] = []
    for k in range(nodes):
        rows += node_rows(f"node-{k:02d}", chosen[k % len(chosen)], rng, days)
    dt.write(output, rows)
    click.echo(f"wrote {len(rows):,} rows of {nodes} nodes, {days} days to {output}", err=True)


if __name__ == "__main__":
    main()
