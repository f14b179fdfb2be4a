"""Churn traces whose pods are placed as kube-scheduler places them (spread or binpack).

Two sources of pods:

- ``workload``: the workload model of ``pool_engine/workload.py`` (the churn behind
  ``eni-exporter simulate``), its arrivals taken cluster-wide and placed onto the
  nodes by :func:`pool_engine.placement.place` (CPU requests and the pool's slots,
  LeastAllocated or MostAllocated). ``--quiet`` dedicates a share of the nodes to a
  few long-lived services (pinned there: a few starts a week).
- ``retrace``: the pods of an existing trace with a ``pod`` column (e.g. the
  nycflights trace of ``bench/public_trace.py``), placed onto ``--nodes`` nodes of
  one shape.

Node shapes: CPU cores from the workload's instance mix (allocatable 92 %), slots
= TKE's route-eni max-attach for the size. The trace carries a ``mode`` column.

    python bench/placed_trace.py workload --nodes 50 --seed 1 --placement binpack -o t.csv
    python bench/placed_trace.py retrace bench/out/nycflights-week.csv --nodes 16 -o t.csv
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pandas as pd

from pool_engine.config import Mode, default_limits
from pool_engine.events import START
from pool_engine.placement import UNPLACED, NodeShapes, Placement, place
from pool_engine.workload import WorkloadSpec, generate, node_sizes

ALLOCATABLE = 0.92
"""Share of a node's CPU that pods may request (the rest is reserved)."""


def shapes_of(cores: np.ndarray) -> NodeShapes:
    slots = [default_limits(int(c), Mode.ROUTE_ENI).capacity for c in cores]
    return NodeShapes((cores * 1000 * ALLOCATABLE).astype(np.int64), np.array(slots, np.int64))


def write(path: Path, times: np.ndarray, nodes: np.ndarray, kinds: np.ndarray,
          pods: np.ndarray, names: list[str]) -> None:  # fmt: skip
    kept = nodes != UNPLACED
    frame = pd.DataFrame({
        "time": np.round(times[kept], 3),
        "node": np.array(names, dtype=object)[nodes[kept]],
        "event": np.where(kinds[kept] == START, "start", "stop"),
        "pod": [f"pod-{p}" for p in pods[kept]],
        "mode": Mode.ROUTE_ENI.value,
    })  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.3f")
    starts = int((kinds == START).sum())
    lost = int(((kinds == START) & ~kept).sum())
    click.echo(f"wrote {kept.sum():,} rows of {len(set(nodes[kept]))} nodes to {path} "
               f"({lost:,} of {starts:,} pods fit nowhere)", err=True)  # fmt: skip


@click.group()
def main() -> None:
    """Write churn traces placed by a kube-scheduler model."""


@main.command()
@click.option("--nodes", type=click.IntRange(1), default=50, show_default=True)
@click.option("--days", type=float, default=7.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--churn", type=float, default=1.0, show_default=True)
@click.option(
    "--quiet",
    type=float,
    default=0.1,
    show_default=True,
    help="Share of nodes dedicated to a few long-lived services.",
)
@click.option("--placement", type=click.Choice([p.value for p in Placement]), default="spread")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def workload(nodes: int, days: float, seed: int, churn: float, quiet: float, placement: str,
             output: Path) -> None:  # fmt: skip
    """The workload model's arrivals, placed cluster-wide."""
    spec = WorkloadSpec(nodes=nodes, days=days, seed=seed, churn=churn, quiet=quiet)
    churn_rows = generate(spec)
    times = np.concatenate([c.times for c in churn_rows])
    kinds = np.concatenate([c.kinds for c in churn_rows])
    pods = np.concatenate([c.pods for c in churn_rows])
    requests = np.concatenate([c.requests for c in churn_rows if c.requests is not None])
    pinned = np.concatenate([np.full(c.times.shape[0], k if c.quiet else -1, np.int64)
                             for k, c in enumerate(churn_rows)])  # fmt: skip
    order = np.lexsort((kinds, times))
    times, kinds, pods, requests, pinned = (
        a[order] for a in (times, kinds, pods, requests, pinned)
    )
    shapes = shapes_of(node_sizes(spec))
    where = place(kinds, pods, requests, pinned, shapes, Placement(placement))
    write(output, times, where, kinds, pods, [c.name for c in churn_rows])


@main.command()
@click.argument("trace", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--nodes", type=click.IntRange(1), default=16, show_default=True)
@click.option("--cores", type=click.IntRange(1), default=8, show_default=True)
@click.option(
    "--request",
    type=click.IntRange(1),
    default=250,
    show_default=True,
    help="CPU millicores every pod asks for.",
)
@click.option("--placement", type=click.Choice([p.value for p in Placement]), default="binpack")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def retrace(trace: Path, nodes: int, cores: int, request: int, placement: str,
            output: Path) -> None:  # fmt: skip
    """The pods of TRACE (it needs a pod column), placed onto NODES nodes of one shape."""
    rows = pd.read_csv(trace)
    stamps = pd.to_datetime(rows["time"], utc=True, format="ISO8601", errors="coerce")
    if stamps.notna().all():
        seconds = (stamps - stamps.min()).dt.total_seconds().to_numpy()
    else:
        seconds = rows["time"].astype(float).to_numpy()
    kinds = np.where(rows["event"].to_numpy() == "start", START, 1).astype(np.int8)
    pods = pd.factorize(rows["pod"])[0].astype(np.int64)
    order = np.lexsort((kinds, seconds))
    seconds, kinds, pods = seconds[order], kinds[order], pods[order]
    shapes = shapes_of(np.full(nodes, cores))
    none = np.full(kinds.shape[0], -1, np.int64)
    where = place(kinds, pods, np.full(kinds.shape[0], request), none, shapes,
                  Placement(placement))  # fmt: skip
    write(output, seconds, where, kinds, pods, [f"node-{k:02d}" for k in range(nodes)])


if __name__ == "__main__":
    main()
