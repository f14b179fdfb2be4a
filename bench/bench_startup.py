"""Benchmark how fast the command lines start: `--help` of every command, and what
importing each command line costs (issue 14: `--help` <= 0.5 s).

Each command runs ``--repeat`` times as a fresh process (after one warm-up, so the
files are in the page cache), like hyperfine; the median is reported, with the bare
interpreter (`python -c pass`) for reference: on a machine whose site-packages run
``.pth`` hooks that alone can be a good part of the figure. ``--importtime`` adds the
ten slowest imports of each command line (``python -X importtime``).

    python bench/bench_startup.py                 # median of 5
    python bench/bench_startup.py --importtime
"""

from __future__ import annotations

import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import click

HEAVY = ("sklearn", "matplotlib", "numba", "kubernetes", "pandas", "prometheus_api_client")
COMMANDS = (
    ("eni-tuner", ()),
    ("eni-tuner", ("recommend",)),
    ("eni-tuner", ("apply",)),
    ("eni-tuner", ("backtest",)),
    ("eni-tuner", ("simulate",)),
    ("eni-exporter", ()),
    ("eni-exporter", ("run",)),
    ("eni-exporter", ("simulate",)),
)


def _script(name: str) -> list[str]:
    """The console script next to this interpreter (not a version manager's shim,
    which adds its own start-up), else the module's entry through ``python -c``."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return [str(beside)]
    found = shutil.which(name)
    if found is not None:
        return [found]
    module = "tuner.cli" if name == "eni-tuner" else "exporter.cli"
    return [sys.executable, "-c", f"from {module} import main; main()"]


def _median_seconds(argv: list[str], repeat: int) -> tuple[float, list[float]]:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)  # warm-up
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        runs.append(time.perf_counter() - began)
    return statistics.median(runs), runs


def _slowest_imports(module: str, top: int) -> list[tuple[float, str]]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]) / 1e6, parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def _loaded_heavy(module: str) -> list[str]:
    code = f"import sys, {module}; print(' '.join(n for n in {HEAVY!r} if n in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


@click.command()
@click.option("--repeat", type=click.IntRange(1), default=5, show_default=True)
@click.option("--importtime", is_flag=True, help="Also list each CLI's slowest imports.")
def main(repeat: int, importtime: bool) -> None:
    """Print the median wall time of every `--help` and the bare interpreter."""
    click.echo(f"machine: {platform.processor() or platform.machine()}, "
               f"python {platform.python_version()}, median of {repeat}")  # fmt: skip
    base, runs = _median_seconds([sys.executable, "-c", "pass"], repeat)
    click.echo(f"{'python -c pass':36} {base:6.3f} s   ({', '.join(f'{r:.3f}' for r in runs)})")
    for name, sub in COMMANDS:
        argv = [*_script(name), *sub, "--help"]
        median, runs = _median_seconds(argv, repeat)
        label = " ".join((name, *sub, "--help"))
        click.echo(f"{label:36} {median:6.3f} s   ({', '.join(f'{r:.3f}' for r in runs)})")
    for module in ("tuner.cli", "exporter.cli"):
        heavy = _loaded_heavy(module)
        click.echo(
            f"import {module}: loads {', '.join(heavy) if heavy else 'none of ' + str(HEAVY)}"
        )
        if importtime:
            for seconds, name in _slowest_imports(module, 10):
                click.echo(f"    {seconds:6.3f} s cumulative  {name.strip()}")


if __name__ == "__main__":
    main()
