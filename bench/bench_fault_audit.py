"""Run the fault audit of `eni-exporter simulate` for several seeds and fault mixes.

Each run is a fresh process, exactly as a user would start it:

    eni-exporter simulate --nodes 20 --seed S --speed max --duration 172800 \\
        --error-rate 0.2 --throttle-rate 0.2 --timeout-rate 0.05 --restart-every 1800 \\
        --audit --listen none

and the table shows its wall time, peak RSS, cloud calls, injected faults, engine
restarts, violations and max_seconds_below_min_warm_after_faults
(docs/contracts/fault-audit.md). Exit code 1 when any run found a violation or
exceeded its limits (10 minutes; 240 s below min warm after --faults-until).

    python bench/bench_fault_audit.py                       # 5 seeds x 4 mixes
    python bench/bench_fault_audit.py --seeds 11,12 --mix acceptance
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import click

EXPORTER = [sys.executable, "-c", "from exporter.cli import main; main()"]

MIXES: dict[str, list[str]] = {
    "acceptance": ["--error-rate", "0.2", "--throttle-rate", "0.2", "--timeout-rate", "0.05",
                   "--restart-every", "1800"],
    "harsh": ["--error-rate", "0.5", "--throttle-rate", "0.2", "--timeout-rate", "0.3",
              "--restart-every", "300"],
    "outage": ["--error-rate", "1", "--faults-until", "86400"],
    "outage+restarts": ["--error-rate", "1", "--faults-until", "86400", "--restart-every", "1800"],
}  # fmt: skip

WALL_LIMIT = 600.0
BELOW_LIMIT = 240.0


def audit(
    nodes: int, seed: int, duration: float, mix: list[str]
) -> tuple[dict[str, object], float, int]:
    """One audited run: its JSON, wall seconds and exit code."""
    args = [*EXPORTER, "simulate", "--nodes", str(nodes), "--seed", str(seed), "--speed", "max",
            "--duration", str(duration), *mix, "--audit", "--listen", "none"]  # fmt: skip
    began = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    if done.returncode not in (0, 1):
        raise click.ClickException(f"seed {seed}: exit {done.returncode}: {done.stderr[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall, done.returncode


@click.command()
@click.option("--seeds", default="1,2,3,4,5", show_default=True, help="Comma-separated seeds.")
@click.option("--mix", "mixes", multiple=True, type=click.Choice(list(MIXES)),
              help="Fault mixes to run  [default: all]")  # fmt: skip
@click.option("--nodes", type=click.IntRange(1), default=20, show_default=True)
@click.option("--duration", type=float, default=172800.0, show_default=True)
def main(seeds: str, mixes: tuple[str, ...], nodes: int, duration: float) -> None:
    """Print one row per audited run and a verdict."""
    failed = False
    click.echo("| mix | seed | wall s | cloud calls | errors / throttles / timeouts | restarts "
               "| violations | max s below min warm after faults |")  # fmt: skip
    click.echo("|---|---|---|---|---|---|---|---|")
    for name in mixes or tuple(MIXES):
        for seed in (int(s) for s in seeds.split(",")):
            report, wall, code = audit(nodes, seed, duration, MIXES[name])
            faults = report["faults"]
            violations = report["violations"]
            assert isinstance(faults, dict) and isinstance(violations, dict)
            bad = sum(violations.values())
            below = float(report["max_seconds_below_min_warm_after_faults"])  # type: ignore[arg-type]
            failed |= code != 0 or bad > 0 or wall > WALL_LIMIT or below > BELOW_LIMIT
            click.echo(f"| {name} | {seed} | {wall:.1f} | {report['cloud_calls']:,} | "
                       f"{faults['errors']:,} / {faults['throttles']:,} / {faults['timeouts']:,} | "
                       f"{report['restarts']} | {bad} | {below:.1f} |")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    click.echo(f"\npeak RSS of a run: {peak:.0f} MiB; verdict: {'FAIL' if failed else 'ok'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
