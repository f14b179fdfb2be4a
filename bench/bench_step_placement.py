"""What Prometheus' steps do to a recommendation, and what the burst counter gives back.

From Prometheus the tuner reads pod starts and stops per step (30 s by default), not
their instants. This bench takes a recorded trace (the truth), turns it into what
Prometheus would hold at each step (starts, stops, and the exporter's burst count,
``eni_pool_pod_start_bursts_total`` and ``..._pairs_total``, counted with the engine's own rule,
:class:`pool_engine.counters.PoolCounters`), rebuilds a history from those counts
the way the tuner does (:mod:`tuner.within_step`) and runs `eni-tuner recommend` on
it. Every recommendation is replayed on the TRUE trace (`eni-tuner simulate`):

- **exact**: recommend on the trace itself (what the counts cannot beat);
- **step end**: every event at the end of its step (the tuner before the burst counter,
  and still without it: kube-state-metrics);
- **bursts**: starts placed by the burst counts, stops at the step's end.

Route-eni rows only (recommend's default mode). Prints a markdown table.

    python bench/bench_step_placement.py [TRACE] [--step 15 --step 30 --step 60]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import numpy as np
import pandas as pd

from pool_engine.config import Mode
from pool_engine.counters import PoolCounters
from tuner.within_step import StepCounts, node_start_times

HERE = Path(__file__).parent
DEFAULT = HERE / "out" / "schedule" / "sim-daily-spread-seed1.first.csv"


def route_rows(path: Path) -> pd.DataFrame:
    rows = pd.read_csv(path)
    if "mode" in rows.columns:
        rows = rows[rows["mode"].fillna("route-eni").isin(["route-eni", ""])]
    rows = rows[["time", "node", "event"]].reset_index(drop=True)
    seconds = pd.to_numeric(rows["time"], errors="coerce")
    if seconds.isna().any():  # RFC 3339: seconds from the earliest row, as the tuner reads it
        stamps = pd.to_datetime(rows["time"], utc=True, format="ISO8601")
        seconds = (stamps - stamps.min()).dt.total_seconds()
    rows["time"] = seconds
    return rows.sort_values("time", kind="stable").reset_index(drop=True)


def from_counts(rows: pd.DataFrame, step: int, bursts: bool) -> pd.DataFrame:
    """The history the tuner rebuilds from per-step counts (existing pods at 0 kept),
    through the tuner's own placement (:func:`tuner.within_step.node_start_times`)."""
    out: list[tuple[float, str, str]] = []
    for node, group in rows.groupby("node", sort=False):
        times = group["time"].to_numpy(dtype=float)
        kinds = group["event"].to_numpy()
        counters = PoolCounters()
        per: dict[float, list[int]] = {}
        for t, kind in zip(times, kinds, strict=True):
            if t == 0 and kind == "start":
                out.append((0.0, str(node), "start"))  # existing pods: exact in both
                continue
            end = float(np.ceil(t / step) * step) or float(step)
            cell = per.setdefault(end, [0, 0, 0, 0])
            if kind == "start":
                began, paired = counters.pod_start_bursts, counters.pod_start_pairs
                counters.started(Mode.ROUTE_ENI, t)
                cell[0] += 1
                cell[2] += counters.pod_start_bursts - began
                cell[3] += counters.pod_start_pairs - paired
            else:
                cell[1] += 1
        steps = sorted(per.items())
        points = [(end, float(c[0])) for end, c in steps if c[0]]
        # as Prometheus answers: steps without a burst (pair) are left out ("> 0")
        counts = StepCounts({e: float(c[2]) for e, c in steps if c[2]},
                            {e: float(c[3]) for e, c in steps if c[3]}, -np.inf)  # fmt: skip
        for at, count in node_start_times(points, step, counts if bursts else None):
            out.extend([(at, str(node), "start")] * count)
        for end, c in steps:
            out.extend([(end, str(node), "stop")] * c[1])
    frame = pd.DataFrame(out, columns=["time", "node", "event"])
    frame["order"] = (frame["event"] == "stop").astype(int)
    return frame.sort_values(["time", "order"], kind="stable").drop(columns="order")


def scored(history: Path, truth: Path, work: Path) -> tuple[float, float, float, float]:
    """(mean min, mean max, cold rate, idle slot-hours) of recommend on ``history``
    replayed on ``truth``."""
    targets = work / f"{history.stem}.targets.csv"
    done = subprocess.run(["eni-tuner", "recommend", "--trace", str(history), "-o", "csv"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    targets.write_text(done.stdout)
    recs = pd.read_csv(targets)
    sim = subprocess.run(["eni-tuner", "simulate", str(truth), "--targets", str(targets),
                          "-o", "json"], capture_output=True, text=True, check=True)  # fmt: skip
    total = json.loads(sim.stdout)["total"]
    return (recs["min_warm"].mean(), recs["max_warm"].mean(),
            total["cold_starts"] / max(total["pod_starts"], 1),
            total["idle_slot_seconds"] / 3600.0)  # fmt: skip


@click.command()
@click.argument("trace", required=False, type=click.Path(exists=True, path_type=Path),
                default=DEFAULT)  # fmt: skip
@click.option("--step", "steps", multiple=True, type=int, default=(15, 30, 60),
              show_default=True)  # fmt: skip
def main(trace: Path, steps: tuple[int, ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        truth = work / "truth.csv"
        rows = route_rows(trace)
        rows.to_csv(truth, index=False)
        click.echo(f"{trace.name}: {rows.node.nunique()} nodes, {len(rows):,} rows")
        click.echo("| history | mean min / max warm | cold starts (replayed on the truth) "
                   "| idle slot-hours | idle vs exact |")  # fmt: skip
        click.echo("|---|---|---|---|---|")
        exact = scored(truth, truth, work)
        rows_out = [("exact (the trace)", exact)]
        for step in steps:
            for bursts in (False, True):
                name = f"{step}s-{'bursts' if bursts else 'end'}"
                path = work / f"{name}.csv"
                from_counts(rows, step, bursts).to_csv(path, index=False)
                label = f"--step {step}: {'by burst counts' if bursts else 'at step ends'}"
                rows_out.append((label, scored(path, truth, work)))
        for label, (lo, hi, cold, idle) in rows_out:
            click.echo(f"| {label} | {lo:.2f} / {hi:.2f} | {cold:.2%} | {idle:,.0f} | "
                       f"{idle / exact[3]:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
