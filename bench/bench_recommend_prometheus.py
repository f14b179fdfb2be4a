"""Benchmark `eni-tuner recommend --prometheus-url` on N nodes x 7 days of history.

Writes the exporter's pod start/stop counters and its burst and pair counters (counted
with the engine's rule) for a synthetic week (the workload model, a keep-alive sample
every 4 minutes)
and its target and max-attach gauges (a sample every 4 minutes)
as OpenMetrics, turns them into TSDB blocks with `promtool tsdb create-blocks-from
openmetrics`, serves them with Prometheus on loopback and times the recommendation
(a fresh process: queries, transfer, analysis) with its peak RSS.

    python bench/bench_recommend_prometheus.py --nodes 1000 --churn 1
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click
import numpy as np

from pool_engine.config import Mode
from pool_engine.counters import PoolCounters
from pool_engine.events import START
from pool_engine.workload import WorkloadSpec, generate

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from support.prom import prometheus

STEP, DAYS, KEEPALIVE = 30, 7, 240


def _bunching(starts: np.ndarray, steps: np.ndarray, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Per step, the starts that began a burst and the pairs within bursts."""
    counters = PoolCounters()
    began, paired = np.zeros(starts.size, np.int64), np.zeros(starts.size, np.int64)
    for j, t in enumerate(starts.tolist()):
        b, q = counters.pod_start_bursts, counters.pod_start_pairs
        counters.started(Mode.ROUTE_ENI, t)
        began[j], paired[j] = counters.pod_start_bursts - b, counters.pod_start_pairs - q
    return (np.bincount(steps, began, minlength=last + 1).astype(np.int64),
            np.bincount(steps, paired, minlength=last + 1).astype(np.int64))  # fmt: skip


def write_openmetrics(path: Path, t0: int, nodes: int, churn: float, with_bursts: bool) -> int:
    last = DAYS * 86400 // STEP
    samples = 0
    with path.open("w") as out:
        series = []
        for node in generate(WorkloadSpec(nodes=nodes, days=DAYS, seed=9, churn=churn)):
            live = node.times > 0
            k = np.maximum(1, np.ceil(node.times[live] / STEP)).astype(np.int64)
            is_start = node.kinds[live] == START
            bursts, pairs = _bunching(node.times[live][is_start], k[is_start], last)
            series.append((node.name, np.bincount(k[is_start], minlength=last + 1),
                           np.bincount(k[~is_start], minlength=last + 1),
                           int(((node.times == 0) & (node.kinds == START)).sum()),
                           bursts, pairs))  # fmt: skip
        keep = np.zeros(last + 1, dtype=bool)
        keep[:: KEEPALIVE // STEP] = True
        keep[-1] = True
        families = [("eni_pool_pod_starts", 1), ("eni_pool_pod_stops", 2)]
        if with_bursts:
            families += [("eni_pool_pod_start_bursts", 4), ("eni_pool_pod_start_pairs", 5)]
        for family, which in families:
            out.write(f"# TYPE {family} counter\n")
            for row in series:
                counts = row[which]
                total = np.cumsum(counts)
                at = np.nonzero(keep | (counts > 0))[0]
                label = f'{family}_total{{node="{row[0]}",mode="route-eni"}} '
                out.writelines(f"{label}{total[j]} {t0 + j * STEP}\n" for j in at)
                samples += at.size
        for family, value in (("eni_pool_min_warm_target", 5), ("eni_pool_max_warm_target", 5),
                              ("eni_pool_max_attach_slots", 95)):  # fmt: skip
            out.write(f"# TYPE {family} gauge\n")
            at = np.nonzero(keep)[0]
            for row in series:
                label = f'{family}{{node="{row[0]}",mode="route-eni"}} {value} '
                out.writelines(f"{label}{t0 + j * STEP}\n" for j in at)
                samples += at.size
        out.write("# TYPE eni_pool_in_use_slots gauge\n")
        for row in series:
            out.write(f'eni_pool_in_use_slots{{node="{row[0]}",mode="route-eni"}} {row[3]} {t0}\n')
        out.write("# TYPE eni_pool_waiting_pods gauge\n")
        for row in series:
            out.write(f'eni_pool_waiting_pods{{node="{row[0]}",mode="route-eni"}} 0 {t0}\n')
        out.write("# EOF\n")
    return samples


@click.command()
@click.option("--nodes", type=int, default=1000, show_default=True)
@click.option("--churn", type=float, default=1.0, show_default=True)
@click.option("--reuse", is_flag=True, help="Serve the blocks of an earlier run again.")
@click.option("--bursts/--no-bursts", "with_bursts", default=True, show_default=True,
              help="Also the burst and pair counters (older exporters had none).")  # fmt: skip
def main(nodes: int, churn: float, reuse: bool, with_bursts: bool) -> None:
    name = f"prom-{nodes}n-churn{churn:g}{'' if with_bursts else '-nobursts'}"
    work = Path(__file__).parent / "out" / name
    work.mkdir(parents=True, exist_ok=True)
    if reuse and (work / "t0").exists():
        t0 = int((work / "t0").read_text())
    else:
        t0 = (int(datetime.now(UTC).timestamp()) - (DAYS + 1) * 86400) // 3600 * 3600
        began = time.perf_counter()
        samples = write_openmetrics(work / "history.om", t0, nodes, churn, with_bursts)
        click.echo(f"wrote {samples:,} samples in {time.perf_counter() - began:.0f}s")
        began = time.perf_counter()
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics",
                        str(work / "history.om"), str(work / "tsdb")], check=True,
                       capture_output=True)  # fmt: skip
        click.echo(f"promtool created the blocks in {time.perf_counter() - began:.0f}s")
        (work / "t0").write_text(str(t0))
    with prometheus(work) as url:
        start = datetime.fromtimestamp(t0, UTC).isoformat()
        end = datetime.fromtimestamp(t0 + DAYS * 86400, UTC).isoformat()
        began = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "eni-tuner", "recommend", "--prometheus-url", url,
             "--start", start, "--end", end, "--step", str(STEP), "-o", "json"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - began
    rss = int(done.stderr.strip().splitlines()[-1]) / 1024  # GNU time: peak RSS in KiB
    click.echo(f"recommend from Prometheus: {nodes} nodes x {DAYS} days in {wall:.1f}s, "
               f"peak RSS {rss:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
