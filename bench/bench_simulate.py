"""Benchmark `eni-tuner simulate` on a 1,000-node x 7-day trace (~20 million events).

Measures, with medians over --repeat runs:
- end to end: the `eni-tuner simulate TRACE -o json` process (loading included),
  wall time and peak RSS;
- the simulation step alone: the compiled replay of every node, in-process, after
  a warm-up run (so no compilation is timed);
- idle rounds: 1,000 nodes with two events 30 years apart (7.9 million release
  ticks per node, none with anything to release) must cost nothing.

    python bench/bench_simulate.py            # generates bench/out/week.csv if missing
"""

from __future__ import annotations

import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import click

from pool_engine.config import Targets
from pool_engine.replay import NodeTargets, Run, SimulationSettings, replay
from pool_engine.trace import from_rows, load_trace

HERE = Path(__file__).parent


def _end_to_end(trace: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one `eni-tuner simulate` process."""
    code = (
        "import resource, sys, time\n"
        "from tuner.cli import main\n"
        f"sys.argv = ['eni-tuner', 'simulate', {str(trace)!r}, '-o', 'json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
    )
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, peak


@click.command()
@click.option("--trace", type=click.Path(path_type=Path), default=HERE / "out" / "week.csv",
              show_default=True)  # fmt: skip
@click.option("--repeat", type=click.IntRange(1), default=5, show_default=True)
def main(trace: Path, repeat: int) -> None:
    """Print end-to-end and simulation-step throughput of `eni-tuner simulate`."""
    if not trace.exists():
        click.echo(f"generating {trace} ...", err=True)
        subprocess.run(
            [sys.executable, str(HERE / "gen_trace.py"), "--nodes", "1000", "--days", "7",
             "--churn", "3.2", "-o", str(trace)],
            check=True,
        )  # fmt: skip
    loaded = load_trace(trace)
    events = loaded.events
    click.echo(f"trace: {trace} ({events:,} events, {len(loaded.nodes):,} nodes)")
    click.echo(f"machine: {platform.processor() or platform.machine()}, "
               f"python {platform.python_version()}")  # fmt: skip

    _end_to_end(trace)  # warm the numba cache
    walls, peaks = [], []
    for _ in range(repeat):
        wall, peak = _end_to_end(trace)
        walls.append(wall)
        peaks.append(peak)
    wall = statistics.median(walls)
    runs_text = ", ".join(f"{w:.2f}" for w in walls)
    click.echo(f"end to end: median {wall:.2f} s -> {events / wall / 1e6:.2f} M events/s "
               f"(runs: {runs_text}); peak RSS {max(peaks):.0f} MiB")  # fmt: skip

    settings = SimulationSettings()
    runs = [Run(k, settings.defaults) for k in range(len(loaded.nodes))]
    replay(loaded, runs, settings)
    steps = []
    for _ in range(repeat):
        began = time.perf_counter()
        replay(loaded, runs, settings)
        steps.append(time.perf_counter() - began)
    step = statistics.median(steps)
    click.echo(f"simulation step: median {step:.3f} s -> {events / step / 1e6:.1f} M events/s "
               f"(runs: {', '.join(f'{s:.3f}' for s in steps)})")  # fmt: skip

    years = 30 * 365 * 86400.0
    sparse = from_rows(
        [t for _ in range(1000) for t in (0.0, years)],
        [f"n{k}" for k in range(1000) for _ in range(2)],
        ["start", "stop"] * 1000,
    )
    quick = SimulationSettings(NodeTargets(Targets(0, 3)), quick_release=True)
    sparse_runs = [Run(k, quick.defaults) for k in range(1000)]
    replay(sparse, sparse_runs, quick)
    began = time.perf_counter()
    stats = replay(sparse, sparse_runs, quick)
    idle = time.perf_counter() - began
    ticks = int(years // 120) * 1000
    released = int(stats.per_run.release_ops.sum())
    click.echo(f"idle rounds: {ticks:,} release ticks with nothing to release "
               f"in {idle * 1e3:.1f} ms (releases: {released})")  # fmt: skip
    click.echo(json.dumps({"events": events, "end_to_end_s": wall, "step_s": step,
                           "peak_rss_mib": max(peaks), "idle_ticks_ms": idle * 1e3}))  # fmt: skip


if __name__ == "__main__":
    main()
