"""The reads :mod:`tuner.prometheus` makes: instant and range queries answered
defensively, the counters' levels where they went back, the pods of nodes that arrive
inside the window, and the nodes' first and last samples and gauges (and a simulated
cluster's speed, the pace its engine is replayed at).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from string import Template

from prometheus_api_client import PrometheusConnect

from tuner.history import NodeFacts
from tuner.prometheus_answers import NO_SERIES, Dropped, node_of, point_of, series_of
from tuner.prometheus_counts import Seen
from tuner.queries import StateQueries

log = logging.getLogger(__name__)

MAX_GAUGE = 2**31 - 1
"""Targets and max-attach above this are no counts."""


def instant(prom: PrometheusConnect, query: str, at: float, dropped: Dropped,
            limit: float) -> dict[str, float]:  # fmt: skip
    """Each node's value of ``query`` at ``at`` that is a count up to ``limit``."""
    out = {}
    for node, raw in _instant_raw(prom, query, at).items():
        value = dropped.number(raw, limit)
        if value is not None:
            out[node] = value
    return out


def _instant_raw(prom: PrometheusConnect, query: str, at: float) -> dict[str, str]:
    """Each node's value at ``at`` as the server wrote it."""
    result = series_of(lambda: prom.custom_query(query, params={"time": at}))
    return {node_of(r): point_of(r.get("value") or [None, None])[1] for r in result}


def most(name: str, limit: float) -> float:
    """The largest count a step of series ``name`` can hold: ``limit`` pod starts (or
    stops, or bursts), or as many pairs as so many starts make."""
    return limit * (limit - 1) / 2 if name == "pairs" else limit


def went_back(prom: PrometheusConnect, levels: Mapping[str, str],
              back: dict[str, dict[float, list[str]]], concurrency: int, dropped: Dropped,
              limit: float) -> Iterator[tuple[str, str, tuple[float, float]]]:  # fmt: skip
    """(series, node, point) where a counter went back (the exporter restarted, or a
    replica that had counted less took over): the step's count is the counter's level
    then, one instant query per series and instant, of the nodes that went back there
    (only their levels are counts: a long-running exporter's is far above a step's
    count, and no value to drop)."""
    asks = [(name, t, nodes) for name, at in back.items() for t, nodes in sorted(at.items())]
    with ThreadPoolExecutor(concurrency) as pool:
        answers = pool.map(lambda a: _instant_raw(prom, of_nodes(levels[a[0]], a[2]), a[1]),
                           asks)  # fmt: skip
        for (name, t, nodes), raws in zip(asks, answers, strict=True):
            for node in nodes:
                if node not in raws:
                    continue
                value = dropped.number(raws[node], most(name, limit))
                if value:  # 0: nothing counted since
                    yield name, node, (t, value)


def of_nodes(template: str, nodes: list[str]) -> str:
    """``template`` with ``$nodes`` the regex matching exactly ``nodes``."""
    pattern = "|".join(re.escape(n) for n in sorted(nodes))
    # inside PromQL's double quotes: JSON's escapes (\\ \" \n \uXXXX) are PromQL's
    return Template(template).substitute(nodes=json.dumps(pattern)[1:-1])


def range_points(prom: PrometheusConnect, query: str, a: float, b: float,
                 step_s: int) -> dict[str, list[tuple[float, str]]]:  # fmt: skip
    """Each node's [timestamp, value] points of ``query`` from ``a`` to ``b``, values as
    the server wrote them."""
    result = series_of(lambda: prom.custom_query_range(query, datetime.fromtimestamp(a, UTC),
                                                     datetime.fromtimestamp(b, UTC),
                                                     f"{step_s}s"))  # fmt: skip
    out = {}
    for r in result:
        values = r.get("values", [])
        if not isinstance(values, list):
            raise ValueError(NO_SERIES)
        out[node_of(r)] = [(float(t), v) for t, v in map(point_of, values)]
    return out


