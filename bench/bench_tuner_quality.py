"""Quality of `eni-tuner recommend`: recommend from the first half of a trace, replay
the second half with docs/contracts/simulation.md (`eni-tuner simulate`), compare with TKE's 5/5
and with the best static per-node targets chosen in hindsight.

Traces are recorded by `eni-exporter simulate --record` (one per seed); any other
trace can be given with --trace. Everything runs through the command-line tools, as
a user would.

    python bench/bench_tuner_quality.py --seeds 1 2 3 --nodes 50
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import numpy as np

from pool_engine.config import DEFAULT_ROUTE_ENI_TARGETS
from pool_engine.simulator import NodeTargets
from pool_engine.trace import Trace, load_trace
from tuner.analysis import AnalysisSettings, recommend
from tuner.history import History

HERE = Path(__file__).parent
WEEK = 7 * 86400


def record(out: Path, nodes: int, seed: int, churn: float) -> Path:
    trace = out / f"sim-{nodes}n-seed{seed}-churn{churn:g}.csv"
    if not trace.exists():
        subprocess.run(
            ["eni-exporter", "simulate", "--nodes", str(nodes), "--seed", str(seed),
             "--churn", str(churn), "--speed", "1000000", "--duration", str(WEEK),
             "--record", str(trace), "--listen", "127.0.0.1:0", "--log-level", "warning"],
            check=True,
        )  # fmt: skip
    return trace


def split(trace: Path, out: Path) -> tuple[Path, Path]:
    """First half as is; second half shifted to start at 0 (numeric seconds)."""
    t = load_trace(trace)
    half = t.end / 2.0
    rows = [(float(x), t.nodes[k], "start" if e == 0 else "stop")
            for k in range(len(t.nodes)) for x, e in zip(*t.node_rows(k), strict=True)]  # fmt: skip
    rows.sort(key=lambda r: r[0])
    first, second = out / f"{trace.stem}.first.csv", out / f"{trace.stem}.second.csv"
    with first.open("w") as a, second.open("w") as b:
        a.write("time,node,event\n")
        b.write("time,node,event\n")
        for x, node, event in rows:
            if x < half:
                a.write(f"{x:.3f},{node},{event}\n")
            else:
                b.write(f"{x - half:.3f},{node},{event}\n")
    return first, second


def simulate(trace: Path, targets: Path | None = None) -> dict[str, dict[str, float]]:
    args = ["eni-tuner", "simulate", str(trace), "-o", "json"]
    if targets is not None:
        args += ["--targets", str(targets)]
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    nodes: dict[str, dict[str, float]] = json.loads(done.stdout)["nodes"]
    return nodes


def hindsight(second: Path, out: Path, rate: float) -> Path:
    """Cheapest per-node static targets meeting ``rate`` on the replayed half itself."""
    trace: Trace = load_trace(second)
    # a simulate replay: no pods held at the start
    history = History(trace, np.zeros(len(trace.nodes), dtype=np.int64))
    settings = AnalysisSettings(safety=1.0, half_life_hours=1e9, min_arrivals=1,
                                min_history_hours=0.0, bands=(0, 1, 2, 3, 4, 6, 8))  # fmt: skip
    settings = AnalysisSettings(**{**settings.__dict__, "objective": settings.objective})
    recs = recommend(history, settings, default=NodeTargets(DEFAULT_ROUTE_ENI_TARGETS))
    path = out / f"{second.stem}.hindsight.csv"
    with path.open("w") as f:
        f.write("node,min_warm,max_warm\n")
        for r in recs:
            f.write(f"{r.node},{r.recommended.min_warm},{r.recommended.max_warm}\n")
    return path


def totals(nodes: dict[str, dict[str, float]], only: set[str] | None = None) -> tuple[float, float]:
    picked = [s for n, s in nodes.items() if only is None or n in only]
    starts = sum(s["pod_starts"] for s in picked)
    cold = sum(s["cold_starts"] for s in picked)
    idle = sum(s["idle_slot_seconds"] for s in picked)
    return (cold / starts if starts else 0.0), idle


@click.command()
@click.option(
    "--sim",
    "sims",
    multiple=True,
    default=("1:1", "2:1", "3:0.3"),
    show_default=True,
    help="SEED:CHURN of a trace to record with eni-exporter simulate.",
)
@click.option("--nodes", type=int, default=50, show_default=True)
@click.option(
    "--trace",
    "traces",
    type=click.Path(exists=True, path_type=Path),
    multiple=True,
    help="Further traces to evaluate (e.g. one derived from a public dataset).",
)
@click.option("--rate", type=float, default=0.01, show_default=True)
def main(sims: tuple[str, ...], nodes: int, traces: tuple[Path, ...], rate: float) -> None:
    """Print the protocol's table."""
    out = HERE / "out" / "quality"
    out.mkdir(parents=True, exist_ok=True)
    inputs = [record(out, nodes, int(s.split(":")[0]), float(s.split(":")[1])) for s in sims]
    inputs += list(traces)
    click.echo("| trace | cold starts: recommended / hindsight / TKE 5/5 | idle: recommended vs "
               "hindsight | idle vs 5/5, whole trace | nodes where 5/5 meets 1%: idle vs 5/5, "
               "recommended / hindsight (nodes; of them cut >= 50 %) |")  # fmt: skip
    click.echo("|---|---|---|---|---|")
    for trace in inputs:
        first, second = split(trace, out)
        recommended = out / f"{trace.stem}.recommended.csv"
        done = subprocess.run(["eni-tuner", "recommend", "--trace", str(first), "-o", "csv"],
                              check=True, capture_output=True, text=True)  # fmt: skip
        recommended.write_text(done.stdout)
        ours = simulate(second, recommended)
        best = simulate(second, hindsight(second, out, rate))
        tke = simulate(second)
        ours_rate, ours_idle = totals(ours)
        best_rate, best_idle = totals(best)
        tke_rate, tke_idle = totals(tke)
        meets = {n for n, s in tke.items()
                 if s["pod_starts"] and s["cold_starts"] <= rate * s["pod_starts"]}  # fmt: skip
        _, ours_idle_m = totals(ours, meets)
        _, best_idle_m = totals(best, meets)
        _, tke_idle_m = totals(tke, meets)
        halved = sum(ours[n]["idle_slot_seconds"] <= 0.5 * tke[n]["idle_slot_seconds"]
                     for n in meets)  # fmt: skip
        subset = (f"{ours_idle_m / tke_idle_m:.0%} / {best_idle_m / tke_idle_m:.0%} "
                  f"({len(meets)}; {halved})") if meets else "- (0)"  # fmt: skip
        click.echo(f"| {trace.name} | {ours_rate:.2%} / {best_rate:.2%} / {tke_rate:.2%} "
                   f"| {ours_idle / best_idle:.2f}x | {ours_idle / tke_idle:.0%} "
                   f"| {subset} |")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
