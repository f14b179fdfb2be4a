"""`eni-tuner simulate` against a plain-Python replay of the same contract, end to end.

Both are fresh processes given the same CSV trace (default: 115 nodes x 7 days at
churn 3.2, about 2.3 million events, written by bench/gen_trace.py when missing)
and print the same JSON document (checked here, figure by figure); each runs
``--repeat`` times, alternately, after one warm-up run of each (which fills numba's
on-disk cache if it was empty); medians and their ratio are printed. CPU seconds
(user + system of the process) are printed too: on a shared machine they move less
than wall time.

    python bench/bench_simulate_vs_reference.py              # median of 5
    python bench/bench_simulate_vs_reference.py --trace t.csv --repeat 9
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import click

HERE = Path(__file__).parent


def _tuner() -> list[str]:
    beside = Path(sys.executable).with_name("eni-tuner")
    if beside.exists():  # the console script itself, not a version manager's shim
        return [str(beside)]
    found = shutil.which("eni-tuner")
    return [found] if found else [sys.executable, "-c", "from tuner.cli import main; main()"]


def _run(argv: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds and stdout of one process."""
    before = os.times()
    began = time.perf_counter()
    out = subprocess.run(argv, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - began
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu, out.stdout


def _same(a: object, b: object, where: str = "") -> list[str]:
    """Where two documents differ (floats: relative 1e-9, the totals' summation order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys differ"]
        return [d for k in a for d in _same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, float) or isinstance(b, float):
        ok = isinstance(a, int | float) and isinstance(b, int | float)
        return [] if ok and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) else [where]
    return [] if a == b else [where]


@click.command()
@click.option("--trace", type=click.Path(path_type=Path), default=HERE / "out" / "trace-2m.csv",
              show_default=True)  # fmt: skip
@click.option("--repeat", type=click.IntRange(1), default=5, show_default=True)
def main(trace: Path, repeat: int) -> None:
    """Print both medians and the ratio reference / simulate."""
    if not trace.exists():
        click.echo(f"generating {trace} ...", err=True)
        subprocess.run(
            [sys.executable, str(HERE / "gen_trace.py"), "--nodes", "115", "--days", "7",
             "--churn", "3.2", "-o", str(trace)],
            check=True,
        )  # fmt: skip
    ours = [*_tuner(), "simulate", str(trace), "-o", "json"]
    reference = [sys.executable, str(HERE / "reference_replay.py"), str(trace)]
    _, _, doc_ours = _run(ours)
    _, _, doc_ref = _run(reference)
    mismatch = _same(json.loads(doc_ours), json.loads(doc_ref))
    if mismatch:
        raise click.ClickException(f"the documents differ at {', '.join(mismatch[:5])}")
    document = json.loads(doc_ours)
    events = sum(n["pod_starts"] for n in document["nodes"].values())
    click.echo(f"trace: {trace} ({len(document['nodes'])} nodes, {events:,} pod starts)")
    click.echo(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
               f"python {platform.python_version()}, median of {repeat}")  # fmt: skip
    times: dict[str, list[tuple[float, float]]] = {"simulate": [], "reference": []}
    for _ in range(repeat):
        times["simulate"].append(_run(ours)[:2])
        times["reference"].append(_run(reference)[:2])
    medians = {}
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        medians[name] = (wall, cpu)
        text = ", ".join(f"{w:.2f}" for w, _ in runs)
        click.echo(f"{name:10} wall {wall:6.2f} s  cpu {cpu:6.2f} s   (wall runs: {text})")
    ratio_wall = medians["reference"][0] / medians["simulate"][0]
    ratio_cpu = medians["reference"][1] / medians["simulate"][1]
    click.echo(f"ratio reference / simulate: {ratio_wall:.1f}x wall, {ratio_cpu:.1f}x cpu")


if __name__ == "__main__":
    main()
