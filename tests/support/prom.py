"""Run the real Prometheus (Debian's package) on loopback for tests."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import pytest


def require(binary: str) -> str:
    """Path of ``binary``; skip without it, but fail under CI where it must exist."""
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} not installed (hack/install-test-deps.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not ready after {timeout:.0f}s")
        time.sleep(0.2)


@contextmanager
def prometheus(workdir: Path, scrape: str | None = None, rules: list[Path] | None = None,
               interval: str = "1s") -> Iterator[str]:  # fmt: skip
    """Start Prometheus scraping ``scrape`` (HOST:PORT, job ``eni-exporter``); yield its URL."""
    binary = require("prometheus")
    port = free_port()
    config = workdir / "prometheus.yml"
    lines = [f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"]
    if rules:
        lines.append("rule_files:\n" + "".join(f"  - {r}\n" for r in rules))
    if scrape:
        lines.append(
            "scrape_configs:\n  - job_name: eni-exporter\n"
            f"    static_configs:\n      - targets: ['{scrape}']\n"
        )
    config.write_text("".join(lines))
    log = (workdir / "prometheus.log").open("w")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=30d"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/-/ready")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@contextmanager
def backfilled(workdir: Path, write: Callable[[Path], None]) -> Iterator[str]:
    """A Prometheus serving what ``write`` puts in an OpenMetrics file, backfilled into
    its TSDB with ``promtool tsdb create-blocks-from openmetrics``; yield its URL."""
    promtool = require("promtool")
    history = workdir / "history.om"
    write(history)
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(history),
                    str(workdir / "tsdb")], check=True, capture_output=True)  # fmt: skip
    with prometheus(workdir) as url:
        yield url


@contextmanager
def backfilled_past(workdir: Path, write: Callable[[Path, int], None],
                    days: int = 3) -> Iterator[tuple[str, int]]:  # fmt: skip
    """:func:`backfilled` with history that ``write(path, t0)`` starts at ``t0``, the hour
    ``days`` days ago; yield the URL and ``t0``."""
    t0 = (int(time.time()) - days * 86400) // 3600 * 3600
    with backfilled(workdir, lambda path: write(path, t0)) as url:
        yield url, t0


def served_backfill(name: str, write: Callable[[Path, int], None]) -> Any:
    """A module-scoped fixture ``served``: (URL, t0) of :func:`backfilled_past` with
    what ``write(path, t0)`` writes."""

    @pytest.fixture(scope="module")
    def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
        with backfilled_past(tmp_path_factory.mktemp(name), write) as url_and_t0:
            yield url_and_t0

    return served


def write_pool_gauges(out: TextIO, labels: list[str], t0: int, step: int, steps: int) -> None:
    """The exporter's targets (5/5) and an empty pool for each label set, every fourth
    step (inside Prometheus' 5-minute lookback at 60 s steps)."""
    for family, value in (("eni_pool_min_warm_target", 5), ("eni_pool_max_warm_target", 5),
                          ("eni_pool_in_use_slots", 0), ("eni_pool_waiting_pods", 0)):  # fmt: skip
        out.write(f"# TYPE {family} gauge\n")
        for label in labels:
            for k in range(0, steps + 1, 4):
                out.write(f"{family}{{{label}}} {value} {t0 + k * step}\n")


def write_bind_latencies(out: TextIO, t0: int, step: int, last: int) -> None:
    """The exporter's cloud API histogram: 10 binds a step, every one between 2.5 s and
    5 s (the tuner reads the median, 3.75 s), every fourth step up to ``last``."""
    family = "eni_pool_cloud_api_duration_seconds"
    out.write(f"# TYPE {family} histogram\n")
    for k in range(0, last + 1, 4):
        binds = 10 * k
        for le in (1.0, 2.5, 5.0, 10.0, 30.0, "+Inf"):
            count = 0 if le in (1.0, 2.5) else binds
            out.write(f'{family}_bucket{{operation="bind",le="{le}"}} {count} '
                      f"{t0 + k * step}\n")  # fmt: skip
        out.write(f'{family}_sum{{operation="bind"}} {3.5 * binds} {t0 + k * step}\n')
        out.write(f'{family}_count{{operation="bind"}} {binds} {t0 + k * step}\n')


def recommend_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                  *args: str) -> tuple[dict[str, dict[str, Any]], str]:  # fmt: skip
    """`eni-tuner recommend ARGS -o json` in process (main(), as the console script):
    the records by node, and stderr."""
    from tuner.cli import main

    monkeypatch.setattr(sys, "argv", ["eni-tuner", "recommend", *args, "-o", "json"])
    try:
        main()
    except SystemExit as exited:
        assert exited.code in (0, None)
    captured = capsys.readouterr()
    return {r["node"]: r for r in json.loads(captured.out)}, captured.err


def recommend_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                   *args: str) -> dict[str, dict[str, Any]]:  # fmt: skip
    """:func:`recommend_run`'s records by node."""
    return recommend_run(monkeypatch, capsys, *args)[0]
