"""Quality of `eni-tuner recommend`: recommend from the first half of a trace, replay
the second half with docs/contracts/simulation.md (`eni-tuner simulate`), compare with
TKE's 5/5 and with two frontiers chosen in hindsight on the replayed half itself:

- per node: each node's cheapest static (min, max) meeting 1 % (the bar for traces
  whose placement follows node identity, `spread`);
- cluster-wide pair: the least idle of any single pair for every node that has no
  more cold starts than the recommendation got (the bar where the scheduler packs
  bursts onto whichever node has room, `binpack`: no tuner can know which node gets
  the next burst).

Traces: recorded by `eni-exporter simulate --record` (--sim SEED:CHURN), placed by a
kube-scheduler model (--placed SEED:CHURN:PLACEMENT, `bench/placed_trace.py workload`,
10 % quiet nodes), or given (--trace FILE, with --packed FILE for bin-packed ones).
Recommending and replaying go through the command-line tools, as a user would.

    python bench/bench_tuner_quality.py --trace bench/out/nycflights-week.csv \\
        --packed bench/out/quality/nyc-binpack.csv
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import numpy as np

from pool_engine.config import Targets
from pool_engine.replay import NodeTargets, Run, SimulationSettings, replay
from pool_engine.trace import load_trace

HERE = Path(__file__).parent
WEEK = 7 * 86400
MINS = (*range(1, 33), 40, 48, 64, 96)
BANDS = (0, 1, 2, 3, 4, 6, 8)


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


def placed(out: Path, nodes: int, seed: int, churn: float, placement: str) -> Path:
    trace = out / f"placed-{nodes}n-seed{seed}-churn{churn:g}-{placement}.csv"
    if not trace.exists():
        subprocess.run([sys.executable, str(HERE / "placed_trace.py"), "workload", "--nodes",
                        str(nodes), "--seed", str(seed), "--churn", str(churn), "--placement",
                        placement, "-o", str(trace)], check=True)  # fmt: skip
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


def grid(second: Path) -> tuple[list[str], list[tuple[int, int]], np.ndarray, np.ndarray,
                                 np.ndarray]:  # fmt: skip
    """Every node replayed (as `simulate` does) under every static pair of the grid:
    (nodes, pairs, starts[node], cold[node, pair], idle[node, pair])."""
    trace = load_trace(second)
    pairs = [(m, m + d) for m in MINS for d in BANDS]
    n = len(trace.nodes)
    runs = [Run(k, NodeTargets(Targets(m, big))) for k in range(n) for m, big in pairs]
    stats = replay(trace, runs, SimulationSettings()).per_run
    shape = (n, len(pairs))
    return (trace.nodes, pairs, stats.pod_starts.reshape(shape)[:, 0].astype(float),
            stats.cold_starts.reshape(shape).astype(float),
            stats.idle_slot_seconds.reshape(shape))  # fmt: skip


def per_node_hindsight(starts: np.ndarray, cold: np.ndarray, idle: np.ndarray,
                       rate: float) -> tuple[float, float]:  # fmt: skip
    """Each node's cheapest pair meeting ``rate`` (else its fewest cold starts)."""
    meets = cold <= rate * starts[:, None] + 1e-9
    fewest = cold <= cold.min(axis=1, keepdims=True)
    usable = np.where(meets.any(axis=1, keepdims=True), meets, fewest)
    pick = np.argmin(np.where(usable, idle, np.inf), axis=1)
    rows = np.arange(starts.shape[0])
    return float(cold[rows, pick].sum()), float(idle[rows, pick].sum())


def cluster_pair_frontier(cold: np.ndarray, idle: np.ndarray,
                          budget: float) -> tuple[float, str]:  # fmt: skip
    """Least idle of one pair for all nodes with at most ``budget`` cold starts."""
    total_cold, total_idle = cold.sum(axis=0), idle.sum(axis=0)
    ok = total_cold <= budget + 1e-9
    if not ok.any():
        j = int(np.argmin(total_cold))
        return float(total_idle[j]), f"{j}"
    j = int(np.argmin(np.where(ok, total_idle, np.inf)))
    return float(total_idle[j]), f"{j}"


def totals(
    nodes: dict[str, dict[str, float]], only: set[str] | None = None
) -> tuple[float, float, float]:
    picked = [s for n, s in nodes.items() if only is None or n in only]
    starts = sum(s["pod_starts"] for s in picked)
    cold = sum(s["cold_starts"] for s in picked)
    idle = sum(s["idle_slot_seconds"] for s in picked)
    return cold, starts, idle


