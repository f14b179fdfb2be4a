"""The one module that talks to Prometheus: churn history as a :class:`History`.

Range queries go over POST in time chunks (at most ``chunk_points`` steps each, well
under Prometheus' 11,000-point limit), a few at a time, with retries and a progress
bar on stderr. Events are placed at the end of the step they fell in: within a step,
starts come before stops. Pods present at the start of the window are the nodes'
existing pods.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

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
from pool_engine.events import START, STOP
from pool_engine.trace import Trace
from tuner.history import History
from tuner.queries import ChurnQueries
from tuner.window import Window

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
        try:
            return self.bearer_token_file.read_text().strip()
        except OSError as error:
            problem = error.strerror or "cannot read"
            raise InputError(str(self.bearer_token_file), None, problem) from None


def load(
    source: PrometheusSource, queries: ChurnQueries, window: Window, progress: bool = True
) -> History:
    """Churn per node over ``window``; :class:`HistoryUnavailable` if it cannot be read."""
    t0, t1 = window.bounds()
    step_s = window.step
    if t1 <= t0:
        raise HistoryUnavailable(
            "cannot read history: the history window is empty (--end is not after --start)"
        )
    chunk = step_s * source.chunk_points
    windows = [(a, min(t1, a + chunk)) for a in np.arange(t0 + step_s, t1 + 1e-9, chunk + step_s)]
    try:
        with source.connect() as prom:
            pods_now = _instant(prom, queries.pods, t0)
            wanted = [("starts", queries.starts)]
            wanted += [("stops", queries.stops)] if queries.stops else [("pods", queries.pods)]
            jobs = [(name, q, a, b) for name, q in wanted for a, b in windows]
            series: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(
                lambda: defaultdict(list)
            )
            err = Console(stderr=True)  # a bar only on a terminal: piped, it leaves a blank line
            bar = Progress(console=err, transient=True, disable=not (progress and err.is_terminal))
            with bar, ThreadPoolExecutor(source.concurrency) as pool:
                task = bar.add_task("pulling churn history", total=len(jobs))
                futures = [pool.submit(_range, prom, q, a, b, step_s) for _, q, a, b in jobs]
                for (name, _, _, _), future in zip(jobs, futures, strict=True):
                    for node, points in future.result().items():
                        series[name][node].extend(points)
                    bar.advance(task)
    except UNREADABLE as error:
        raise HistoryUnavailable(f"cannot read history: {source.url}: {error}") from None
    if "pods" in series:
        series["stops"] = _stops_from_counts(series["starts"], series["pods"], pods_now, step_s)
    return _history(series["starts"], series["stops"], pods_now, t0, t1, window.start)


def _instant(prom: PrometheusConnect, query: str, at: float) -> dict[str, int]:
    result = prom.custom_query(query, params={"time": at})
    return {r["metric"].get("node", ""): int(float(r["value"][1])) for r in result}


def _range(prom: PrometheusConnect, query: str, a: float, b: float,
           step_s: int) -> dict[str, list[tuple[float, float]]]:  # fmt: skip
    result = prom.custom_query_range(query, datetime.fromtimestamp(a, UTC),
                                     datetime.fromtimestamp(b, UTC), f"{step_s}s")  # fmt: skip
    return {r["metric"].get("node", ""): [(float(t), float(v)) for t, v in r["values"]]
            for r in result}  # fmt: skip


def _stops_from_counts(starts: dict[str, list[tuple[float, float]]],
                       pods: dict[str, list[tuple[float, float]]], pods_now: dict[str, int],
                       step_s: int) -> dict[str, list[tuple[float, float]]]:  # fmt: skip
    """kube-state-metrics: stops in a step = starts - (pods after - pods before)."""
    out: dict[str, list[tuple[float, float]]] = {}
    for node, points in pods.items():
        started = dict(starts.get(node, []))
        before = pods_now.get(node, 0)
        stops = []
        for t, count in sorted(points):
            n = started.get(t, 0.0) - (count - before)
            if n > 0:
                stops.append((t, n))
            before = int(count)
        out[node] = stops
    return out


def _history(starts: dict[str, list[tuple[float, float]]],
             stops: dict[str, list[tuple[float, float]]], existing: dict[str, int],
             t0: float, t1: float, origin: datetime) -> History:  # fmt: skip
    nodes = sorted(set(starts) | set(stops) | {n for n, c in existing.items() if c > 0} - {""})
    times: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    offsets = [0]
    for node in nodes:
        rows: list[tuple[float, int, int]] = []  # (time, order, kind): starts before stops
        for t, n in starts.get(node, []):
            rows.extend([(t - t0, 0, START)] * round(n))
        for t, n in stops.get(node, []):
            rows.extend([(t - t0, 1, STOP)] * round(n))
        rows.sort()
        times.append(np.array([r[0] for r in rows], dtype=np.float64))
        kinds.append(np.array([r[2] for r in rows], dtype=np.int8))
        offsets.append(offsets[-1] + len(rows))
    all_times = np.concatenate(times) if times else np.zeros(0)
    # As for a trace file, the history ends at its last event.
    end = float(all_times.max()) if all_times.size else t1 - t0
    trace = Trace(
        nodes,
        all_times,
        np.concatenate(kinds) if kinds else np.zeros(0, np.int8),
        np.array(offsets, dtype=np.int64),
        end,
        origin,
    )
    return History(trace, np.array([existing.get(n, 0) for n in nodes], dtype=np.int64))
