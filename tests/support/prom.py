"""Run the real Prometheus (Debian's package) on loopback for tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

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
