"""The one module that talks to Prometheus: churn history as a :class:`History`.

Range queries go over POST in time chunks (at most ``chunk_points`` steps each, well
under Prometheus' 11,000-point limit), a few at a time, with retries and a progress
bar on stderr. Stops are placed at the end of the step they fell in, starts by the
exporter's burst counts (:mod:`tuner.within_step`; without them at the step's end);
at one instant starts come before stops. Pods present at the start of the window are the nodes'
existing pods; so are, on a node whose series begin inside the window, its pods at its
first step (started before the first scrape, they are in no counted step).

Each node's history spans its own first to last sample (:class:`tuner.queries.
StateQueries`), and the exporter's gauges say its targets, max-attach and the bind
latency. Values that cannot be counts (NaN, +-Inf, negative, or more pod starts in a
step than :data:`MAX_PER_SECOND` a second, more pairs of starts than so many starts
can have), and timestamps outside the window asked for, are dropped and counted on
stderr in one line; nothing is sized by a value from the data. JSON that is no query
result is history unavailable (exit 3), never a traceback.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from string import Template

import numpy as np
import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import (
    MetricValueConversionError,
    PrometheusApiClientException,
)
from rich.console import Console
from rich.progress import Progress
from urllib3.util.retry import Retry

from pool_engine.errors import HistoryUnavailable, InputError
from tuner.history import History, NodeFacts
from tuner.prometheus_answers import NO_SERIES, Dropped, node_of, point_of, series_of
from tuner.prometheus_counts import (
    Bunching,
    Points,
    Seen,
    counts_history,
    first_points,
    stops_from_counts,
    with_state,
)
from tuner.prometheus_errors import readable, redacted
from tuner.queries import ChurnQueries, StateQueries
from tuner.window import Window

log = logging.getLogger(__name__)
MAX_PER_SECOND = 50
"""More pod starts or stops than this per second of a step on one node is no count."""
MAX_GAUGE = 2**31 - 1
"""Targets and max-attach above this are no counts."""

UNREADABLE = (
    requests.RequestException,
    PrometheusApiClientException,
    MetricValueConversionError,
    ValueError,
    KeyError,
)
"""What a failed or nonsensical Prometheus answer raises; mapped to HistoryUnavailable."""


@dataclass(frozen=True)
class PrometheusSource:
    """How to reach and authenticate to one Prometheus server."""

    url: str
    """Base URL of the Prometheus HTTP API."""
    bearer_token_file: Path | None = None
    """File holding a bearer token, read at connection time."""
    basic_auth: tuple[str, str] | None = None
    """User and password."""
    ca_bundle: Path | None = None
    """CA certificates to verify the server's TLS certificate."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra HTTP headers."""
    timeout: float = 120.0
    """Seconds per request."""
    retries: int = 3
    """Retries of a failed request (429 and 5xx included), with backoff."""
    chunk_points: int = 5000
    """Steps per range query (Prometheus refuses more than 11,000 points)."""
    concurrency: int = 4
    """Range queries in flight at once."""

    def connect(self) -> PrometheusConnect:
        headers = dict(self.headers)
        if self.bearer_token_file is not None:
            headers["Authorization"] = f"Bearer {self._token()}"
        session = requests.Session()
        if self.ca_bundle is not None:
            session.verify = str(self.ca_bundle)
        retry = Retry(total=self.retries, backoff_factor=0.5,
                      status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None)  # fmt: skip
        return PrometheusConnect(url=self.url, headers=headers, auth=self.basic_auth,
                                 session=session, retry=retry, timeout=int(self.timeout),
                                 method="POST")  # fmt: skip

    def _token(self) -> str:
        assert self.bearer_token_file is not None
        where = str(self.bearer_token_file)
        try:
            token = self.bearer_token_file.read_bytes().decode().strip()
        except OSError as error:
            raise InputError(where, None, error.strerror or "cannot read") from None
        except UnicodeDecodeError:
            raise InputError(where, None, "not UTF-8 text") from None
        if "\n" in token or "\r" in token:  # no header could carry it
            raise InputError(where, None, "more than one line")
        try:
            token.encode("latin-1")  # as requests sends a header
        except UnicodeEncodeError:
            raise InputError(where, None, "outside Latin-1 (what an HTTP header carries)") from None
        return token


