"""Generate a synthetic churn trace (docs/contracts/trace.md) for benchmarks and experiments.

The workload model (services under a daily HPA curve, rollouts in surge waves, batch
bursts, cron fan-outs; node sizes from a typical instance mix) is documented in
``pool_engine/workload.py``. The same (nodes, days, seed, churn) always gives the
same file.

    python bench/gen_trace.py --nodes 1000 --days 7 --churn 3.2 -o bench/out/week.csv
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from pool_engine.tracefile import churn_table, write_table
from pool_engine.workload import WorkloadSpec, generate


@click.command()
@click.option("--nodes", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=7.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--churn",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Multiplier on every arrival rate.",
)
@click.option("--pods", "with_pods", is_flag=True, help="Add a pod column (bigger file).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Trace to write: .csv, or .parquet/.pq for Parquet.",
)
def main(nodes: int, days: float, seed: int, churn: float, with_pods: bool, output: Path) -> None:
    """Write a synthetic churn trace for NODES nodes over DAYS days."""
    began = time.perf_counter()
    churn_rows = generate(WorkloadSpec(nodes=nodes, days=days, seed=seed, churn=churn))
    table = churn_table(churn_rows, with_pods=with_pods)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_table(table, output)
    click.echo(
        f"wrote {table.num_rows:,} events of {nodes:,} nodes over {days:g} days to {output} "
        f"({output.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - began:.1f}s",
        err=True,
    )


if __name__ == "__main__":
    main()