def arrived(prom: PrometheusConnect, state: StateQueries, first: dict[str, float],
            known: dict[str, int], grid: tuple[float, int], concurrency: int,
            dropped: Dropped, limit: float) -> dict[str, tuple[float, int]]:  # fmt: skip
    """(first step, pods then) of each node whose series begin inside the window: its
    first step on the range queries' grid, where its history begins (to the step, where
    the first-sample subquery knows it to its resolution, inwards), and the pods it holds
    there. The step after it is the node's first counted one, so these pods are in no
    counted step and are its existing pods, as a node's pods at the window's start are.
    Each group of nodes seen first at one instant is read over the resolution before it,
    one range query per group."""
    assert state.arrived_pods is not None
    t0, step_s = grid
    groups: dict[float, list[str]] = defaultdict(list)
    for node, at in first.items():
        if node not in known and at > t0:
            groups[at].append(node)

    def on_grid(t: float) -> float:
        return t0 + math.ceil((t - t0) / step_s - 1e-9) * step_s

    def read(at: float, nodes: list[str]) -> dict[str, list[tuple[float, str]]]:
        query = of_nodes(state.arrived_pods or "", nodes)
        a = on_grid(max(t0, at - state.resolution))
        return range_points(prom, query, a, max(a, on_grid(at)), step_s)

    out: dict[str, tuple[float, int]] = {}
    with ThreadPoolExecutor(concurrency) as pool:
        for points in pool.map(lambda g: read(*g), groups.items()):
            for node, values in points.items():
                if not values or node not in first:
                    continue
                at, raw = min(values)
                value = dropped.number(raw, limit)
                if value is not None:
                    out[node] = (float(at), int(value))
    return out


def state_of(prom: PrometheusConnect, state: StateQueries, t1: float, dropped: Dropped) -> Seen:
    """The nodes' first and last samples, their targets and max-attach, the latency."""
    first = instant(prom, state.first_seen, t1, dropped, t1)  # timestamps: none after t1
    last = instant(prom, state.last_seen, t1, dropped, t1)
    gauges = {}
    for name, query in (("min_warm", state.min_warm), ("max_warm", state.max_warm),
                        ("max_slots", state.max_slots)):  # fmt: skip
        gauges[name] = instant(prom, query, t1, dropped, MAX_GAUGE) if query else {}
    facts = {}
    for node in set().union(*gauges.values()):
        low, high = gauges["min_warm"].get(node), gauges["max_warm"].get(node)
        cap = gauges["max_slots"].get(node)
        if low is not None and high is not None and low > high:
            low = high = None  # a pair the engine would refuse: not in force
        facts[node] = NodeFacts(None if low is None else int(low),
                                None if high is None else int(high),
                                None if cap is None else int(cap))  # fmt: skip
    latency = None
    if state.bind_latency:
        values = instant(prom, state.bind_latency, t1, Dropped(), 86400.0)
        positive = [v for v in values.values() if v > 0]
        latency = positive[0] if positive else None
    return Seen(first, last, facts, latency, _pace(prom, state, t1))


def _pace(prom: PrometheusConnect, state: StateQueries, t1: float) -> float:
    """A simulated cluster's speed (1: none published, or a value that is no count, as
    the latency's); 0, or exporters at different speeds, said in a warning."""
    if state.speeds is None:
        return 1.0
    high_query, low_query = state.speeds
    fastest = list(instant(prom, high_query, t1, Dropped(), MAX_SPEED).values())
    if not fastest:
        return 1.0
    high = fastest[0]
    if high <= 0:
        log.warning(f"warning: eni_pool_simulation_speed {high:g} is no speed: the history "
                    "is replayed at its engine's own pace")  # fmt: skip
        return 1.0
    slowest = list(instant(prom, low_query, t1, Dropped(), MAX_SPEED).values())
    low = slowest[0] if slowest else high
    if low != high:
        log.warning(f"warning: exporters of simulated clusters at {low:g}x to {high:g}x: the "
                    f"history is replayed at {high:g}x")  # fmt: skip
    return high


MAX_SPEED = 1e9
"""A simulation speed above this is no speed (a year of simulated time in 0.03 s)."""
