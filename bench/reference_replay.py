"""A plain-Python replay of docs/contracts/simulation.md, for benchmarks and as a check.

One file, the standard library only, written from the contract rather than from the
compiled kernel: read a CSV trace (docs/contracts/trace.md: numeric or RFC 3339
times, columns in any order, other columns ignored), replay every node's pool and
print the same JSON document as ``eni-tuner simulate TRACE -o json``. The options
are simulate's, without ``--targets`` and ``--timeline``; Parquet is not read, and
input errors are reported plainly, not in the tuner's words.

    python bench/reference_replay.py TRACE [--min-warm N] [--max-warm N]
        [--quick-release] [--max-slots N] [--bind-latency S] [--release-interval S]

bench/bench_simulate_vs_reference.py times it against ``eni-tuner simulate``;
tests/unit/test_reference_replay.py checks both give the same document.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class Knobs:
    """The replay settings (simulate's options)."""

    min_warm: int = 5
    max_warm: int = 5
    quick_release: bool = False
    max_slots: int | None = None
    bind_latency: float = 2.0
    release_interval: float = 120.0


@dataclass
class NodeResult:
    """One node's figures (the contract's per-node fields) and its served waits."""

    pod_starts: int = 0
    warm_hits: int = 0
    wait_seconds_sum: float = 0.0
    wait_seconds_max: float = 0.0
    idle_slot_seconds: float = 0.0
    bound_slot_seconds: float = 0.0
    bind_ops: int = 0
    release_ops: int = 0
    peak_bound: int = 0
    ignored_events: int = 0
    waits: list[float] = field(default_factory=list)


def read_trace(path: str) -> tuple[dict[str, list[tuple[float, bool]]], float]:
    """Each node's rows as (time, is_start), sorted by time (ties in file order), and
    the trace's end (its largest time)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = [name.strip() for name in next(reader)]
        t_col, n_col, e_col = header.index("time"), header.index("node"), header.index("event")
        raw = [(row[t_col], row[n_col], row[e_col]) for row in reader if row]
    try:
        times = [float(text) for text, _, _ in raw]
    except ValueError:  # RFC 3339: time 0 is the earliest timestamp
        stamps = [_timestamp(text) for text, _, _ in raw]
        origin = min(stamps)
        times = [stamp - origin for stamp in stamps]
    rows: dict[str, list[tuple[float, bool]]] = {}
    for t, (_, node, event) in zip(times, raw, strict=True):
        if event not in ("start", "stop"):
            raise ValueError(f"unknown event {event!r}")
        rows.setdefault(node, []).append((t, event == "start"))
    for node_rows in rows.values():
        node_rows.sort(key=lambda row: row[0])  # stable: ties keep file order
    if not rows:
        raise ValueError(f"{path}: no events")
    return rows, max(times)


def _timestamp(text: str) -> float:
    stamp = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def replay_node(rows: list[tuple[float, bool]], end: float, knobs: Knobs) -> NodeResult:
    """One node's pool from time 0 to ``end`` (the contract's "How a run goes")."""
    m, big_m = knobs.min_warm, knobs.max_warm
    capacity = math.inf if knobs.max_slots is None else knobs.max_slots
    interval = knobs.release_interval
    out = NodeResult()
    bound = min(capacity, m)  # B
    holding = 0  # P
    waiting: deque[float] = deque()  # W: arrival times of the waiting pods, oldest first
    binds: deque[list[float]] = deque()  # [finish time, slots] in request order
    in_flight = 0  # K
    out.peak_bound = bound
    k = 1  # the next round tick is k * interval
    now = 0.0
    i = 0

    def grow(t: float) -> None:  # R1: B + K up to min(C, P + W + m)
        nonlocal in_flight
        need = max(0, min(capacity, holding + len(waiting) + m) - bound - in_flight)
        if need:
            in_flight += need
            out.bind_ops += need
            if binds and binds[-1][0] == t + knobs.bind_latency:
                binds[-1][1] += need
            else:
                binds.append([t + knobs.bind_latency, need])

    def to_release() -> int:  # R2 at a round tick
        excess = bound + in_flight - (holding + len(waiting) + big_m)
        idle = bound - holding
        if excess <= 0 or idle <= 0:
            return 0
        return min(excess, idle) if knobs.quick_release else 1

    def serve(t: float) -> None:
        waited = t - waiting.popleft()
        out.waits.append(waited)
        out.wait_seconds_sum += waited
        out.wait_seconds_max = max(out.wait_seconds_max, waited)

    while True:
        # The next instant: a row, a bind finishing, or a tick with something to release.
        t = rows[i][0] if i < len(rows) else math.inf
        if binds and binds[0][0] < t:
            t = binds[0][0]
        if k * interval < t and to_release():
            t = k * interval
        if t > end:
            break
        out.idle_slot_seconds += (bound - holding) * (t - now)
        out.bound_slot_seconds += bound * (t - now)
        now = t
        # 1. binds finishing now (R4), each slot to the oldest waiting pod
        while binds and binds[0][0] <= t:
            _, slots = binds.popleft()
            bound += slots
            in_flight -= slots
            while slots and waiting:
                serve(t)
                holding += 1
                slots -= 1
            out.peak_bound = max(out.peak_bound, bound)
        # 2. the rows at this instant, in file order, each followed by R1
        while i < len(rows) and rows[i][0] == t:
            if rows[i][1]:  # start
                out.pod_starts += 1
                if bound - holding > 0:
                    out.warm_hits += 1
                    holding += 1
                else:
                    waiting.append(t)
            elif holding > 0:  # stop: the slot passes to the oldest waiter, or goes idle
                if waiting:
                    serve(t)
                else:
                    holding -= 1
            elif waiting:
                waiting.pop()  # the newest waiting pod leaves, never served
            else:
                out.ignored_events += 1
            i += 1
            grow(t)
        # 3. the release round, when this instant is a tick k * interval
        if k * interval < t:  # past ticks had nothing to release
            k = max(k + 1, math.floor(t / interval))
            while k * interval < t:
                k += 1
        if k * interval == t:
            released = to_release()
            bound -= released
            out.release_ops += released
            k += 1
    out.idle_slot_seconds += (bound - holding) * (end - now)
    out.bound_slot_seconds += bound * (end - now)
    return out


def p99(waits: list[float], zeros: int) -> float:
    """Linear-interpolated 99th percentile of ``zeros`` zeros and ``waits``."""
    values = [0.0] * zeros + sorted(waits)
    if not values:
        return 0.0
    pos = 0.99 * (len(values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def document(results: dict[str, NodeResult], end: float, knobs: Knobs) -> dict[str, object]:
    """The JSON document of ``eni-tuner simulate -o json``."""

    def figures(r: NodeResult) -> dict[str, float | int]:
        return {
            "pod_starts": r.pod_starts,
            "warm_hits": r.warm_hits,
            "cold_starts": r.pod_starts - r.warm_hits,
            "wait_seconds_sum": r.wait_seconds_sum,
            "wait_seconds_max": r.wait_seconds_max,
            "wait_seconds_p99": p99(r.waits, r.warm_hits),
            "idle_slot_seconds": r.idle_slot_seconds,
            "bound_slot_seconds": r.bound_slot_seconds,
            "bind_ops": r.bind_ops,
            "release_ops": r.release_ops,
            "peak_bound": r.peak_bound,
            "ignored_events": r.ignored_events,
        }

    nodes = {
        name: {**figures(r), "min_warm": knobs.min_warm, "max_warm": knobs.max_warm}
        for name, r in sorted(results.items())
    }
    every = list(results.values())
    total = {name: sum(n[name] for n in nodes.values()) for name in figures(NodeResult())}
    total["wait_seconds_max"] = max(r.wait_seconds_max for r in every)
    total["peak_bound"] = max(r.peak_bound for r in every)
    total["wait_seconds_p99"] = p99(
        [w for r in every for w in r.waits], sum(r.warm_hits for r in every)
    )
    return {"end": end, "nodes": nodes, "total": total}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trace")
    parser.add_argument("--min-warm", type=int, default=5)
    parser.add_argument("--max-warm", type=int, default=5)
    parser.add_argument("--quick-release", action="store_true")
    parser.add_argument("--max-slots", type=int)
    parser.add_argument("--bind-latency", type=float, default=2.0)
    parser.add_argument("--release-interval", type=float, default=120.0)
    args = parser.parse_args(argv)
    knobs = Knobs(args.min_warm, args.max_warm, args.quick_release, args.max_slots,
                  args.bind_latency, args.release_interval)  # fmt: skip
    rows, end = read_trace(args.trace)
    results = {node: replay_node(node_rows, end, knobs) for node, node_rows in rows.items()}
    sys.stdout.write(json.dumps(document(results, end, knobs), indent=2) + "\n")


if __name__ == "__main__":
    main()
