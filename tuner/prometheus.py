"""Churn history from Prometheus as a :class:`History` (its queries go through
:mod:`tuner.prometheus_reads`; nothing else talks to Prometheus).

Range queries go over POST in time chunks (at most ``chunk_points`` steps each, well
under Prometheus' 11,000-point limit), a few at a time, with retries and a progress
bar on stderr. Stops are placed at the end of the step they fell in, starts by the
exporter's burst counts (:mod:`tuner.within_step`; without them at the step's end);
at one instant starts come before stops. Pods present at the start of the window are the nodes'
existing pods; so are, on a node whose series begin inside the window, its pods at its
first step (started before the first scrape, they are in no counted step). Where a
counter went back (a difference below 0: the exporter restarted), the step's count is
the counter's level, read at those instants alone.

Each node's history spans its own first to last sample (:class:`tuner.queries.
StateQueries`), and the exporter's gauges say its targets, max-attach and the bind
latency. Values that cannot be counts (NaN, +-Inf, negative, or more pod starts in a
step than :data:`MAX_PER_SECOND` a second, more pairs of starts than so many starts
can have), and timestamps outside the window asked for, are dropped and counted on
stderr in one line; nothing is sized by a value from the data. JSON that is no query
result is history unavailable (exit 3), never a traceback.
"""

from __future__ import annotations

import logging
import math
import ssl
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import (
    MetricValueConversionError,
    PrometheusApiClientException,
)
from requests.adapters import HTTPAdapter
from rich.console import Console
from rich.progress import Progress
from urllib3.util.retry import Retry

