"""Benchmark the exporter at 5,000 nodes and 150,000 pods.

Builds the real engine state (registry, pools, simulated VPC) with 30 running pods
per node, then measures, with medians over --repeat runs:
- /metrics render (Prometheus text) from a snapshot, and the naive approach of
  labelled prometheus_client Gauges/Counters set per node and rendered with
  generate_latest, in the same run, on the same values;
- the snapshot the engine loop publishes;
- pod-event-to-bind-decision latency: ``Reconciler.pod_started`` (R5, then decide
  and submit for that node) over 20,000 pod starts and stops, p50/p99;
- peak RSS of this process (engine state + renderers).

    python bench/bench_exporter.py
"""

from __future__ import annotations

import random
import resource
import statistics
import time

import click
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from exporter.cloud import CloudSettings, SimulatedVpc
from exporter.metrics import FAMILIES, Instruments, Renderer
from exporter.snapshot import Snapshot, take_snapshot
from pool_engine.config import Limits, Mode
from pool_engine.reconciler import Reconciler
from pool_engine.registry import Registry


def build(nodes: int, pods_per_node: int) -> tuple[Reconciler, SimulatedVpc]:
    vpc = SimulatedVpc(CloudSettings(api_qps=1e9, subnets=(("subnet-a", 10**7),)))
    registry = Registry()
    reconciler = Reconciler(registry, vpc)
    reconciler.set_api_rate(1e9)
    now = 0.0
    for k in range(nodes):
        pool = registry.ensure(f"node-{k:05d}", Mode.ROUTE_ENI, Limits(7, 29), 0.0)
        for j in range(pods_per_node):
            reconciler.pod_started(pool, f"pod-{k}-{j}", now)
    for now in (60.0, 120.0, 180.0):
        reconciler.step(now)
    return reconciler, vpc


def naive(snapshot: Snapshot) -> tuple[float, float]:
    """Labelled metrics set per node, then generate_latest: seconds to update, to render."""
    registry = CollectorRegistry()
    metrics = []
    for family in FAMILIES:
        if family.value is None:
            continue
        cls = Gauge if family.kind == "gauge" else Counter
        metrics.append((cls(family.name, family.help, ["node", "mode"], registry=registry), family))
    began = time.perf_counter()
    for metric, family in metrics:
        for row in snapshot.rows:
            value = family.value(row)  # type: ignore[misc]
            if value is None:  # no sample for this pool (e.g. tke-observe's shadow figures)
                continue
            child = metric.labels(row.node, row.mode)
            if isinstance(metric, Gauge):
                child.set(value)
            else:
                child.inc(value - child._value.get())
    updated = time.perf_counter()
    generate_latest(registry)
    return updated - began, time.perf_counter() - updated


@click.command()
@click.option("--nodes", type=click.IntRange(1), default=5000, show_default=True)
@click.option("--pods-per-node", type=click.IntRange(1), default=30, show_default=True)
@click.option("--repeat", type=click.IntRange(1), default=9, show_default=True)
def main(nodes: int, pods_per_node: int, repeat: int) -> None:
    """Print /metrics render time vs the naive approach, event latency and RSS."""
    began = time.perf_counter()
    reconciler, _ = build(nodes, pods_per_node)
    click.echo(f"state: {nodes:,} nodes, {nodes * pods_per_node:,} pods, "
               f"built in {time.perf_counter() - began:.1f} s")  # fmt: skip

    snapshots = []
    for _ in range(repeat):
        t = time.perf_counter()
        snapshot = take_snapshot(reconciler, 200.0)
        snapshots.append(time.perf_counter() - t)
    renderer = Renderer(Instruments("bench"))
    renders = []
    for _ in range(repeat):
        t = time.perf_counter()
        body = renderer.render(snapshot)
        renders.append(time.perf_counter() - t)
    naives = [naive(snapshot) for _ in range(max(3, repeat // 3))]
    render = statistics.median(renders)
    slow = statistics.median(n[1] for n in naives)
    update = statistics.median(n[0] for n in naives)
    lines = body.count(b"\n")
    click.echo(f"/metrics render: median {render * 1e3:.1f} ms ({len(body) / 2**20:.1f} MiB, "
               f"{lines:,} lines); naive labelled metrics render: median {slow * 1e3:.0f} ms "
               f"-> {slow / render:.1f}x faster")  # fmt: skip
    snap = statistics.median(snapshots)
    click.echo(f"per engine step: snapshot median {snap * 1e3:.1f} ms; naive per-node "
               f"set() of every labelled child: median {update * 1e3:.0f} ms")  # fmt: skip

    rng = random.Random(1)
    pools = list(reconciler.pools())
    latencies = []
    now = 300.0
    for n in range(20_000):
        pool = pools[rng.randrange(len(pools))]
        now += 0.01
        t = time.perf_counter()
        if n % 2 == 0:
            reconciler.pod_started(pool, f"extra-{n}", now)
        else:
            reconciler.pod_stopped(pool, f"extra-{n - 1}", now)
        latencies.append(time.perf_counter() - t)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1e3
    p99 = latencies[int(len(latencies) * 0.99)] * 1e3
    click.echo(f"pod event -> bind decision: p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    click.echo(f"peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