def load(
    source: PrometheusSource,
    queries: ChurnQueries,
    window: Window,
    progress: bool = True,
    state: StateQueries | None = None,
) -> History:
    """Churn per node over ``window``; :class:`HistoryUnavailable` if it cannot be read."""
    # whole seconds: the client sends a range query's bounds rounded to them, so the
    # pods at the start are read on the range queries' grid (else a scrape between the
    # two instants is a pod both existing and started, or neither)
    t0, t1 = (float(math.floor(t)) for t in window.bounds())
    step_s = window.step
    if t1 <= t0:
        raise HistoryUnavailable(
            "cannot read history: the history window is empty (--end is not after --start)"
        )
    chunk = step_s * source.chunk_points
    windows = [(a, min(t1, a + chunk)) for a in np.arange(t0 + step_s, t1 + 1e-9, chunk + step_s)]
    dropped = Dropped()
    limit = float(MAX_PER_SECOND * step_s)
    try:
        with source.connect() as prom:
            pods_now = {n: int(v) for n, v in _instant(prom, queries.pods, t0, dropped,
                                                       limit).items()}  # fmt: skip
            wanted = [("starts", queries.starts)]
            wanted += [("stops", queries.stops)] if queries.stops else [("pods", queries.pods)]
            wanted += [(name, q) for name, q in (("bursts", queries.bursts),
                                                 ("pairs", queries.pairs)) if q]  # fmt: skip
            jobs = [(name, q, a, b) for name, q in wanted for a, b in windows]
            series: dict[str, Points] = defaultdict(lambda: defaultdict(list))
            err = Console(stderr=True)  # a bar only on a terminal: piped, it leaves a blank line
            bar = Progress(console=err, transient=True, disable=not (progress and err.is_terminal))
            with bar, ThreadPoolExecutor(source.concurrency) as pool:
                task = bar.add_task("pulling churn history", total=len(jobs))
                futures = [pool.submit(_range, prom, q, a, b, step_s) for _, q, a, b in jobs]
                for (name, _, a, b), future in zip(jobs, futures, strict=True):
                    most = limit * (limit - 1) / 2 if name == "pairs" else limit
                    for node, points in future.result().items():
                        for t, v in points:
                            value = dropped.number(v, most)
                            # a second of slack: the server reads the bounds in ms
                            if value is not None and dropped.within(t, a - 1.0, b + 1.0):
                                series[name][node].append((float(t), value))
                    bar.advance(task)
            seen = _state(prom, state, t1, dropped) if state is not None else None
            if seen is not None and state is not None and state.arrived_pods:
                arrived = _arrived(prom, state, seen.first, pods_now, (t0, step_s),
                                   source.concurrency, dropped, limit)  # fmt: skip
                pods_now.update({node: pods for node, (_, pods) in arrived.items()})
                first = {node: at for node, (at, _) in arrived.items()}
                seen = replace(seen, first=seen.first | first)
    except UNREADABLE as error:
        where = redacted(source.url)
        raise HistoryUnavailable(f"cannot read history: {where}: {readable(error)}") from None
    if dropped.values:
        where = redacted(source.url)
        log.warning(f"warning: dropped {dropped.values:,} values from {where} that are "
                    f"no counts (NaN, +-Inf, negative or absurd)")  # fmt: skip
    if "pods" in series:
        series["stops"], listed = stops_from_counts(series["starts"], series["pods"], pods_now,
                                                    step_s)  # fmt: skip
        pods_now.update(listed)
    quiet: set[str] = set()  # nodes with the pool's series but no churn: quiet, not absent
    if seen is not None and state is not None and state.per_pool:
        quiet = set(seen.first) | set(seen.last)
    bunching = None
    if queries.bursts:
        since = first_points(series["bursts"], step_s)
        bunching = Bunching(series["bursts"], series["pairs"], since)
    origin = datetime.fromtimestamp(t0, UTC)
    history = counts_history(series["starts"], series["stops"], pods_now, t0, t1, origin,
                             quiet, bunching, step_s)  # fmt: skip
    if not history.trace.events and not history.existing.any():
        raise HistoryUnavailable(f"cannot read history: {redacted(source.url)}: no usable churn "
                                 f"in the window")  # fmt: skip
    if seen is None:
        return history
    return with_state(history, seen, t0, t1 - t0, step_s)


def _instant(prom: PrometheusConnect, query: str, at: float, dropped: Dropped,
             limit: float) -> dict[str, float]:  # fmt: skip
    result = series_of(lambda: prom.custom_query(query, params={"time": at}))
    out = {}
    for r in result:
        node = node_of(r)
        value = dropped.number(point_of(r.get("value") or [None, None])[1], limit)
        if value is not None:
            out[node] = value
    return out


def _range(prom: PrometheusConnect, query: str, a: float, b: float,
           step_s: int) -> dict[str, list[tuple[float, str]]]:  # fmt: skip
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


def _arrived(prom: PrometheusConnect, state: StateQueries, first: dict[str, float],
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
        pattern = "|".join(re.escape(n) for n in sorted(nodes))
        # inside PromQL's double quotes: JSON's escapes (\\ \" \n \uXXXX) are PromQL's
        query = Template(state.arrived_pods or "").substitute(nodes=json.dumps(pattern)[1:-1])
        a = on_grid(max(t0, at - state.resolution))
        return _range(prom, query, a, max(a, on_grid(at)), step_s)

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


def _state(prom: PrometheusConnect, state: StateQueries, t1: float, dropped: Dropped) -> Seen:
    first = _instant(prom, state.first_seen, t1, dropped, t1)  # timestamps: none after t1
    last = _instant(prom, state.last_seen, t1, dropped, t1)
    gauges = {}
    for name, query in (("min_warm", state.min_warm), ("max_warm", state.max_warm),
                        ("max_slots", state.max_slots)):  # fmt: skip
        gauges[name] = _instant(prom, query, t1, dropped, MAX_GAUGE) if query else {}
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
        values = _instant(prom, state.bind_latency, t1, Dropped(), 86400.0)
        positive = [v for v in values.values() if v > 0]
        latency = positive[0] if positive else None
    return Seen(first, last, facts, latency)