from pool_engine.errors import HistoryUnavailable, InputError, NoChurn
from tuner import prometheus_reads as reads
from tuner.history import History
from tuner.prometheus_answers import Dropped
from tuner.prometheus_counts import (
    Bunching,
    Points,
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
MAX_HEADER_BYTES = 1 << 20
"""The most a bearer token file may hold: Prometheus (Go's HTTP server) refuses a
request whose headers are larger."""

UNREADABLE = (
    requests.RequestException,
    PrometheusApiClientException,
    MetricValueConversionError,
    ValueError,
    KeyError,
    RecursionError,  # JSON nested past the decoder's depth
)
"""What a failed or nonsensical Prometheus answer raises; mapped to HistoryUnavailable."""


class _WholeAnswer(HTTPAdapter):
    """An adapter that gives up when a whole answer, headers and body, retries included,
    has not come within ``deadline`` seconds. requests' timeout bounds each read, so a
    server (or a proxy) sending a byte a second never timed out: ``recommend`` waited
    for ever."""

    def __init__(self, deadline: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._deadline = deadline

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        got: list[requests.Response | BaseException] = []

        def fetch() -> None:
            try:
                response = HTTPAdapter.send(self, request, **kwargs)
                response.content  # noqa: B018 (the body is read here, within the deadline)
                got.append(response)
            except BaseException as error:  # handed to the caller's thread
                got.append(error)

        worker = threading.Thread(target=fetch, name="prometheus-answer", daemon=True)
        worker.start()
        worker.join(self._deadline)
        if not got:  # the worker is left to the server's own end (a daemon thread)
            raise requests.exceptions.ReadTimeout(
                f"no whole answer within {self._deadline:g} s", request=request
            )
        if isinstance(got[0], BaseException):
            raise got[0]
        return got[0]


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
            session.verify = self._ca_file()
        retry = Retry(total=self.retries, backoff_factor=0.5,
                      status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None)  # fmt: skip
        prom = PrometheusConnect(url=self.url, headers=headers, auth=self.basic_auth,
                                 session=session, retry=retry, timeout=int(self.timeout),
                                 method="POST")  # fmt: skip
        # in place of the adapter it mounted: the same retries, a deadline for the whole answer
        deadline = self.timeout * (self.retries + 1) + 0.5 * 2**self.retries
        whole = _WholeAnswer(deadline, max_retries=retry)
        for prefix in (self.url, "http://", "https://"):  # a redirect elsewhere too
            session.mount(prefix, whole)
        return prom

    def _ca_file(self) -> str:
        """--ca-bundle, checked to hold certificates: a wrong file is the user's input
        (exit 2), not a server that cannot be reached (exit 3)."""
        assert self.ca_bundle is not None
        where = str(self.ca_bundle)
        try:
            ssl.create_default_context(cafile=where)
        except ssl.SSLError as error:
            raise InputError(where, None, f"not PEM CA certificates ({error.reason})") from None
        except OSError as error:
            raise InputError(where, None, error.strerror or "cannot read") from None
        return where

    def _token(self) -> str:
        assert self.bearer_token_file is not None
        where = str(self.bearer_token_file)
        try:
            with self.bearer_token_file.open("rb") as source:
                data = source.read(MAX_HEADER_BYTES + 1)  # /dev/zero would never end
        except OSError as error:
            raise InputError(where, None, error.strerror or "cannot read") from None
        if len(data) > MAX_HEADER_BYTES:
            raise InputError(where, None, "above 1 MiB, more than a server takes in headers")
        try:
            token = data.decode().strip()
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
    pool: str = "",
) -> History:
    """Churn per node over ``window``; :class:`HistoryUnavailable` if it cannot be read.
    ``pool``: the pool whose series ``queries`` read, named in the warnings (``recommend``
    without ``--mode`` reads each pool in turn: each has its own)."""
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
            pods_now = {n: int(v) for n, v in reads.instant(prom, queries.pods, t0, dropped,
                                                            limit).items()}  # fmt: skip
            wanted = [("starts", queries.starts)]
            wanted += [("stops", queries.stops)] if queries.stops else [("pods", queries.pods)]
            wanted += [(name, q) for name, q in (("bursts", queries.bursts),
                                                 ("pairs", queries.pairs)) if q]  # fmt: skip
            jobs = [(name, q, a, b) for name, q in wanted for a, b in windows]
            series: dict[str, Points] = defaultdict(lambda: defaultdict(list))
            back: dict[str, dict[float, list[str]]] = defaultdict(lambda: defaultdict(list))
            err = Console(stderr=True)  # a bar only on a terminal: piped, it leaves a blank line
            bar = Progress(console=err, transient=True, disable=not (progress and err.is_terminal))
            with bar, ThreadPoolExecutor(source.concurrency) as workers:
                task = bar.add_task("pulling churn history", total=len(jobs))
                futures = [
                    workers.submit(reads.range_points, prom, q, a, b, step_s) for _, q, a, b in jobs
                ]
                for (name, _, a, b), future in zip(jobs, futures, strict=True):
                    most, difference = reads.most(name, limit), name in queries.levels
                    for node, points in future.result().items():
                        for t, v in points:
                            # a second of slack: the server reads the bounds in ms
                            if not dropped.within(t, a - 1.0, b + 1.0):
                                continue
                            value = dropped.number(v, most, went_back=difference)
                            if value is None:
                                continue
                            if value < 0.0:  # the counter went back: its level, below
                                back[name][t].append(node)
                            else:
                                series[name][node].append((t, value))
                    bar.advance(task)
                for name, node, point in reads.went_back(prom, queries.levels, back,
                                                         source.concurrency, dropped,
                                                         limit):  # fmt: skip
                    series[name][node].append(point)
            seen = reads.state_of(prom, state, t1, dropped) if state is not None else None
            if seen is not None and state is not None and state.arrived_pods:
                arrived = reads.arrived(prom, state, seen.first, pods_now, (t0, step_s),
                                        source.concurrency, dropped, limit)  # fmt: skip
                pods_now.update({node: pods for node, (_, pods) in arrived.items()})
                first = {node: at for node, (at, _) in arrived.items()}
                seen = replace(seen, first=seen.first | first)
    except UNREADABLE as error:
        where = redacted(source.url)
        raise HistoryUnavailable(f"cannot read history: {where}: {readable(error)}") from None
    if dropped.values:
        where = redacted(source.url)
        of = f" in the {pool} series" if pool else ""
        log.warning(f"warning: dropped {dropped.values:,} values from {where} that are "
                    f"no counts (NaN, +-Inf, negative or absurd){of}")  # fmt: skip
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
        raise NoChurn(f"cannot read history: {redacted(source.url)}: no usable churn "
                                 f"in the window")  # fmt: skip
    if seen is None:
        return history
    return with_state(history, seen, t0, t1 - t0, step_s, pool)