def evaluate(trace: Path, out: Path, rate: float, packed: bool) -> str:
    first, second = split(trace, out)
    recommended = out / f"{trace.stem}.recommended.csv"
    done = subprocess.run(["eni-tuner", "recommend", "--trace", str(first), "-o", "csv"],
                          check=True, capture_output=True, text=True)  # fmt: skip
    recommended.write_text(done.stdout)
    ours, tke = simulate(second, recommended), simulate(second)
    names, pairs, starts, cold, idle = grid(second)
    o_cold, total, o_idle = totals(ours)
    t_cold, _, t_idle = totals(tke)
    h_cold, h_idle = per_node_hindsight(starts, cold, idle, rate)
    c_idle, c_pair = cluster_pair_frontier(cold, idle, o_cold)
    pair = pairs[int(c_pair)]
    o_r, t_r, h_r = o_cold / total, t_cold / total, h_cold / total
    meets = {n for n, s in tke.items()
             if s["pod_starts"] and s["cold_starts"] <= rate * s["pod_starts"]}  # fmt: skip
    subset = "-"
    if meets:
        t_m = totals(tke, meets)[2]
        h_m = per_node_subset(names, meets, starts, cold, idle, rate)
        subset = f"{totals(ours, meets)[2] / t_m:.0%} / {h_m / t_m:.0%}"
    if packed:
        bar = o_r <= max(rate, t_r) + 1e-9 and o_idle <= 1.25 * c_idle
        if t_r > rate:
            bar = bar and o_cold <= 0.75 * t_cold
    else:
        bar = o_r <= max(0.015, 1.25 * h_r) and o_idle <= 1.25 * h_idle
        if t_r > rate:
            bar = bar and o_cold <= t_cold
        elif meets:
            bar = bar and (o_idle <= 0.5 * t_idle or h_idle > 0.5 * t_idle)
    kind = "binpack" if packed else "spread"
    return (f"| {trace.name} | {kind} | {o_r:.2%} / {h_r:.2%} / {t_r:.2%} | "
            f"{o_idle / h_idle:.2f}x | {o_idle / c_idle:.2f}x ({pair[0]}/{pair[1]}) | "
            f"{o_idle / t_idle:.0%} | {subset} | {'yes' if bar else 'NO'} |")  # fmt: skip


def per_node_subset(names: list[str], only: set[str], starts: np.ndarray, cold: np.ndarray,
                    idle: np.ndarray, rate: float) -> float:  # fmt: skip
    rows = np.array([n in only for n in names])
    return per_node_hindsight(starts[rows], cold[rows], idle[rows], rate)[1]


@click.command()
@click.option(
    "--sim",
    "sims",
    multiple=True,
    default=("1:1", "2:1", "3:0.3"),
    show_default=True,
    help="SEED:CHURN of a trace to record with eni-exporter simulate.",
)
@click.option(
    "--placed",
    "placements",
    multiple=True,
    default=(
        "4:1:spread",
        "5:0.3:spread",
        "6:2:spread",
        "4:1:binpack",
        "5:0.3:binpack",
        "6:2:binpack",
    ),
    show_default=True,
    help="SEED:CHURN:PLACEMENT of a trace from bench/placed_trace.py workload.",
)
@click.option("--nodes", type=int, default=50, show_default=True)
@click.option(
    "--trace",
    "traces",
    type=click.Path(exists=True, path_type=Path),
    multiple=True,
    help="Further traces whose placement follows node identity.",
)
@click.option(
    "--packed",
    "packed",
    type=click.Path(exists=True, path_type=Path),
    multiple=True,
    help="Further bin-packed traces.",
)
@click.option("--rate", type=float, default=0.01, show_default=True)
def main(sims: tuple[str, ...], placements: tuple[str, ...], nodes: int,
         traces: tuple[Path, ...], packed: tuple[Path, ...], rate: float) -> None:  # fmt: skip
    """Print the protocol's table."""
    out = HERE / "out" / "quality"
    out.mkdir(parents=True, exist_ok=True)
    inputs = [(record(out, nodes, int(s.split(":")[0]), float(s.split(":")[1])), False)
              for s in sims]  # fmt: skip
    for spec in placements:
        seed, churn, placement = spec.split(":")
        inputs.append((placed(out, nodes, int(seed), float(churn), placement),
                       placement == "binpack"))  # fmt: skip
    inputs += [(t, False) for t in traces] + [(t, True) for t in packed]
    click.echo("| trace | placement | cold starts: recommended / per-node hindsight / TKE 5/5 "
               "| idle vs per-node hindsight | idle vs cluster-pair frontier (pair) "
               "| idle vs 5/5 | where 5/5 meets 1 %: idle vs 5/5, recommended / hindsight "
               "| bar met |")  # fmt: skip
    click.echo("|---|---|---|---|---|---|---|---|")
    for trace, is_packed in inputs:
        click.echo(evaluate(trace, out, rate, is_packed))


if __name__ == "__main__":
    sys.exit(main())
